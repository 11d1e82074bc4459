//! restic's cache housekeeping (issue #14): opening a repository marks its cache used;
//! the caches of other repositories not opened for 30 days are named, and removed with
//! `--cleanup-cache`; what is not named like a repository id is never touched.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::Env;

fn age(dir: &Path, days: u64) {
    fs::File::open(dir)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(days * 24 * 3600)))
        .expect("set mtime");
}

fn days_old(dir: &Path) -> u64 {
    fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or(u64::MAX, |d| d.as_secs() / (24 * 3600))
}

#[test]
fn old_caches_are_named_and_removed_with_cleanup_cache() {
    let (env, _src) = Env::with_one_snapshot();
    let cache = env.path("cache");
    let repo_id = env.ok(&["cat", "config"]);
    let repo_id: serde_json::Value = serde_json::from_str(&repo_id).expect("config json");
    let current = cache.join(repo_id["id"].as_str().expect("id"));
    assert!(
        current.is_dir(),
        "the repository's cache: {}",
        current.display()
    );
    let old = cache.join("a".repeat(64));
    let recent = cache.join("b".repeat(64));
    let not_ours = cache.join("c".repeat(63));
    for dir in [&old, &recent, &not_ours] {
        fs::create_dir_all(dir.join("snapshots")).expect("mkdir");
        fs::write(dir.join("snapshots/x"), "x").expect("write");
    }
    age(&old, 40);
    age(&recent, 20);
    age(&not_ours, 40);
    age(&current, 40);

    let out = env.run(&["snapshots"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("found 1 old cache directory in"), "{err}");
    assert!(err.contains("--cleanup-cache"), "{err}");
    assert!(old.is_dir(), "named, not removed");
    // With --json the notice goes to stderr: stdout stays one JSON document.
    let out = env.run(&["--json", "snapshots"]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout is one JSON document");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"message_type\":\"notice\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        days_old(&current),
        0,
        "opening marks the repository's cache used"
    );

    let out = env.run(&["--cleanup-cache", "-v", "snapshots"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("removed 1 old cache directory"), "{text}");
    assert!(!old.exists());
    for dir in [&recent, &not_ours, &current] {
        assert!(dir.is_dir(), "{} kept", dir.display());
    }
    let out = env.run(&["snapshots"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("old cache"),
        "nothing old is left"
    );
}
