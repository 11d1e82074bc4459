//! A repository on read-only media, and what `prune` reports it freed.

mod common;

use std::fs;

use common::{Env, ReadOnlyView, Rng};

#[test]
fn a_repository_on_read_only_media_is_read_with_no_lock() {
    if !common::require(common::is_root(), "root, to mount a read-only view") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), Rng(2).bytes(200_000)).expect("write");
    env.backup_json(&[&src], &[]);
    let ro = ReadOnlyView::of(&env.repo(), env.path("ro"));
    let run = |args: &[&str]| {
        env.umbra()
            .env("UMBRA_REPOSITORY", ro.path())
            .args(args)
            .output()
            .expect("umbra")
    };
    // Without --no-lock: a clear error that names the way out.
    let out = run(&["snapshots"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("read-only") && err.contains("--no-lock"),
        "{err}"
    );
    // With it, every reading command works.
    let target = env.path("t");
    for args in [
        vec!["--no-lock", "snapshots"],
        vec!["--no-lock", "ls", "latest"],
        vec!["--no-lock", "show", "latest"],
        vec!["--no-lock", "check", "--read-data"],
        vec![
            "--no-lock",
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    ] {
        let out = run(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    common::assert_same_tree(&src, &common::restored_path(&target, &src));
    // Writing commands refuse it.
    let out = run(&["--no-lock", "prune"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only for commands that only read"));
}

fn pack_bytes(dir: &std::path::Path) -> (u64, usize) {
    let mut total = (0, 0);
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            let (b, n) = pack_bytes(&p);
            total = (total.0 + b, total.1 + n);
        } else {
            total = (total.0 + fs::metadata(&p).expect("meta").len(), total.1 + 1);
        }
    }
    total
}

#[test]
fn prune_reports_what_it_really_freed() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(9);
    // Many files in few packs; forgetting half of them leaves packs half used, which
    // prune repacks (rustic's plan counts those neither as removed nor as freed).
    for i in 0..40 {
        fs::write(src.join(format!("keep-{i}")), rng.bytes(100_000)).expect("write");
        fs::write(src.join(format!("drop-{i}")), rng.bytes(100_000)).expect("write");
    }
    env.backup_json(&[&src], &[]);
    for i in 0..40 {
        fs::remove_file(src.join(format!("drop-{i}"))).expect("rm");
    }
    env.backup_json(&[&src], &[]);
    env.ok(&["forget", "--keep-last", "1"]);
    let before = pack_bytes(&env.repo().join("data"));
    let out = env.ok(&["--json", "prune"]);
    let after = pack_bytes(&env.repo().join("data"));
    let v: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["message_type"] == "prune")
        .expect("prune line");
    assert!(
        after.0 < before.0,
        "prune freed nothing: {before:?} -> {after:?}"
    );
    assert_eq!(v["bytes_before"], before.0, "{v}");
    assert_eq!(v["bytes_after"], after.0, "{v}");
    assert_eq!(v["bytes_freed"], before.0 - after.0, "{v}");
    assert_eq!(v["packs_before"], before.1 as u64, "{v}");
    assert_eq!(v["packs_after"], after.1 as u64, "{v}");
    env.ok(&["check", "--read-data"]);
}
