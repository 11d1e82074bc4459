//! Damage, and what each command does about it: a data pack, a tree pack, an index file,
//! a snapshot file and the local cache, each for `check`, `restore` and the next
//! `backup`; lost packs and `repair`. (After conserve's tests/damage.rs: make a good
//! repository, damage one file, run the command, look at what it says and leaves.)

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{files_under, Env, Rng};

fn flip_byte(path: &Path, at: usize) {
    let mut data = fs::read(path).expect("read");
    let i = at.min(data.len() - 1);
    data[i] ^= 0x55;
    fs::write(path, data).expect("write");
}

fn good_repo() -> Env {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("big"), Rng(5).bytes(3_000_000)).expect("write");
    fs::write(src.join("small"), "small file").expect("write");
    env.backup_json(&[&src], &[]);
    env.ok(&["check", "--read-data"]);
    env
}

/// Flips a byte in the middle of the biggest pack (the one holding file data); returns it.
fn damage_the_data_pack(env: &Env) -> PathBuf {
    let pack = files_under(&env.repo().join("data"))
        .into_iter()
        .max_by_key(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack");
    let len = fs::metadata(&pack).expect("meta").len() as usize;
    flip_byte(&pack, len / 2);
    pack
}

#[test]
fn check_read_data_detects_a_damaged_pack() {
    let env = good_repo();
    let pack = damage_the_data_pack(&env);
    let out = env.run(&["check", "--read-data"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("check found") && err.contains("error(s)"),
        "{err}"
    );
    assert!(
        err.contains(&pack.file_name().expect("name").to_string_lossy()[..8]),
        "names the pack: {err}"
    );
}

/// `--read-data-subset n/t` reads one of t groups of packs: the damaged pack is found by
/// exactly one of the runs 1/t .. t/t, which together read everything (restic's way of
/// spreading `--read-data` over several days); `x%` and sizes are accepted, a nonsense
/// value is refused before anything is read.
#[test]
fn read_data_subsets_cover_every_pack_once() {
    let env = good_repo();
    damage_the_data_pack(&env);
    let failed = (1..=3)
        .filter(|n| {
            let out = env.run(&["check", "--read-data-subset", &format!("{n}/3")]);
            no_panic(&out);
            !out.status.success()
        })
        .count();
    assert_eq!(failed, 1, "exactly one group holds the damaged pack");
    let out = env.run(&["check", "--read-data-subset", "100%"]);
    assert_eq!(out.status.code(), Some(1), "100% reads it all");
    let out = env.run(&["check", "--read-data-subset", "every other"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not a valid --read-data-subset"), "{err}");
    let out = env.run(&["check", "--read-data", "--read-data-subset", "1/2"]);
    assert_eq!(out.status.code(), Some(2), "the two flags conflict");
}

#[test]
fn check_detects_a_damaged_index() {
    let env = good_repo();
    let index = files_under(&env.repo().join("index"))
        .pop()
        .expect("an index file");
    flip_byte(&index, 40);
    let out = env.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "damage in the index must fail check: {err}"
    );
    assert!(
        err.starts_with("error") || err.contains("\\nerror") || err.contains("error:"),
        "{err}"
    );
}

#[test]
fn a_repository_whose_files_were_deleted_fails_check() {
    let env = good_repo();
    let pack = files_under(&env.repo().join("data")).pop().expect("a pack");
    fs::remove_file(&pack).expect("rm");
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn no_panic(out: &Output) {
    let err = stderr(out);
    assert!(
        !err.contains("panicked") && !err.contains("Backtrace") && out.status.code() != Some(101),
        "{err}"
    );
}

/// The pack that holds blobs of `kind` (`tree` or `data`), as restic's own index says.
fn pack_holding(env: &Env, kind: &str) -> PathBuf {
    let restic = |args: &[&str]| {
        let out = common::restic(env, args);
        assert!(out.status.success(), "restic {args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for index in restic(&["list", "index"]).lines() {
        let v: serde_json::Value =
            serde_json::from_str(&restic(&["cat", "index", index.trim()])).expect("index json");
        for pack in v["packs"].as_array().into_iter().flatten() {
            let holds = pack["blobs"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|b| b["type"] == kind);
            if holds {
                let id = pack["id"].as_str().expect("id");
                return env.repo().join("data").join(&id[..2]).join(id);
            }
        }
    }
    panic!("no {kind} pack in the index");
}

fn restore_into(env: &Env, dir: &str, cache: &str) -> Output {
    env.umbra()
        .env("UMBRA_CACHE_DIR", env.path(cache))
        .args(["restore", "latest", "--target"])
        .arg(env.path(dir))
        .output()
        .expect("umbra")
}

fn have_restic() -> bool {
    common::require(common::have("restic"), "the restic binary")
}

#[test]
fn check_reports_a_damaged_tree_pack_without_panicking() {
    if !have_restic() {
        return;
    }
    let env = good_repo();
    let pack = pack_holding(&env, "tree");
    let len = fs::metadata(&pack).expect("meta").len() as usize;
    flip_byte(&pack, len / 2);
    let out = env.run(&["check"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("check found"), "{}", stderr(&out));

    // restore, with a cache that does not hold the good copy: an error, no panic.
    let out = restore_into(&env, "t", "fresh-cache");
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // The next backup runs, and check still reports the damage (the backup does not
    // hide it): a damaged pack is mended by hand (see docs/RESTORE.md).
    let out = env.run(&["backup", env.path("src").to_str().expect("utf8")]);
    no_panic(&out);
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_damaged_index_file_is_reported_and_repaired() {
    let env = good_repo();
    let index = files_under(&env.repo().join("index"))
        .pop()
        .expect("an index file");
    flip_byte(&index, 40);
    let out = env.run(&["check"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = restore_into(&env, "t", "fresh-cache");
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // repair index rebuilds it from the packs; then everything works again.
    fs::remove_file(&index).expect("rm the damaged index");
    env.ok(&["repair", "index"]);
    env.ok(&["check", "--read-data"]);
    let out = restore_into(&env, "t2", "fresh-cache-2");
    assert!(out.status.success(), "{}", stderr(&out));
    common::assert_same_tree(
        &env.path("src"),
        &common::restored_path(&env.path("t2"), &env.path("src")),
    );
    let (code, _) = env.backup_json(&[&env.path("src")], &[]);
    assert_eq!(code, Some(0));
}

#[test]
fn a_damaged_snapshot_file_is_named_and_the_newest_readable_one_is_used() {
    let env = good_repo();
    let src = env.path("src");
    fs::write(src.join("second"), "only in the second snapshot").expect("write");
    env.backup_json(&[&src], &[]);
    // Damage the newest snapshot file.
    let newest = files_under(&env.repo().join("snapshots"))
        .into_iter()
        .max_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("a snapshot");
    flip_byte(&newest, 30);
    let name = newest
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    // Another machine's view: no cache holding the good copy.
    let _ = fs::remove_dir_all(env.path("cache"));

    let out = env.run(&["snapshots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&name),
        "names the damaged file: {}",
        stderr(&out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("direct-")
            .count(),
        1
    );

    let out = restore_into(&env, "t", "cache");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));
    let r = common::restored_path(&env.path("t"), &src);
    assert!(
        r.join("big").exists() && !r.join("second").exists(),
        "the older snapshot"
    );

    let out = env.run(&["check"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));

    let (code, _) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0), "the next backup runs");
}

#[test]
fn a_poisoned_cache_does_not_hide_a_healthy_repository() {
    if !have_restic() {
        return;
    }
    let env = good_repo();
    let src = env.path("src");
    // A damaged copy of the same repository (same id), read once with our cache.
    let copy = env.path("damaged-copy");
    common::sh(&format!(
        "cp -a {} {}",
        env.repo().display(),
        copy.display()
    ));
    let tree_pack = pack_holding(&env, "tree");
    let in_copy = copy.join(tree_pack.strip_prefix(env.repo()).expect("inside"));
    let len = fs::metadata(&in_copy).expect("meta").len() as usize;
    flip_byte(&in_copy, len / 2);
    let _ = fs::remove_dir_all(env.path("cache"));
    let out = env
        .umbra()
        .env("UMBRA_REPOSITORY", &copy)
        .args(["restore", "latest", "--target"])
        .arg(env.path("from-copy"))
        .output()
        .expect("umbra");
    no_panic(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the copy is damaged: {}",
        stderr(&out)
    );

    // The healthy repository, with the same cache: everything works.
    env.ok(&["check", "--read-data"]);
    env.ok(&["ls", "latest"]);
    let target = env.restore_latest("t");
    common::assert_same_tree(&src, &common::restored_path(&target, &src));
    let (code, summary) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        summary["files_new"], 0,
        "unchanged files are not new: {summary}"
    );
}

#[test]
fn a_lost_pack_is_stored_again_by_the_next_backup_and_repair_mends_old_snapshots() {
    if !have_restic() {
        return;
    }
    let env = good_repo();
    let src = env.path("src");
    let pack = pack_holding(&env, "data");
    fs::remove_file(&pack).expect("rm");

    let out = restore_into(&env, "t", "cache");
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));

    // The next backup notices, repairs the index, and stores the lost data again.
    let out = env.run(&["--json", "backup", src.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"damage\"") && stdout.contains("repairing the index"),
        "{stdout}"
    );
    let summary: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["message_type"] == "summary")
        .expect("summary");
    assert!(
        summary["bytes_added"].as_u64().unwrap_or(0) >= 3_000_000,
        "the lost data was stored again: {summary}"
    );
    env.ok(&["check", "--read-data"]);
    let target = env.restore_latest("t2");
    common::assert_same_tree(&src, &common::restored_path(&target, &src));

    // restic agrees.
    let out = common::restic(&env, &["check", "--read-data"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn repair_snapshots_mends_a_snapshot_whose_data_is_lost_for_good() {
    if !have_restic() {
        return;
    }
    let env = good_repo();
    let src = env.path("src");
    let pack = pack_holding(&env, "data");
    fs::remove_file(&pack).expect("rm");
    // The source is gone too: nothing can store the data again.
    fs::remove_dir_all(&src).expect("rm src");
    env.ok(&["repair", "index"]);
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "data is missing: {}",
        stderr(&out)
    );
    let out = env.ok(&["repair", "snapshots", "--forget"]);
    assert!(out.contains("1 repaired snapshot(s) written"), "{out}");
    env.ok(&["check", "--read-data"]);
    let listing = env.ok(&["ls", "latest"]);
    assert!(listing.contains("big.repaired"), "{listing}");
}
