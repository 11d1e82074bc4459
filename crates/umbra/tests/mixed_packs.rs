//! Packs that hold tree and data blobs together, as restic wrote them before 0.8.0, made
//! here from an umbra repository (`umbra_repo::testing::mix_packs`), so that this test needs
//! no copy of restic's old repositories: check, restore, a backup with a mixed parent, and
//! prune, which repacks them into packs of one type that restic reads.

mod common;

use std::fs;

use common::{files_under, Env, Rng};

/// The blob types of each pack, as restic's own index says.
fn pack_types(env: &Env) -> Vec<std::collections::BTreeSet<String>> {
    let list = common::restic(env, &["list", "index"]);
    assert!(list.status.success());
    let mut out = Vec::new();
    for index in String::from_utf8_lossy(&list.stdout).lines() {
        let cat = common::restic(env, &["cat", "index", index.trim()]);
        let v: serde_json::Value = serde_json::from_slice(&cat.stdout).expect("index json");
        for pack in v["packs"].as_array().into_iter().flatten() {
            out.push(
                pack["blobs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| b["type"].as_str().unwrap_or_default().to_string())
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn mixed_packs_check_restore_back_up_and_prune_into_packs_of_one_type() {
    if !common::require(common::have("restic"), "the restic binary") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let mut rng = Rng(21);
    for d in 0..5 {
        fs::create_dir_all(src.join(format!("d{d}"))).expect("mkdir");
        for f in 0..10 {
            fs::write(src.join(format!("d{d}/f{f}")), rng.bytes(20_000)).expect("write");
        }
    }
    env.backup_json(&[&src], &[]);
    umbra_repo::testing::mix_packs(&env.repo(), "correct horse").expect("mix the packs");
    assert_eq!(files_under(&env.repo().join("data")).len(), 1, "one pack");
    let types = pack_types(&env);
    assert_eq!(types.len(), 1);
    assert_eq!(
        types[0].len(),
        2,
        "the pack holds tree and data blobs: {types:?}"
    );
    // restic accepts the repository as it is.
    let out = common::restic(&env, &["check", "--read-data"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // umbra reads it: check, ls, restore.
    env.ok(&["check", "--read-data"]);
    env.ok(&["ls", "latest"]);
    let target = env.restore_latest("t1");
    common::assert_same_tree(&src, &common::restored_path(&target, &src));

    // A backup with the mixed snapshot as its parent.
    fs::write(src.join("d0/new"), "a new file").expect("write");
    let (code, summary) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["files_new"], 1, "{summary}");
    assert_eq!(
        summary["files_unmodified"], 50,
        "the mixed parent is used: {summary}"
    );

    // prune repacks the mixed pack into packs of one type.
    env.ok(&["prune"]);
    let types = pack_types(&env);
    assert!(
        types.iter().all(|t| t.len() == 1),
        "packs still mixed after prune: {types:?}"
    );
    env.ok(&["check", "--read-data"]);
    let out = common::restic(&env, &["check", "--read-data"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = env.restore_latest("t2");
    common::assert_same_tree(&src, &common::restored_path(&target, &src));
}
