//! forget and prune keep exactly what the policy says, and prune frees the space.

mod common;

use std::fs;

use common::{Env, Rng};

fn snapshot_ids(env: &Env) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "snapshots"])).expect("json");
    json.as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn forget_keep_last_keeps_exactly_the_newest_and_prune_frees_their_data() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(11);
    for i in 0..5 {
        // Each snapshot gets 1 MB of its own (incompressible) data.
        fs::write(src.join("data"), rng.bytes(1_000_000)).expect("write");
        fs::write(src.join("n"), format!("{i}")).expect("write");
        env.backup_json(&[&src], &[]);
    }
    let all = snapshot_ids(&env);
    assert_eq!(all.len(), 5);
    // A dry run removes nothing.
    let dry = env.ok(&["forget", "--keep-last", "2", "--dry-run"]);
    assert!(dry.contains("would remove 3 snapshot(s), kept 2"), "{dry}");
    assert_eq!(snapshot_ids(&env).len(), 5);
    let size_before = dir_size(&env.repo().join("data"));
    let out = env.ok(&["forget", "--keep-last", "2", "--prune"]);
    assert!(out.contains("removed 3 snapshot(s), kept 2"), "{out}");
    let kept = snapshot_ids(&env);
    assert_eq!(kept, all[3..].to_vec(), "must keep exactly the two newest");
    let size_after = dir_size(&env.repo().join("data"));
    assert!(
        size_before - size_after > 2_500_000,
        "prune should free the 3 MB only the forgotten snapshots used: {size_before} -> {size_after}"
    );
    env.ok(&["check", "--read-data"]);
    // The kept snapshots still restore.
    let target = env.restore_latest("restore");
    assert_eq!(
        fs::read(common::restored_path(&target, &src).join("n")).expect("read"),
        b"4"
    );
}

/// restic's `forget ID...`: exactly the snapshots named go; a name that matches nothing
/// removes nothing at all; a policy and ids do not mix.
#[test]
fn forget_by_id_removes_exactly_the_snapshots_named() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    for i in 0..4 {
        fs::write(src.join("n"), format!("{i}")).expect("write");
        env.backup_json(&[&src], &["--force"]);
    }
    let all = snapshot_ids(&env);
    let out = env.run(&["forget", &all[1][..8], "no-such-id"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing id fails the whole command"
    );
    assert_eq!(snapshot_ids(&env).len(), 4, "and removes nothing");
    let dry = env.ok(&["forget", &all[1][..8], "--dry-run"]);
    assert!(dry.contains("would remove 1 snapshot(s)"), "{dry}");
    assert_eq!(snapshot_ids(&env).len(), 4);
    let out = env.ok(&["forget", &all[1][..8], "latest"]);
    assert!(out.contains("removed 2 snapshot(s)"), "{out}");
    assert_eq!(snapshot_ids(&env), vec![all[0].clone(), all[2].clone()]);
    let out = env.run(&["forget", &all[0][..8], "--keep-last", "1"]);
    assert_eq!(out.status.code(), Some(2), "ids and a policy conflict");
    if common::have("restic") {
        let out = common::restic(&env, &["snapshots", "--json"]);
        let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(listed.len(), 2, "restic sees the same two snapshots");
    }
}

/// restic's `tag`: --add, --remove and --set rewrite the snapshot (new id, `original`
/// names the old one); restic reads the tags umbra wrote.
#[test]
fn tag_adds_removes_and_sets_tags_as_restic_reads_them() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.backup_json(&[&src], &["--tag", "daily"]);
    env.backup_json(&[&src], &["--force"]);
    let before = snapshot_ids(&env);
    let tags = |env: &Env| -> Vec<Vec<String>> {
        let json: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "snapshots"])).expect("json");
        json.as_array()
            .expect("array")
            .iter()
            .map(|s| {
                let mut t: Vec<String> = s["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect();
                t.sort();
                t
            })
            .collect()
    };
    let out = env.ok(&["tag", "latest", "--add", "a,b", "--add", "c"]);
    assert!(out.contains("1 snapshot(s) retagged"), "{out}");
    assert_eq!(tags(&env), vec![vec!["daily"], vec!["a", "b", "c"]]);
    let after = snapshot_ids(&env);
    assert_eq!(after[0], before[0], "the other snapshot is untouched");
    assert_ne!(after[1], before[1], "a retagged snapshot is a new file");
    env.ok(&["tag", "latest", "--remove", "b"]);
    assert_eq!(tags(&env), vec![vec!["daily"], vec!["a", "c"]]);
    env.ok(&["tag", "--set", "x"]);
    assert_eq!(tags(&env), vec![vec!["x"], vec!["x"]]);
    let out = env.ok(&["tag", "--set", "x"]);
    assert!(
        out.contains("0 snapshot(s) retagged"),
        "nothing to change: {out}"
    );
    env.ok(&["tag", "--set", ""]);
    assert_eq!(tags(&env), vec![Vec::<String>::new(), Vec::new()]);
    let out = env.run(&["tag", "latest"]);
    assert_eq!(out.status.code(), Some(1), "no change given");
    if common::have("restic") {
        env.ok(&["tag", "latest", "--add", "seen-by-restic"]);
        let out = common::restic(&env, &["snapshots", "--json", "--tag", "seen-by-restic"]);
        let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(listed.len(), 1, "restic finds the tag");
        assert_eq!(
            listed[0]["original"].as_str(),
            Some(before[1].as_str()),
            "original names the first snapshot file"
        );
    }
}

/// restic's filters (`--host`, `--tag`, `--path`) on `snapshots` and `forget` choose the
/// snapshots restic's same filters choose.
#[test]
fn host_tag_and_path_filters_choose_what_restics_choose() {
    let env = Env::new();
    env.init();
    let (a, b) = (env.path("a"), env.path("b"));
    for d in [&a, &b] {
        fs::create_dir_all(d).expect("mkdir");
        fs::write(d.join("f"), "x").expect("write");
    }
    env.backup_json(&[&a], &["--host", "alpha", "--tag", "db,daily"]);
    env.backup_json(&[&a], &["--host", "alpha", "--tag", "db", "--force"]);
    env.backup_json(&[&b], &["--host", "beta", "--tag", "daily"]);
    env.backup_json(&[&a, &b], &["--host", "beta"]);
    let ids = |args: &[&str]| -> Vec<String> {
        let out = env.ok(&[&["--json", "snapshots"][..], args].concat());
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let mut ids: Vec<String> = v
            .as_array()
            .expect("array")
            .iter()
            .map(|s| s["short_id"].as_str().expect("id").to_string())
            .collect();
        ids.sort();
        ids
    };
    let (pa, pb) = (a.to_str().expect("utf8"), b.to_str().expect("utf8"));
    let cases: Vec<(Vec<&str>, usize)> = vec![
        (vec!["--host", "alpha"], 2),
        (vec!["--host", "alpha", "--host", "beta"], 4),
        (vec!["--tag", "db,daily"], 1),
        (vec!["--tag", "db"], 2),
        (vec!["--tag", "db,daily", "--tag", "daily"], 2),
        (vec!["--path", pa], 3),
        (vec!["--path", pa, "--path", pb], 1),
        (vec!["--host", "beta", "--path", pb], 2),
    ];
    for (args, n) in &cases {
        let ours = ids(args);
        assert_eq!(ours.len(), *n, "{args:?}");
        if common::have("restic") {
            let out = common::restic(&env, &[&["snapshots", "--json"][..], args].concat());
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let mut theirs: Vec<String> = v
                .as_array()
                .expect("array")
                .iter()
                .map(|s| s["short_id"].as_str().expect("id").to_string())
                .collect();
            theirs.sort();
            assert_eq!(ours, theirs, "restic chooses the same for {args:?}");
        }
    }
    // `latest` among the chosen: ls, find, stats, dump and restore take the filter too.
    let ours = env.ok(&["ls", "latest", "--host", "alpha"]);
    assert!(ours.contains(pa) && !ours.contains(pb), "{ours}");
    if common::have("restic") {
        let out = common::restic(&env, &["ls", "latest", "--host", "alpha"]);
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            ours.lines().collect::<Vec<_>>(),
            theirs.lines().skip(1).collect::<Vec<_>>()
        );
    }
    let found = env.ok(&["--json", "find", "f", "--host", "beta"]);
    let found: serde_json::Value = serde_json::from_str(&found).expect("json");
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(2),
        "beta's two snapshots: {found}"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "stats", "--tag", "db"])).expect("json");
    assert_eq!(stats["snapshots_count"], 2);
    let dumped = env.ok(&["dump", "latest", &format!("{pb}/f"), "--path", pb]);
    assert_eq!(dumped, "x");
    let target = env.path("restored");
    env.ok(&[
        "restore",
        "latest",
        "--host",
        "alpha",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    assert!(common::restored_path(&target, &a).join("f").is_file());
    assert!(!common::restored_path(&target, &b).exists());
    let out = env.run(&["ls", "latest", "--host", "gamma"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("--host/--tag/--path"), "{err}");
    // forget judges only the chosen snapshots: beta's stay.
    let out = env.ok(&["forget", "--keep-last", "1", "--host", "alpha"]);
    assert!(out.contains("removed 1 snapshot(s), kept 1"), "{out}");
    assert_eq!(ids(&["--host", "beta"]).len(), 2);
    assert_eq!(ids(&[]).len(), 3);
}

#[test]
fn forget_without_a_policy_refuses() {
    let env = Env::new();
    env.init();
    let out = env.run(&["forget"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no retention policy given"), "{err}");
    assert!(err.contains("--keep-daily"), "{err}");
}

#[test]
fn keep_within_takes_restic_durations_and_rejects_others() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.backup_json(&[&src], &[]);
    env.backup_json(&[&src], &[]);
    let out = env.ok(&["forget", "--keep-within", "1d"]);
    assert!(out.contains("removed 0 snapshot(s), kept 2"), "{out}");
    let bad = env.run(&["forget", "--keep-within", "3w"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a duration for --keep-within"));
}

#[test]
fn keys_can_be_added_listed_and_removed() {
    let env = Env::new();
    env.init();
    fs::write(env.path("second"), "second password\n").expect("write");
    env.ok(&[
        "key",
        "add",
        "--new-password-file",
        env.path("second").to_str().expect("utf8"),
    ]);
    let list = env.ok(&["key", "list"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    // The new password opens the repository.
    let out = env
        .umbra()
        .env("UMBRA_PASSWORD_FILE", env.path("second"))
        .arg("snapshots")
        .output()
        .expect("run");
    assert!(out.status.success());
    // The key in use cannot be removed; the other one can.
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "key", "list"])).expect("json");
    let keys = json.as_array().expect("array");
    let current = keys.iter().find(|k| k["current"] == true).expect("current")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let other = keys.iter().find(|k| k["current"] == false).expect("other")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let refused = env.run(&["key", "remove", &current[..8]]);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("refusing to remove the key that opened")
    );
    env.ok(&["key", "remove", &other[..8]]);
    let out = env
        .umbra()
        .env("UMBRA_PASSWORD_FILE", env.path("second"))
        .arg("snapshots")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        let m = e.metadata().expect("meta");
        total += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    total
}
