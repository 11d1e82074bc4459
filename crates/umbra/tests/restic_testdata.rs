//! restic's own test repositories as a conformance suite: for each, what restic's tests
//! expect of it (../shared/restic-testdata/README.md), checked against umbra, and where
//! restic has the same command, against restic 0.14 on the same copy. No command may panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder of restic's test repositories, beside the project (CI has it there too).
fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/restic-testdata");
    common::require(
        dir.join("README.md").is_file(),
        "restic's test repositories in ../shared/restic-testdata",
    )
    .then_some(dir)
}

/// One unpacked copy of a test repository (password `geheim`).
struct Copy {
    dir: tempfile::TempDir,
}

impl Copy {
    fn of(name: &str) -> Option<Self> {
        let data = testdata()?;
        if !common::require(common::have("restic"), "the restic binary") {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("umbra-restic-testdata-")
            .tempdir()
            .expect("tempdir");
        let st = Command::new("tar")
            .arg("xzf")
            .arg(data.join(format!("{name}.tar.gz")))
            .arg("-C")
            .arg(dir.path())
            .status()
            .expect("tar");
        assert!(st.success(), "unpack {name}");
        std::fs::write(dir.path().join("password"), "geheim\n").expect("password");
        common::chmod(&dir.path().join("password"), 0o600);
        Some(Self { dir })
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn umbra(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_umbra"))
            .env_remove("UMBRA_PASSWORD")
            .env("UMBRA_REPOSITORY", self.repo())
            .env("UMBRA_PASSWORD_FILE", self.path("password"))
            .env("UMBRA_CACHE_DIR", self.path("cache"))
            .env("UMBRA_STATE_DIR", self.path("state"))
            .args(args)
            .output()
            .expect("umbra");
        never_a_panic(&out, args);
        out
    }

    fn restic(&self, args: &[&str]) -> Output {
        Command::new("restic")
            .arg("-r")
            .arg(self.repo())
            .arg("--password-file")
            .arg(self.path("password"))
            .arg("--no-cache")
            .args(args)
            .output()
            .expect("restic")
    }

    /// `umbra check --read-data` passes.
    fn checks_clean(&self) {
        let out = self.umbra(&["check", "--read-data"]);
        assert!(out.status.success(), "umbra check: {}", stderr(&out));
    }

    fn check_fails(&self) {
        let out = self.umbra(&["check"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "check must fail: {}",
            stderr(&out)
        );
    }

    /// `find '*'` names every entry `ls` lists, and `dump` gives each file of the latest
    /// snapshot byte for byte as restic's `dump` does.
    fn finds_and_dumps_like_restic(&self) {
        let out = self.umbra(&["--json", "ls", "latest"]);
        assert!(out.status.success(), "umbra ls: {}", stderr(&out));
        // restic's shape: the snapshot's line, then one per node.
        let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["struct_type"] == "node")
            .collect();
        let out = self.umbra(&["--json", "find", "*", "--snapshot", "latest"]);
        assert!(out.status.success(), "umbra find: {}", stderr(&out));
        // restic's shape: one array, an object per snapshot.
        let found: usize = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .expect("find --json")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["matches"].as_array().map(Vec::len))
            .sum();
        assert_eq!(found, entries.len(), "find '*' against ls");
        let files = entries.iter().filter(|e| e["type"] == "file").take(20);
        for file in files {
            let path = file["path"].as_str().expect("path");
            let ours = self.umbra(&["dump", "latest", path]);
            assert!(
                ours.status.success(),
                "umbra dump {path}: {}",
                stderr(&ours)
            );
            let theirs = self.restic(&["dump", "latest", path]);
            assert!(theirs.status.success(), "restic dump {path}");
            assert!(
                ours.stdout == theirs.stdout,
                "dump {path} differs from restic's"
            );
        }
    }

    /// Restores the latest snapshot with umbra and with restic, and compares the trees.
    fn restores_like_restic(&self) {
        let by_umbra = self.path("by-umbra");
        let by_restic = self.path("by-restic");
        let out = self.umbra(&[
            "restore",
            "latest",
            "--target",
            by_umbra.to_str().expect("utf8"),
        ]);
        assert!(out.status.success(), "umbra restore: {}", stderr(&out));
        let out = self.restic(&[
            "restore",
            "latest",
            "--target",
            by_restic.to_str().expect("utf8"),
        ]);
        assert!(out.status.success(), "restic restore: {}", stderr(&out));
        common::assert_same_tree(&by_restic, &by_umbra);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn never_a_panic(out: &Output, args: &[&str]) {
    let err = stderr(out);
    assert!(
        out.status.code() != Some(101) && !err.contains("panicked") && !err.contains("Backtrace"),
        "umbra {args:?} panicked: {err}"
    );
}

/// Repositories with mixed packs (tree and data blobs in one pack), as restic wrote them
/// before 0.8.0: check clean, list, and restore every file as restic does.
#[test]
fn old_repositories_with_mixed_packs_check_clean_and_restore_like_restic() {
    for name in [
        "small-repo",
        "repo-mixed",
        "repo-layout-default",
        "repo-restore-permissions-test",
    ] {
        let Some(copy) = Copy::of(name) else { return };
        copy.checks_clean();
        let out = copy.umbra(&["snapshots"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let out = copy.umbra(&["ls", "latest"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        copy.restores_like_restic();
        copy.finds_and_dumps_like_restic();
        // `ls -l` prints what restic's prints, line for line (restic adds a header).
        let ours = copy.umbra(&["ls", "-l", "latest"]);
        let theirs = copy.restic(&["ls", "-l", "latest"]);
        let theirs = String::from_utf8_lossy(&theirs.stdout);
        let theirs: Vec<&str> = theirs.lines().skip(1).collect();
        let ours = String::from_utf8_lossy(&ours.stdout);
        assert_eq!(ours.lines().collect::<Vec<_>>(), theirs, "{name}: ls -l");
        let out = copy.umbra(&["diff", "latest", "latest"]);
        assert!(out.status.success(), "{name}: diff: {}", stderr(&out));
    }
}

/// Copying a repository's snapshots twice copies them once, and restic agrees that the
/// copies are the snapshots (its own copy skips them all). `copy-unstable-json` holds
/// snapshots whose JSON restic re-encodes differently; `repo-same-timestamps` three
/// snapshots of one tree within a second; `repo-mixed` mixed packs.
#[test]
fn copy_copies_each_snapshot_once_and_restic_reads_the_copy() {
    for (name, snapshots) in [
        ("copy-unstable-json", 1),
        ("repo-same-timestamps", 3),
        ("repo-mixed", 1),
    ] {
        let Some(copy) = Copy::of(name) else { return };
        let dest = copy.path("dest");
        let dest = dest.to_str().expect("utf8");
        let source = copy.repo();
        let source = source.to_str().expect("utf8");
        let password = copy.path("password");
        let password = password.to_str().expect("utf8");
        let out = copy.umbra(&["-r", dest, "init"]);
        assert!(out.status.success(), "{name}: init: {}", stderr(&out));
        for (round, copied) in [(1, snapshots), (2, 0)] {
            let out = copy.umbra(&[
                "-r",
                dest,
                "copy",
                "--from-repo",
                source,
                "--from-password-file",
                password,
            ]);
            assert!(
                out.status.success(),
                "{name}: copy {round}: {}",
                stderr(&out)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!("copied {copied} snapshot(s)")),
                "{name}: copy {round}: {text}"
            );
        }
        let out = copy.umbra(&["-r", dest, "--json", "snapshots"]);
        let listed = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
            .expect("snapshots --json")
            .len();
        assert_eq!(listed, snapshots, "{name}: snapshots in the copy");
        let out = copy.umbra(&["-r", dest, "check", "--read-data", "--check-unused"]);
        assert!(
            out.status.success(),
            "{name}: check of the copy: {}",
            stderr(&out)
        );
        let restic = |args: &[&str]| {
            Command::new("restic")
                .args(["-r", dest, "--no-cache", "--password-file"])
                .arg(copy.path("password"))
                .args(args)
                .output()
                .expect("restic")
        };
        let out = restic(&["check", "--read-data"]);
        assert!(
            out.status.success(),
            "{name}: restic check of the copy: {}",
            stderr(&out)
        );
        let out = restic(&[
            "copy",
            "--from-repo",
            source,
            "--from-password-file",
            password,
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: restic copy: {}",
            stderr(&out)
        );
        assert_eq!(
            text.matches("was already copied").count(),
            snapshots,
            "{name}: restic copies again what umbra copied: {text}"
        );
    }
}

/// `stats` counts as restic 0.14 counts, in both modes, on restic's repositories
/// (restic wrote them, mixed packs included) and on one umbra wrote.
#[test]
fn stats_agree_with_restic() {
    for name in ["small-repo", "repo-mixed", "repo-same-timestamps"] {
        let Some(copy) = Copy::of(name) else { return };
        for mode in [
            "restore-size",
            "files-by-contents",
            "blobs-per-file",
            "raw-data",
        ] {
            let ours = copy.umbra(&["--json", "stats", "--mode", mode]);
            assert!(ours.status.success(), "{name} {mode}: {}", stderr(&ours));
            let theirs = copy.restic(&["stats", "--json", "--mode", mode]);
            assert!(theirs.status.success(), "{name} {mode}: restic stats");
            let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).expect("json");
            let theirs: serde_json::Value =
                serde_json::from_slice(&theirs.stdout).expect("restic json");
            for field in ["total_size", "total_file_count", "snapshots_count"] {
                assert_eq!(ours[field], theirs[field], "{name} {mode} {field}");
            }
            if mode == "raw-data" || mode == "blobs-per-file" {
                assert_eq!(
                    ours["total_blob_count"], theirs["total_blob_count"],
                    "{name} {mode}"
                );
            }
        }
    }
}

/// `cat` prints what restic 0.14's `cat` prints, byte for byte: config, a snapshot, an
/// index, a key, a pack, a tree blob and a data blob (ids given as short prefixes).
#[test]
fn cat_prints_what_restic_prints() {
    for name in ["small-repo", "repo-mixed"] {
        let Some(copy) = Copy::of(name) else { return };
        let first = |dir: &str| -> String {
            let mut names: Vec<String> = common::files_under(&copy.repo().join(dir))
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            names.sort();
            names.into_iter().next().expect("a file")
        };
        let snaps = copy.restic(&["snapshots", "--json"]);
        let snaps: serde_json::Value = serde_json::from_slice(&snaps.stdout).expect("json");
        let snapshot = snaps[0]["id"].as_str().expect("id").to_string();
        let tree = snaps[0]["tree"].as_str().expect("tree").to_string();
        let tree_json = copy.restic(&["cat", "blob", &tree]);
        let tree_json: serde_json::Value =
            serde_json::from_slice(&tree_json.stdout).expect("tree json");
        let data = find_data_blob(&copy, &tree_json).expect("a data blob");
        let cases: Vec<(&str, String)> = vec![
            ("config", String::new()),
            ("snapshot", snapshot),
            ("index", first("index")),
            ("key", first("keys")),
            ("pack", first("data")),
            ("blob", tree),
            ("blob", data),
        ];
        for (what, id) in cases {
            let mut theirs_args = vec!["cat", what];
            let mut ours_args = vec!["cat", what];
            // Files by a prefix of their id; blobs in full, as restic takes them.
            let short = if what == "blob" {
                id.clone()
            } else {
                id.get(..10).unwrap_or(&id).to_string()
            };
            if !id.is_empty() {
                theirs_args.push(&id);
                ours_args.push(&short);
            }
            let theirs = copy.restic(&theirs_args);
            assert!(theirs.status.success(), "{name}: restic cat {what}");
            let ours = copy.umbra(&ours_args);
            assert!(
                ours.status.success(),
                "{name}: cat {what}: {}",
                stderr(&ours)
            );
            assert!(
                ours.stdout == theirs.stdout,
                "{name}: cat {what} {short} differs from restic's"
            );
        }
        let out = copy.umbra(&["cat", "snapshot"]);
        assert_eq!(out.status.code(), Some(1), "an id is needed");
        let out = copy.umbra(&["cat", "nonsense", "1"]);
        assert_eq!(out.status.code(), Some(1));
    }
}

/// The first data blob below `tree` (restic's JSON of a tree), by asking restic.
fn find_data_blob(copy: &Copy, tree: &serde_json::Value) -> Option<String> {
    for node in tree["nodes"].as_array()? {
        if let Some(blob) = node["content"].as_array().and_then(|c| c.first()) {
            return blob.as_str().map(String::from);
        }
        if let Some(sub) = node["subtree"].as_str() {
            let out = copy.restic(&["cat", "blob", sub]);
            let sub: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            if let Some(found) = find_data_blob(copy, &sub) {
                return Some(found);
            }
        }
    }
    None
}

/// Every command on every repository ends with success or an error message, never a
/// panic (the `umbra` helper asserts it for each call).
#[test]
fn no_command_panics_on_any_of_restics_repositories() {
    let Some(dir) = testdata() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".tar.gz")?.to_string())
        })
        .filter(|n| n.starts_with("repo") || n.contains("repo") || n.starts_with("copy"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "found only {names:?}");
    for name in names {
        let Some(copy) = Copy::of(&name) else { return };
        let target = copy.path("target");
        let target = target.to_str().expect("utf8");
        for args in [
            &["snapshots"][..],
            &["show", "latest"],
            &["ls", "latest"],
            &["find", "*"],
            &["diff", "latest", "latest"],
            &["restore", "latest", "--target", target],
            &["check", "--read-data", "--check-unused"],
            &["repair", "index", "--dry-run"],
            &["forget", "--keep-last", "1", "--dry-run"],
            &["prune"],
            &["check"],
            &["repair", "index"],
            &["repair", "snapshots", "--dry-run"],
        ] {
            let _ = copy.umbra(args);
        }
    }
}

#[test]
fn prune_repacks_mixed_packs_into_packs_of_one_type_that_restic_reads() {
    let Some(copy) = Copy::of("repo-mixed") else {
        return;
    };
    let out = copy.umbra(&["prune"]);
    assert!(out.status.success(), "{}", stderr(&out));
    copy.checks_clean();
    let out = copy.restic(&["check", "--read-data"]);
    assert!(out.status.success(), "restic check: {}", stderr(&out));
    // Every pack now holds one type of blob.
    let indexes = String::from_utf8_lossy(&copy.restic(&["list", "index"]).stdout).into_owned();
    for index in indexes.lines() {
        let out = copy.restic(&["cat", "index", index.trim()]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("index json");
        for pack in v["packs"].as_array().into_iter().flatten() {
            let types: std::collections::BTreeSet<_> = pack["blobs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| b["type"].as_str().unwrap_or_default().to_string())
                .collect();
            assert_eq!(
                types.len(),
                1,
                "pack {} is still mixed: {types:?}",
                pack["id"]
            );
        }
    }
    copy.restores_like_restic();
}

/// restic's `TestEdgeCaseRepos`: damaged repositories fail check and prune refuses them,
/// leaving them as they were.
#[test]
fn damaged_repositories_fail_check_and_prune_refuses_them() {
    for name in [
        "repo-index-missing",
        "repo-index-missing-blob",
        "repo-data-missing",
    ] {
        let Some(copy) = Copy::of(name) else { return };
        copy.check_fails();
        let before = common::sh(&format!(
            "find {} -type f | sort | xargs sha256sum",
            copy.repo().display()
        ));
        let out = copy.umbra(&["prune"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: prune must refuse: {}",
            stderr(&out)
        );
        let after = common::sh(&format!(
            "find {} -path '*/locks' -prune -o -type f -print | sort | xargs sha256sum",
            copy.repo().display()
        ));
        let before: String = before
            .lines()
            .filter(|l| !l.contains("/locks/"))
            .collect::<Vec<_>>()
            .join("\n");
        let after: String = after
            .lines()
            .filter(|l| !l.contains("/locks/"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            before, after,
            "{name}: a refused prune changed the repository"
        );
        // restic agrees that check fails.
        let out = copy.restic(&["check"]);
        assert!(!out.status.success(), "{name}: restic check passed");
    }
}

/// restic's `duplicates` case: the same blob stored twice, and blobs no snapshot uses.
/// Checking for unused data (reading it too) reports them; after prune nothing is left to
/// report (the test above).
#[test]
fn check_unused_reports_what_prune_then_removes() {
    let Some(copy) = Copy::of("repo-duplicates") else {
        return;
    };
    let out = copy.umbra(&["check", "--read-data", "--check-unused"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "check --check-unused passed: {err}");
    assert!(err.contains("error: unused blob "), "{err}");
    assert!(err.contains("is stored 2 times"), "{err}");
    assert!(err.contains("`umbra prune` removes them"), "{err}");
    never_a_panic(&out, &["check", "--check-unused"]);
}

/// Repositories prune can mend or tidy: check passes after prune, for umbra and restic.
#[test]
fn prune_repairs_or_tidies_what_restic_expects_it_to() {
    for (name, check_before) in [
        ("repo-unused-data-missing", false),
        ("repo-unreferenced-data", true),
        ("repo-obsolete-index", true),
        ("repo-duplicates", true),
    ] {
        let Some(copy) = Copy::of(name) else { return };
        let out = copy.umbra(&["check"]);
        assert_eq!(
            out.status.success(),
            check_before,
            "{name}: check before: {}",
            stderr(&out)
        );
        let out = copy.umbra(&["prune"]);
        assert!(out.status.success(), "{name}: prune: {}", stderr(&out));
        copy.checks_clean();
        let out = copy.umbra(&["check", "--read-data", "--check-unused"]);
        assert!(
            out.status.success(),
            "{name}: check --check-unused after prune: {}",
            stderr(&out)
        );
        let out = copy.restic(&["check", "--read-data"]);
        assert!(
            out.status.success(),
            "{name}: restic check after prune: {}",
            stderr(&out)
        );
    }
}

#[test]
fn repair_index_fixes_packs_listed_in_several_index_files() {
    let Some(copy) = Copy::of("duplicate-packs-in-index-test-repo") else {
        return;
    };
    let out = copy.umbra(&["repair", "index"]);
    assert!(out.status.success(), "{}", stderr(&out));
    copy.checks_clean();
    let out = copy.restic(&["check", "--read-data"]);
    assert!(out.status.success(), "restic check: {}", stderr(&out));
}
