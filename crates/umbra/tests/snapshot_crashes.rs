//! What a backup killed with SIGKILL or interrupted with SIGINT leaves, and how it is
//! repaired: `umbra cleanup` and the next run remove every snapshot, mount and clone tree a
//! crash left, report only what is really gone, and SIGINT releases at once. Real btrfs and
//! xfs filesystems on loop devices; the snapshot providers themselves are in snapshots.rs.

mod common;

use std::fs;
use std::path::Path;

use common::leftovers::{assert_nothing_left, btrfs_leftovers};
use common::{mounts_below, sh, Env, LoopFs, Rng};

/// A btrfs filesystem with a subvolume `vol` holding a nested subvolume with `bytes` of
/// random data (so its backup takes a while), and an initialised repository.
fn busy_nested_subvolume(
    env: &Env,
    seed: u64,
    bytes: usize,
) -> Option<(LoopFs, std::path::PathBuf)> {
    let fs = LoopFs::new("btrfs", env.dir.path(), 1024)?;
    let src = fs.path("vol");
    sh(&format!("btrfs subvolume create {}", src.display()));
    sh(&format!(
        "btrfs subvolume create {}",
        src.join("nested").display()
    ));
    fs::write(src.join("nested/big"), Rng(seed).bytes(bytes)).expect("write");
    env.init();
    Some((fs, src))
}

/// When to kill the backup.
#[derive(Clone, Copy, PartialEq)]
enum KillAt {
    /// As soon as umbra's snapshot exists.
    SnapshotCreated,
    /// Once data is being stored (new pack files appear in the repository).
    Reading,
}

fn pack_count(env: &Env) -> usize {
    sh(&format!(
        "find {} -type f | wc -l",
        env.repo().join("data").display()
    ))
    .trim()
    .parse()
    .unwrap_or(0)
}

/// Starts `umbra backup SRC` in the background, its output discarded.
fn spawn_backup(env: &Env, src: &Path) -> std::process::Child {
    env.umbra()
        .args(["backup", src.to_str().expect("utf8")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Starts a backup of `src` and kills it (SIGKILL) at the given moment.
fn kill_backup(env: &Env, fs: &LoopFs, src: &Path, at: KillAt) {
    let packs_before = pack_count(env);
    let mut child = spawn_backup(env, src);
    let started = std::time::Instant::now();
    while btrfs_leftovers(fs).is_empty()
        || (at == KillAt::Reading && pack_count(env) <= packs_before)
    {
        assert!(
            started.elapsed().as_secs() < 60,
            "the backup did not reach the moment to kill it"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
}

#[test]
fn kill_9_leftovers_are_removed_by_cleanup_and_by_the_next_run() {
    let env = Env::new();
    let Some((fs, src)) = busy_nested_subvolume(&env, 6, 100_000_000) else {
        return;
    };

    // 1. Killed right after the snapshot: `umbra cleanup` lists and removes the leftovers.
    kill_backup(&env, &fs, &src, KillAt::SnapshotCreated);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !btrfs_leftovers(&fs).is_empty(),
        "the killed run should have left its snapshot"
    );
    let cleanup = env.ok(&["cleanup"]);
    assert!(cleanup.contains("removed btrfs-snapshot"), "{cleanup}");
    assert_eq!(
        btrfs_leftovers(&fs),
        "",
        "cleanup left snapshots: {cleanup}"
    );
    assert_nothing_left(&fs, &env);

    // 2. Killed while reading: the next backup sweeps the leftovers first, and succeeds.
    kill_backup(&env, &fs, &src, KillAt::Reading);
    assert!(
        !btrfs_leftovers(&fs).is_empty(),
        "the killed run should have left its snapshot"
    );
    assert!(
        !mounts_below(&fs.mount).is_empty(),
        "the killed run should have left its nested bind mount"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = env.run(&["backup", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(btrfs_leftovers(&fs), "");
    assert_nothing_left(&fs, &env);
    env.ok(&["check"]);
}

#[test]
fn cleanup_right_after_kill_9_reports_only_what_is_really_gone() {
    let env = Env::new();
    let Some((fs, src)) = busy_nested_subvolume(&env, 8, 600_000_000) else {
        return;
    };
    for trial in 0..3 {
        // Killed half a second into reading a large file, then cleaned up at once: the
        // kernel may still hold the dead process's files and mounts.
        kill_backup_after(&env, &fs, &src, std::time::Duration::from_millis(500));
        let out = env.run(&["cleanup"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let left = btrfs_leftovers(&fs);
        if out.status.success() {
            assert_eq!(
                left, "",
                "trial {trial}: cleanup said {text} but left {left}"
            );
            assert_nothing_left(&fs, &env);
        } else {
            // A release it could not make is reported as such, never as removed.
            for line in text
                .lines()
                .filter(|l| l.starts_with("removed btrfs-snapshot"))
            {
                let name = line.split('/').next_back().unwrap_or_default();
                let name = name.split(' ').next().unwrap_or_default();
                assert!(!left.contains(name), "trial {trial}: {line}, yet: {left}");
            }
            env.ok(&["cleanup"]);
        }
        assert_eq!(btrfs_leftovers(&fs), "", "trial {trial}");
    }
}

#[test]
fn reflink_clones_left_by_kill_9_are_really_gone_when_cleanup_says_so() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("xfs", env.dir.path(), 1024) else {
        return;
    };
    let src = fs.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("big"), Rng(12).bytes(400_000_000)).expect("write");
    env.init();
    for trial in 0..3 {
        let mut child = spawn_backup(&env, &src);
        let started = std::time::Instant::now();
        while !fs.path(".umbra-staging").exists() {
            assert!(started.elapsed().as_secs() < 60, "no clone tree appeared");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        child.kill().expect("kill -9");
        let _ = child.wait();
        let out = env.run(&["cleanup"]);
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            assert_nothing_left(&fs, &env);
        } else {
            assert!(
                !text.contains("removed clone-tree") || !fs.path(".umbra-staging").exists(),
                "trial {trial}: {text}"
            );
            env.ok(&["cleanup"]);
            assert_nothing_left(&fs, &env);
        }
    }
}

/// Starts a backup of `src` and kills it (SIGKILL) `after` its snapshot appeared.
fn kill_backup_after(env: &Env, fs: &LoopFs, src: &Path, after: std::time::Duration) {
    let mut child = spawn_backup(env, src);
    let started = std::time::Instant::now();
    while btrfs_leftovers(fs).is_empty() {
        assert!(started.elapsed().as_secs() < 60, "no snapshot appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(after);
    child.kill().expect("kill -9");
    let _ = child.wait();
}

#[test]
fn sigint_releases_the_snapshots_at_once() {
    let env = Env::new();
    let Some((fs, src)) = busy_nested_subvolume(&env, 7, 150_000_000) else {
        return;
    };
    let child = env
        .umbra()
        .args(["backup", src.to_str().expect("utf8")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while mounts_below(&fs.mount).is_empty() {
        assert!(started.elapsed().as_secs() < 60, "no bind mount appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("volume snapshots"), "{err}");
    assert_eq!(btrfs_leftovers(&fs), "");
    assert_nothing_left(&fs, &env);
}
