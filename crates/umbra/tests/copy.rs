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

/// `init --from-repo --copy-chunker-params`: the new repository splits files as the old
/// one does, so after `copy`, a backup of the same data into the new one stores nothing
/// new. restic agrees on the parameters.
#[test]
fn a_repository_with_copied_chunker_parameters_deduplicates_what_copy_brought() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(5);
    fs::write(src.join("big"), rng.bytes(6 << 20)).expect("write");
    env.backup_json(&[&src], &[]);
    let first = env.repo();
    let first = first.to_str().expect("utf8");
    let second = env.path("second");
    let second = second.to_str().expect("utf8");
    let password = env.path("password");
    let password = password.to_str().expect("utf8");
    let from = ["--from-repo", first, "--from-password-file", password];
    env.ok(&[&["-r", second, "init", "--copy-chunker-params"][..], &from].concat());
    env.ok(&[&["-r", second, "copy"][..], &from].concat());
    let (code, summary) = {
        let out = env
            .umbra()
            .env("UMBRA_REPOSITORY", second)
            .args(["--json", "backup", src.to_str().expect("utf8"), "--force"])
            .output()
            .expect("umbra");
        let last = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        (
            out.status.code(),
            serde_json::from_str::<serde_json::Value>(&last).unwrap_or_default(),
        )
    };
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        summary["data_blobs"]
            .as_u64()
            .or(summary["bytes_added"].as_u64().map(|_| 0)),
        Some(0),
        "nothing new is stored: {summary}"
    );
    assert!(
        summary["bytes_added"].as_u64().unwrap_or(u64::MAX) < 100_000,
        "only trees at most: {summary}"
    );
    if common::have("restic") {
        let config = |repo: &str| {
            let out = std::process::Command::new("restic")
                .args(["-r", repo, "--no-cache", "--password-file", password])
                .args(["cat", "config"])
                .output()
                .expect("restic");
            serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("config json")
        };
        let (a, b) = (config(first), config(second));
        assert_eq!(a["chunker_polynomial"], b["chunker_polynomial"]);
        assert_ne!(a["id"], b["id"], "a new repository id");
    }
    // Without --from-repo the flag is a usage error.
    let out = env.run(&[
        "-r",
        env.path("third").to_str().expect("utf8"),
        "init",
        "--copy-chunker-params",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
