//! `umbra mount` on a real FUSE mount (/dev/fuse; CI runs as root): restic's layout,
//! every file, mode, owner and time as backed up, multi-blob files read at any offset,
//! restic's repositories with mixed packs and with same-time snapshots, and an end by
//! `umount` or by SIGINT that leaves no mount and no lock behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, Rng};

fn can_mount() -> bool {
    common::require(
        Path::new("/dev/fuse").exists() && common::is_root(),
        "/dev/fuse and root (to mount without fusermount3)",
    )
}

fn is_mounted(dir: &Path) -> bool {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(dir.to_str().unwrap_or("")))
}

/// A running `umbra mount`; unmounts and reaps it when dropped, whatever the test did.
struct Mounted {
    child: Option<Child>,
    dir: PathBuf,
}

impl Mounted {
    fn start(mut cmd: Command, dir: &Path) -> Self {
        // A dead mount at `dir` cannot be stat()ed; umbra mount releases it itself.
        let _ = fs::create_dir_all(dir);
        let child = cmd
            .arg("mount")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("umbra mount");
        let me = Self {
            child: Some(child),
            dir: dir.to_path_buf(),
        };
        let start = Instant::now();
        // The mount point itself is an empty directory: a listing with entries is umbra's.
        // (Asking `is_mounted` and then `read_dir` could see a dead mount, then the empty
        // directory it was released from, and stop waiting before the new mount.)
        let served = || fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
        while !(served() && is_mounted(dir)) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "umbra mount did not mount within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// Waits for umbra to exit; returns its exit code and stdout+stderr.
    fn wait(mut self) -> (Option<i32>, String) {
        let child = self.child.take().expect("child");
        let out = child.wait_with_output().expect("wait");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    /// Reaps a killed umbra without touching its mount.
    fn wait_keeping_mount(mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let st = child.wait().ok()?;
        self.dir = PathBuf::from("/nonexistent-umbra-mount");
        st.code()
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if is_mounted(&self.dir) {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn mount_shows_every_snapshot_as_backed_up_and_ends_cleanly() {
    if !can_mount() {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("a/b")).expect("mkdir");
    let mut rng = Rng(11);
    fs::write(src.join("a/small"), b"small file\n").expect("write");
    // Several blobs: reads must cross blob boundaries at any offset.
    fs::write(src.join("a/b/large"), rng.bytes(9 << 20)).expect("write");
    fs::write(src.join("empty"), b"").expect("write");
    std::os::unix::fs::symlink("a/small", src.join("link")).expect("symlink");
    common::chmod(&src.join("a/small"), 0o640);
    // A time before 1970 with a fraction: fuser rounds those the wrong way unless helped
    // (`assert_same_tree` compares times to the nanosecond).
    fs::write(src.join("old"), b"1969\n").expect("write");
    common::sh(&format!(
        "touch -d '1969-07-20 20:17:40.123456789 UTC' {}",
        src.join("old").display()
    ));
    env.backup_json(&[&src], &["--tag", "first"]);
    fs::write(src.join("a/small"), b"changed\n").expect("write");
    env.backup_json(&[&src], &[]);

    let mnt = env.path("mnt");
    let m = Mounted::start(env.umbra(), &mnt);
    assert_eq!(names(&mnt), ["hosts", "ids", "snapshots", "tags"]);
    let snaps = names(&mnt.join("snapshots"));
    assert_eq!(snaps.len(), 3, "two snapshots and latest: {snaps:?}");
    assert_eq!(names(&mnt.join("ids")).len(), 2);
    assert_eq!(names(&mnt.join("tags")), ["first"]);
    assert_eq!(
        names(&mnt.join("tags/first")).len(),
        2,
        "one snapshot and latest"
    );
    let latest = mnt.join("snapshots/latest");
    common::assert_same_tree(&src, &common::restored_path(&latest, &src));
    // The first snapshot still has the first content.
    let first = fs::read_link(mnt.join("tags/first/latest")).expect("readlink");
    let old = common::restored_path(&mnt.join("tags/first").join(first), &src);
    assert_eq!(
        fs::read(old.join("a/small")).expect("read"),
        b"small file\n"
    );
    // Reads at an offset inside the second blob.
    let large = fs::read(src.join("a/b/large")).expect("read");
    let f = fs::File::open(common::restored_path(&latest, &src).join("a/b/large")).expect("open");
    let mut buf = vec![0u8; 100_000];
    let at = (5 << 20) + 12_345;
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut buf, at as u64).expect("read_at");
    assert!(buf == large[at..at + 100_000], "read at an offset");
    drop(f);
    // Read-only.
    let err = fs::write(latest.join("new"), b"x").expect_err("write must fail");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");

    // umount ends umbra with success and leaves no lock.
    let st = Command::new("umount").arg(&mnt).status().expect("umount");
    assert!(st.success());
    let (code, text) = m.wait();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("unmounted"), "{text}");
    env.ok(&["prune"]);

    // SIGINT unmounts and releases the lock, as for every interrupted command.
    let m = Mounted::start(env.umbra(), &mnt);
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(m.pid(), libc::SIGINT) };
    let (code, text) = m.wait();
    assert_eq!(code, Some(130), "{text}");
    assert!(text.contains("the mount at"), "{text}");
    assert!(!is_mounted(&mnt), "the mount is gone");
    env.ok(&["prune"]);
}

/// `kill -9` leaves a dead mount ("Transport endpoint is not connected"); `umbra cleanup`
/// releases it, and so does the next `umbra mount` at the same place.
#[test]
fn a_mount_left_by_a_killed_umbra_is_released_by_cleanup_and_by_the_next_mount() {
    if !can_mount() {
        return;
    }
    let (env, _src) = Env::with_one_snapshot();
    let mnt = env.path("mnt");
    for ender in ["cleanup", "mount"] {
        let m = Mounted::start(env.umbra(), &mnt);
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(m.pid(), libc::SIGKILL) };
        let _ = m.wait_keeping_mount();
        assert!(is_mounted(&mnt), "the dead mount stays until released");
        let err = fs::read_dir(&mnt).expect_err("a dead mount");
        assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN), "{err}");
        env.ok(&["unlock", "--remove-all"]);
        if ender == "cleanup" {
            let out = env.ok(&["cleanup"]);
            assert!(out.contains("unmounted"), "{out}");
            assert!(!is_mounted(&mnt));
        } else {
            let m = Mounted::start(env.umbra(), &mnt);
            assert_eq!(names(&mnt.join("ids")).len(), 1);
            let _ = Command::new("umount").arg(&mnt).status();
            let (code, text) = m.wait();
            assert_eq!(code, Some(0), "{text}");
            assert!(!is_mounted(&mnt));
        }
    }
}

#[test]
fn mount_refuses_a_missing_mount_point_with_guidance() {
    let env = Env::new();
    env.init();
    let out = env.run(&["mount", env.path("nowhere").to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("mkdir"), "{err}");
}

/// restic's own repositories (../shared): same-time snapshots each get a directory
/// (`repo-same-timestamps`), and files in mixed packs read as restic dumps them.
#[test]
fn mount_shows_restics_same_time_snapshots_and_mixed_packs() {
    if !can_mount() || !common::require(common::have("restic"), "the restic binary") {
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/restic-testdata");
    if !common::require(data.is_dir(), "restic's test repositories in ../shared") {
        return;
    }
    for (name, snapshots) in [
        ("repo-same-timestamps", 3),
        ("repo-mixed", 1),
        ("small-repo", 4),
    ] {
        let env = Env::new();
        fs::write(env.path("password"), "geheim\n").expect("password");
        let st = Command::new("tar")
            .arg("xzf")
            .arg(data.join(format!("{name}.tar.gz")))
            .arg("-C")
            .arg(env.path(""))
            .status()
            .expect("tar");
        assert!(st.success());
        let mnt = env.path("mnt");
        let m = Mounted::start(env.umbra(), &mnt);
        let listed = names(&mnt.join("snapshots"));
        assert_eq!(listed.len(), snapshots + 1, "{name}: {listed:?}");
        assert_eq!(names(&mnt.join("ids")).len(), snapshots, "{name}");
        let restored = common::restic_restore_latest(&env, "by-restic");
        for file in common::files_under(&restored) {
            let rel = file.strip_prefix(&restored).expect("prefix");
            let served = mnt.join("snapshots/latest").join(rel);
            assert_eq!(
                fs::read(&served).expect("read from the mount"),
                fs::read(&file).expect("read"),
                "{name}: {}",
                rel.display()
            );
        }
        let _ = Command::new("umount").arg(&mnt).status();
        let (code, text) = m.wait();
        assert_eq!(code, Some(0), "{name}: {text}");
    }
}
