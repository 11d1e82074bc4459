//! A full disk under the repository, or under a restore target, gives a clear error and
//! leaves no snapshot that would claim data it does not have. Needs root (to mount a
//! small tmpfs).

mod common;

use std::fs;
use std::process::Command;

use common::{Env, Rng, Tmpfs};

#[test]
fn backup_into_a_full_disk_fails_clearly_and_writes_no_snapshot() {
    if !common::require(common::is_root(), "root, to mount a small tmpfs") {
        return;
    }
    let env = Env::new();
    let small = Tmpfs::mount(env.path("small"), "size=3m");
    let repo = small.0.join("repo");
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("big"), Rng(1).bytes(8_000_000)).expect("write");
    let run = |args: &[&str]| {
        env.umbra()
            .env("UMBRA_REPOSITORY", &repo)
            .args(args)
            .output()
            .expect("run")
    };
    assert!(run(&["init"]).status.success());
    let out = run(&["backup", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no space left on the device"), "{err}");
    assert!(err.contains("hint: Free space"), "{err}");
    assert_eq!(
        fs::read_dir(repo.join("snapshots")).expect("dir").count(),
        0
    );
    assert_eq!(
        fs::read_dir(repo.join("locks")).expect("dir").count(),
        0,
        "lock left behind"
    );
}

#[test]
fn init_on_a_full_disk_fails_clearly_and_leaves_nothing() {
    if !common::require(common::is_root(), "root, to mount a small tmpfs") {
        return;
    }
    let env = Env::new();
    // Room for a few files only: init runs out of inodes half-way (it makes 256 dirs).
    let small = Tmpfs::mount(env.path("small"), "size=1m,nr_inodes=64");
    let repo = small.0.join("repo");
    let out = env
        .umbra()
        .env("UMBRA_REPOSITORY", &repo)
        .arg("init")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot create the repository"), "{err}");
    assert!(!repo.exists(), "a failed init left {}", repo.display());
}

#[test]
fn restore_into_a_full_disk_fails_clearly() {
    if !common::require(common::is_root(), "root, to mount a small tmpfs") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("big"), Rng(2).bytes(8_000_000)).expect("write");
    env.backup_json(&[&src], &[]);
    let small = Tmpfs::mount(env.path("small"), "size=2m");
    let out = env.run(&[
        "restore",
        "latest",
        "--target",
        small.0.to_str().expect("utf8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bytes free") || err.contains("no space left"),
        "{err}"
    );
}

#[test]
fn prune_on_a_full_disk_says_it_needs_room_itself() {
    if !common::require(common::is_root(), "root, to mount a small tmpfs") {
        return;
    }
    let env = Env::new();
    let small = Tmpfs::mount(env.path("small"), "size=4m");
    let repo = small.0.join("repo");
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), Rng(3).bytes(200_000)).expect("write");
    let run = |args: &[&str]| {
        env.umbra()
            .env("UMBRA_REPOSITORY", &repo)
            .args(args)
            .output()
            .expect("run")
    };
    assert!(run(&["init"]).status.success());
    assert!(run(&["backup", src.to_str().expect("utf8")])
        .status
        .success());
    // Fill the disk to the last byte.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("cat /dev/zero > {}/filler", small.0.display()))
        .status();
    let out = run(&["prune"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("No space left") || err.contains("no space left"),
        "{err}"
    );
    assert!(
        err.contains("prune itself needs some free space"),
        "the hint must not promise that prune frees the space: {err}"
    );
}
