//! The JSON that scripts parse has restic 0.14's shape (issue #14): for `backup` (status
//! and summary lines), `snapshots`, `ls`, `find` and `stats`, every key restic prints is
//! in umbra's output of the same command on the same repository, with a value of the same
//! JSON type; and `ls` and `find` list the same paths. umbra may add keys of its own.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use common::{have, require, Env};
use serde_json::Value;

/// The objects of a command's output: one document (an array's items), or one per line.
fn objects(text: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Array(items)) => items,
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Key → JSON type, per kind of object (`message_type`, `struct_type`, or `object`), also
/// for objects inside arrays (`object.matches`).
type Shapes = BTreeMap<String, BTreeMap<String, BTreeSet<&'static str>>>;

fn shapes(values: &[Value], prefix: &str, into: &mut Shapes) {
    for v in values {
        let Value::Object(o) = v else { continue };
        let kind = o
            .get("message_type")
            .or_else(|| o.get("struct_type"))
            .and_then(Value::as_str)
            .unwrap_or("object");
        let name = format!("{prefix}{kind}");
        for (k, value) in o {
            into.entry(name.clone())
                .or_default()
                .entry(k.clone())
                .or_default()
                .insert(type_of(value));
            if let Value::Array(items) = value {
                shapes(items, &format!("{name}.{k}."), into);
            }
        }
    }
}

/// What restic has that umbra lacks: keys missing, or present with another type.
fn gaps(restic: &str, umbra: &str) -> Vec<String> {
    let (mut theirs, mut ours) = (Shapes::new(), Shapes::new());
    shapes(&objects(restic), "", &mut theirs);
    shapes(&objects(umbra), "", &mut ours);
    let mut gaps = Vec::new();
    for (kind, keys) in &theirs {
        let Some(mine) = ours.get(kind) else {
            gaps.push(format!("no `{kind}` objects"));
            continue;
        };
        for (key, types) in keys {
            match mine.get(key) {
                None => gaps.push(format!("{kind}: no `{key}`")),
                Some(my_types) => {
                    let t: BTreeSet<_> = types.iter().filter(|t| **t != "null").collect();
                    let m: BTreeSet<_> = my_types.iter().filter(|t| **t != "null").collect();
                    if !t.is_empty() && !m.is_empty() && t != m {
                        gaps.push(format!("{kind}: `{key}` is {m:?}, restic's {t:?}"));
                    }
                }
            }
        }
    }
    gaps
}

fn paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for v in objects(text) {
        if let Some(p) = v["path"].as_str() {
            if v["struct_type"] != "snapshot" {
                out.insert(p.to_string());
            }
        }
        for m in v["matches"].as_array().into_iter().flatten() {
            out.insert(m["path"].as_str().unwrap_or_default().to_string());
        }
    }
    out
}

#[test]
fn json_outputs_have_restics_keys_and_types() {
    if !require(have("restic"), "restic 0.14, the reference (see .ci/run)") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir/sub")).expect("mkdir");
    fs::write(src.join("a.txt"), "alpha").expect("write");
    fs::write(src.join("empty"), "").expect("write");
    fs::write(src.join("dir/sub/b.txt"), vec![7u8; 300_000]).expect("write");
    std::os::unix::fs::symlink("a.txt", src.join("link")).expect("symlink");
    // A file that takes each backup a few seconds (both are held to 4 MB/s below), so
    // that both print statuses while it is read: restic then lists it in
    // `current_files`, a key it leaves out while no file is under way.
    fs::write(src.join("big.bin"), common::Rng(7).bytes(12 << 20)).expect("write");

    let restic = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend(args);
        let out = common::restic(&env, &all);
        assert!(
            out.status.success(),
            "restic {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let umbra = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend(args);
        env.ok(&all)
    };
    let src_arg = src.to_str().expect("utf8");
    // restic's snapshot first, then umbra's: each reads the other's.
    let theirs = restic(&["backup", "--limit-upload", "4096", src_arg]);
    // `--force`: restic's snapshot is umbra's parent, and the big file is read again.
    let ours = umbra(&["backup", "--force", "--limit-read", "4", src_arg]);
    let big = src.join("big.bin").display().to_string();
    let listed = |text: &str| {
        objects(text).iter().any(|v| {
            v["message_type"] == "status"
                && v["current_files"]
                    .as_array()
                    .is_some_and(|files| files.iter().any(|f| f.as_str() == Some(&big)))
        })
    };
    assert!(
        listed(&ours),
        "no status of umbra's lists {big} in `current_files`:\n{ours}"
    );
    assert!(
        listed(&theirs),
        "restic's statuses never list {big}: the test no longer shows the key"
    );
    let mut problems: Vec<String> = gaps(&theirs, &ours)
        .into_iter()
        .map(|g| format!("backup: {g}"))
        .collect();
    let restic_snapshot = objects(&theirs)
        .iter()
        .find(|v| v["message_type"] == "summary")
        .and_then(|v| v["snapshot_id"].as_str().map(str::to_string))
        .expect("restic's snapshot id");

    let commands: [&[&str]; 10] = [
        &["snapshots"],
        &["ls", "latest"],
        &["ls", &restic_snapshot],
        &["find", "*.txt"],
        &["find", "link"],
        &["stats"],
        &["stats", "latest"],
        &["stats", "--mode", "raw-data"],
        &["stats", "--mode", "files-by-contents"],
        &["stats", "--mode", "blobs-per-file"],
    ];
    for args in commands {
        let (t, o) = (restic(args), umbra(args));
        problems.extend(gaps(&t, &o).into_iter().map(|g| format!("{args:?}: {g}")));
        if matches!(args[0], "ls" | "find") {
            assert_eq!(paths(&t), paths(&o), "{args:?} lists other paths");
            assert!(!paths(&o).is_empty(), "{args:?} listed nothing");
        }
    }
    assert!(
        problems.is_empty(),
        "umbra's JSON lacks what restic 0.14 prints:\n{}",
        problems.join("\n")
    );
}
