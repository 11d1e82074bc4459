//! restic reads what umbra writes, umbra reads what restic writes, and both honour the
//! other's locks. Uses the real `restic` binary (Debian's package in CI).

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use common::{age_past_racy_margin, assert_same_tree, chmod, restored_path, Env, Rng};

fn restic(env: &Env, args: &[&str]) -> std::process::Output {
    Command::new("restic")
        .arg("-r")
        .arg(env.repo())
        .args(args)
        .env("RESTIC_PASSWORD_FILE", env.path("password"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"))
        .output()
        .expect("run restic")
}

fn restic_ok(env: &Env, args: &[&str]) -> String {
    let out = restic(env, args);
    assert!(
        out.status.success(),
        "restic {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// restic's `check --read-data` finds no errors, and its restore of the latest snapshot
/// gives back `src` as it is now.
fn restic_reads_back(env: &Env, src: &Path) {
    let check = restic_ok(env, &["check", "--read-data"]);
    assert!(check.contains("no errors were found"), "{check}");
    let target = env.path("restic-restore");
    restic_ok(
        env,
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    );
    assert_same_tree(src, &restored_path(&target, src));
}

fn sample_tree(root: &Path) {
    fs::create_dir_all(root.join("dir/sub")).expect("mkdir");
    fs::create_dir_all(root.join("empty")).expect("mkdir");
    fs::write(root.join("dir/sub/big.bin"), Rng(9).bytes(4_000_000)).expect("write");
    fs::write(root.join("dir/text.txt"), "restic and umbra\n").expect("write");
    fs::write(root.join("private"), "0600").expect("write");
    chmod(&root.join("private"), 0o600);
    symlink("dir/text.txt", root.join("link")).expect("symlink");
    fs::hard_link(root.join("dir/text.txt"), root.join("hard")).expect("hardlink");
    common::set_xattr(&root.join("dir/text.txt"), "user.origin", b"umbra");
}

fn have_restic() -> bool {
    common::require(
        common::have("restic"),
        "the restic binary (apt-get install restic)",
    )
}

/// A fresh environment whose repository restic made, with an empty `src` beside it; `None`
/// (said loudly) without restic.
fn restic_made_repository() -> Option<(Env, std::path::PathBuf)> {
    if !have_restic() {
        return None;
    }
    let env = Env::new();
    restic_ok(&env, &["init"]);
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    Some((env, src))
}

#[test]
fn restic_checks_and_restores_what_umbra_wrote() {
    if !have_restic() {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    sample_tree(&src);
    env.backup_json(&[&src], &["--tag", "interop"]);
    fs::write(
        src.join("dir/text.txt"),
        "changed for the second snapshot\n",
    )
    .expect("write");
    env.backup_json(&[&src], &[]);
    let snaps = restic_ok(&env, &["snapshots"]);
    assert!(
        snaps.contains("2 snapshots") && snaps.contains("interop"),
        "{snaps}"
    );
    restic_reads_back(&env, &src);
}

#[test]
fn umbra_reads_restores_and_extends_a_restic_repository() {
    let Some((env, src)) = restic_made_repository() else {
        return;
    };
    sample_tree(&src);
    age_past_racy_margin();
    restic_ok(&env, &["backup", src.to_str().expect("utf8")]);
    let table = env.ok(&["snapshots"]);
    assert!(table.contains("1 snapshot(s)"), "{table}");
    // restic's snapshot has no consistency record: umbra claims nothing for it.
    assert!(
        table.lines().nth(1).is_some_and(|l| l.contains(" - ")),
        "{table}"
    );
    let target = env.restore_latest("umbra-restore");
    assert_same_tree(&src, &restored_path(&target, &src));
    // umbra backs up into it, with restic's snapshot as parent; both tools agree it is sound.
    let (code, summary) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0), "{summary}");
    let (_, again) = env.backup_json(&[&src], &[]);
    assert_eq!(again["bytes_read"], 0, "{again}");
    env.ok(&["check", "--read-data"]);
    let check = restic_ok(&env, &["check", "--read-data"]);
    assert!(check.contains("no errors were found"), "{check}");
    assert!(restic_ok(&env, &["snapshots"]).contains("3 snapshots"));
}

#[test]
fn restic_honours_umbras_exclusive_lock() {
    use umbra_repo::lock::LockKind;
    if !have_restic() {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    let lock = env.hold_lock(LockKind::Exclusive);
    let out = restic(&env, &["backup", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "restic must not write into a locked repository"
    );
    assert!(err.contains("locked"), "{err}");
    drop(lock);
    restic_ok(&env, &["backup", src.to_str().expect("utf8")]);
}

/// umbra's content-defined chunker (rustic_core's) cuts where restic's does, so the two
/// deduplicate against each other: a file restic stored, read again whole by umbra into the same
/// repository, adds no data. Random bytes cut often; a run of zeros cuts at the minimum
/// size; a low-entropy stretch runs to the maximum (8 MiB).
#[test]
fn umbra_cuts_files_where_restic_does() {
    let Some((env, src)) = restic_made_repository() else {
        return;
    };
    let mut data = Rng(25).bytes(6_000_000);
    data[1_000_000..1_300_000].fill(0);
    data.extend((0..9_000_000u32).map(|i| (i % 3) as u8));
    data.extend(Rng(26).bytes(3_000_000));
    fs::write(src.join("file.bin"), &data).expect("write");
    restic_ok(&env, &["backup", src.to_str().expect("utf8")]);
    let (code, summary) = env.backup_json(&[&src], &["--force"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["bytes_read"], data.len(), "{summary}");
    assert_eq!(
        summary["data_blobs"], 0,
        "umbra cut other chunks than restic: {summary}"
    );

    // A cut restic makes 10 bytes past the minimum size (512 KiB): the 64 bytes before it
    // are a window found to match restic's mask under this repository's polynomial.
    // rustic_core's own loop hashed the window there without its last byte, and cut
    // elsewhere (vendor/PATCHES.md, patch 25).
    let config = restic_ok(&env, &["cat", "config"]);
    let config: serde_json::Value = serde_json::from_str(&config).expect("restic's config");
    let poly = config["chunker_polynomial"]
        .as_str()
        .and_then(|p| u64::from_str_radix(p, 16).ok())
        .expect("chunker_polynomial");
    let window = Rabin::new(poly).matching_window(&mut Rng(27), (1 << 20) - 1);
    let mut edge = Rng(28).bytes((512 << 10) + 10 - 64);
    edge.extend_from_slice(&window);
    edge.extend(Rng(29).bytes(1_000_000));
    fs::remove_file(src.join("file.bin")).expect("rm");
    fs::write(src.join("edge.bin"), &edge).expect("write");
    restic_ok(&env, &["backup", src.to_str().expect("utf8")]);
    let (code, summary) = env.backup_json(&[&src], &["--force"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        summary["data_blobs"], 0,
        "umbra did not cut 10 bytes past the minimum where restic did: {summary}"
    );
}

/// `hash * x^8 + b` modulo `poly`, over GF(2): one byte appended to a Rabin fingerprint.
fn append(poly: u64, hash: u64, b: u8) -> u64 {
    let degree = 63 - poly.leading_zeros();
    let mut h = (hash << 8) | u64::from(b);
    while h != 0 && 63 - h.leading_zeros() >= degree {
        h ^= poly << (63 - h.leading_zeros() - degree);
    }
    h
}

/// restic's Rabin fingerprint of a 64-byte window (its chunker's), computed the long way.
struct Rabin {
    poly: u64,
    /// `out[b]`: the fingerprint of `b` and 63 zero bytes.
    out: Vec<u64>,
}

impl Rabin {
    fn new(poly: u64) -> Self {
        let out = (0..=255u8)
            .map(|b| (0..63).fold(append(poly, 0, b), |h, _| append(poly, h, 0)))
            .collect();
        Self { poly, out }
    }

    /// 64 random bytes whose fingerprint has no bit of `mask` set (about `mask` tries,
    /// one byte slid in at a time).
    fn matching_window(&self, rng: &mut Rng, mask: u64) -> Vec<u8> {
        let mut stream = rng.bytes(64);
        let mut hash = stream.iter().fold(0, |h, &b| append(self.poly, h, b));
        while hash & mask != 0 {
            let b = (rng.next() & 0xff) as u8;
            let leaving = stream[stream.len() - 64];
            hash = append(self.poly, hash ^ self.out[usize::from(leaving)], b);
            stream.push(b);
        }
        stream.split_off(stream.len() - 64)
    }
}

/// `n` small files in `dir`, each content twice side by side (`000a` and `000b`), the
/// `i`th of `first + i * step` bytes.
fn twin_small_files(dir: &Path, rng: &mut Rng, n: usize, first: usize, step: usize) {
    fs::create_dir_all(dir).expect("mkdir");
    for i in 0..n {
        let body = rng.bytes(first + i * step);
        fs::write(dir.join(format!("{i:03}a")), &body).expect("write");
        fs::write(dir.join(format!("{i:03}b")), &body).expect("write");
    }
}

/// The data blobs in the repository's index, as restic lists them; none may be there twice.
fn data_blobs(env: &Env) -> Vec<String> {
    let blobs: Vec<String> = restic_ok(env, &["list", "blobs"])
        .lines()
        .filter(|l| l.starts_with("data "))
        .map(str::to_owned)
        .collect();
    let distinct: std::collections::HashSet<&String> = blobs.iter().collect();
    assert_eq!(distinct.len(), blobs.len(), "a blob is in the index twice");
    blobs
}

/// Small files that share a content, read side by side (one reader's batch, before any
/// pack is written), are stored once; restic finds no blob twice in the index and reads
/// back the whole tree, also after a large file joins the small ones.
#[test]
fn identical_small_files_read_side_by_side_are_stored_once() {
    if !have_restic() {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let mut rng = Rng(28);
    twin_small_files(&src.join("small"), &mut rng, 150, 1_000, 37);
    env.backup_json(&[&src], &[]);
    assert_eq!(data_blobs(&env).len(), 150, "one blob per distinct content");

    fs::write(src.join("small/large.bin"), Rng(29).bytes(3_000_000)).expect("write");
    for i in 0..40 {
        fs::write(src.join(format!("small/new{i:02}")), rng.bytes(2_000)).expect("write");
    }
    env.backup_json(&[&src], &[]);
    data_blobs(&env);
    restic_reads_back(&env, &src);
}

/// With one CPU to run on (a machine of one, or low priority leaving the first CPU free),
/// the packer compresses and encrypts on its own thread rather than in a pool of one
/// (vendor patch 28). A backup pinned to one CPU stores each content once, and restic
/// checks every pack and restores the tree: the same as on every CPU.
#[cfg(target_os = "linux")]
#[test]
fn a_backup_on_one_cpu_stores_what_one_on_every_cpu_does() {
    use std::os::unix::process::CommandExt;
    if !have_restic() {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    twin_small_files(&src.join("small"), &mut Rng(31), 120, 700, 53);
    fs::write(src.join("large.bin"), Rng(32).bytes(6_000_000)).expect("write");
    // The first CPU this test may use, and only that one for umbra.
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills the set of the size given.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut allowed) }, 0);
    let first = (0..libc::CPU_SETSIZE as usize)
        .find(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
        .expect("a CPU");
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(first, &mut one) };
    let mut cmd = env.umbra();
    cmd.args(["backup", "-q"]).arg(&src);
    // SAFETY: between fork and exec only the sched_setaffinity system call runs.
    unsafe {
        cmd.pre_exec(move || {
            if libc::sched_setaffinity(0, size, &one) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = cmd.output().expect("run umbra");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 120 small contents, and the large file in more than one chunk.
    let blobs = data_blobs(&env).len();
    assert!(blobs > 121, "{blobs} data blobs");
    restic_reads_back(&env, &src);
}
