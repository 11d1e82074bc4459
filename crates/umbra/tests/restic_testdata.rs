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
