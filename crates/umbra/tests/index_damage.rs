//! A damaged index, with fixtures this test makes itself (`umbra_repo::testing`), so that a
//! fresh clone tests restic's edge cases without `../shared`: no index at all
//! (`repo-index-missing`) and an index that lacks a blob a snapshot uses
//! (`repo-index-missing-blob`). As restic expects: check fails, prune refuses, nothing
//! panics, a restore names what it cannot restore; and `repair index` mends both, after
//! which check passes and the restore is complete.

mod common;

use std::fs;
use std::path::Path;

use common::{Env, Rng};
use umbra_repo::testing::BlobKind;

const PASSWORD: &str = "correct horse";

fn backed_up_env() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let mut rng = Rng(7);
    for d in 0..3 {
        fs::create_dir_all(src.join(format!("d{d}"))).expect("mkdir");
        for f in 0..5 {
            fs::write(src.join(format!("d{d}/f{f}")), rng.bytes(30_000)).expect("write");
        }
    }
    let (code, summary) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0), "{summary}");
    (env, src)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails with umbra's exit code for a failed command (1), never a panic (101), and says
/// that the index is damaged.
fn fails_naming_the_index(env: &Env, args: &[&str]) {
    let out = env.run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "umbra {args:?}: {err}");
    assert!(!err.contains("panicked"), "umbra {args:?}: {err}");
    assert!(
        !err.contains("This is a bug in umbra"),
        "a damaged index is not a bug: umbra {args:?}: {err}"
    );
}

fn mended_by(env: &Env, src: &Path, repair: &[&str]) {
    env.ok(repair);
    env.ok(&["check", "--read-data"]);
    let target = env.restore_latest("mended");
    common::assert_same_tree(src, &common::restored_path(&target, src));
    if common::have("restic") {
        let out = common::restic(env, &["check", "--read-data"]);
        assert!(out.status.success(), "restic check: {}", stderr(&out));
    }
}

#[test]
fn no_index_at_all_fails_check_and_prune_until_repair_index_rebuilds_it() {
    let (env, src) = backed_up_env();
    let removed = umbra_repo::testing::remove_index(&env.repo()).expect("remove the index");
    assert!(removed > 0);
    fails_naming_the_index(&env, &["check"]);
    fails_naming_the_index(&env, &["prune"]);
    let target = env.path("t-broken");
    let out = env.run(&["restore", "latest", "-t", target.to_str().expect("utf8")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("umbra repair index"), "{err}");
    mended_by(&env, &src, &["repair", "index"]);
}

#[test]
fn a_data_blob_missing_from_the_index_names_its_file_until_repair_index_reads_the_packs() {
    let (env, src) = backed_up_env();
    let blob = umbra_repo::testing::drop_from_index(&env.repo(), PASSWORD, BlobKind::Data)
        .expect("drop a blob");
    let out = env.run(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&blob[..8]),
        "check names the blob {blob}: {err}"
    );
    fails_naming_the_index(&env, &["prune"]);
    // The restore gives every other file and names the one it cannot.
    let target = env.path("t-broken");
    let out = env.run(&["restore", "latest", "-t", target.to_str().expect("utf8")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("damaged"), "{err}");
    let restored = common::files_under(&target);
    assert_eq!(
        restored.len(),
        15,
        "every file is there, one of them marked damaged"
    );
    // The pack still holds the blob: repair index reading every pack finds it again.
    mended_by(&env, &src, &["repair", "index", "--read-all-packs"]);
}

#[test]
fn a_tree_missing_from_the_index_fails_check_prune_and_restore_clearly() {
    let (env, src) = backed_up_env();
    umbra_repo::testing::drop_from_index(&env.repo(), PASSWORD, BlobKind::Tree)
        .expect("drop a tree");
    fails_naming_the_index(&env, &["check"]);
    fails_naming_the_index(&env, &["prune"]);
    fails_naming_the_index(&env, &["ls", "latest"]);
    mended_by(&env, &src, &["repair", "index", "--read-all-packs"]);
}
