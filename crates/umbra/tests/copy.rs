//! `copy`: a second repository gets each snapshot once, with its data, its consistency
//! record and a pointer to the original; restic reads the copy. Needs no `../shared`
//! (restic's own repositories are copied in `restic_testdata.rs`).

mod common;

use std::fs;

use common::{Env, Rng};

fn snapshots(env: &Env, repo: &str) -> Vec<serde_json::Value> {
    let out = env.ok(&["-r", repo, "--json", "snapshots"]);
    serde_json::from_str(&out).expect("snapshots --json")
}

#[test]
fn copy_sends_each_snapshot_once_with_its_record_and_restores_identically() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).expect("mkdir");
    let mut rng = Rng(3);
    for f in 0..8 {
        fs::write(src.join(format!("sub/f{f}")), rng.bytes(50_000)).expect("write");
    }
    env.backup_json(&[&src], &["--tag", "first"]);
    fs::write(src.join("later"), "a later file").expect("write");
    env.backup_json(&[&src], &[]);

    let second = env.path("second");
    let second = second.to_str().expect("utf8");
    let first = env.repo();
    let first = first.to_str().expect("utf8");
    env.ok(&["-r", second, "init"]);
    let password = env.path("password");
    let password = password.to_str().expect("utf8");
    let copy = [
        "copy",
        "--from-repo",
        first,
        "--from-password-file",
        password,
    ];

    // Only the older snapshot first, then all: the newer one is the only one sent.
    let out = env.ok(&[&["-r", second][..], &copy, &["latest~1"]].concat());
    assert!(out.contains("copied 1 snapshot(s)"), "{out}");
    let out = env.ok(&[&["-r", second][..], &copy].concat());
    assert!(out.contains("copied 1 snapshot(s)"), "{out}");
    assert!(out.contains("1 already there"), "{out}");
    let out = env.ok(&[&["-r", second][..], &copy].concat());
    assert!(out.contains("copied 0 snapshot(s)"), "{out}");

    let (ours, theirs) = (snapshots(&env, first), snapshots(&env, second));
    assert_eq!(theirs.len(), 2);
    for (a, b) in ours.iter().zip(&theirs) {
        for field in ["time", "tree", "paths", "hostname", "tags", "consistency"] {
            assert_eq!(a[field], b[field], "{field} of the copy");
        }
    }
    env.ok(&["-r", second, "check", "--read-data", "--check-unused"]);
    let target = env.path("from-copy");
    env.ok(&[
        "-r",
        second,
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    common::assert_same_tree(&src, &common::restored_path(&target, &src));
    if common::have("restic") {
        let out = std::process::Command::new("restic")
            .args(["-r", second, "--no-cache", "--password-file", password])
            .args(["check", "--read-data"])
            .output()
            .expect("restic");
        assert!(
            out.status.success(),
            "restic check of the copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn copy_refuses_the_same_repository_and_a_missing_source_with_guidance() {
    let env = Env::new();
    env.init();
    let first = env.repo();
    let first = first.to_str().expect("utf8");
    let password = env.path("password");
    let password = password.to_str().expect("utf8");
    let out = env.run(&[
        "copy",
        "--from-repo",
        first,
        "--from-password-file",
        password,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("name the same repository"), "{err}");
    let missing = env.path("nowhere");
    let out = env.run(&[
        "copy",
        "--from-repo",
        missing.to_str().expect("utf8"),
        "--from-password-file",
        password,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not exist") && err.contains("--from-repo"),
        "{err}"
    );
    // No password for the source and no terminal: says where to give one.
    let second = env.path("second");
    env.ok(&["-r", second.to_str().expect("utf8"), "init"]);
    let out = env.run(&[
        "-r",
        second.to_str().expect("utf8"),
        "copy",
        "--from-repo",
        first,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--from-password-file"), "{err}");
}
