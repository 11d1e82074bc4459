//! The `sqlite` quiescer against a live writer. Without a volume snapshot (the test's
//! directory is on the root ext4), each database is copied through SQLite's online backup
//! API and the copy is stored in its place; with a btrfs snapshot, nothing is copied and
//! the record says why.

mod common;

use std::path::Path;
use std::process::{Child, Command};

use common::jobs::{stderr, Jobs};
use common::{have, is_root, require, LoopFs};

const WRITER: &str = r#"
import os, random, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
n = 100
while not os.path.exists(sys.argv[2]):
    a, b = random.randrange(n), random.randrange(n)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE acct SET bal = bal - 1 WHERE id = ?", (a,))
    db.execute("UPDATE acct SET bal = bal + 1 WHERE id = ?", (b,))
    db.execute("INSERT INTO moves(a, b) VALUES (?, ?)", (a, b))
    db.execute("COMMIT")
"#;

fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn create(db: &Path) {
    let mut sql = String::from(
        "PRAGMA journal_mode=WAL; CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL); \
         CREATE TABLE moves(a INTEGER, b INTEGER); BEGIN;",
    );
    for i in 0..100 {
        sql.push_str(&format!("INSERT INTO acct VALUES ({i}, 100);"));
    }
    sql.push_str("COMMIT;");
    sqlite(db, &sql);
}

fn writer(db: &Path, stop: &Path) -> Child {
    Command::new("python3")
        .args(["-c", WRITER])
        .arg(db)
        .arg(stop)
        .spawn()
        .expect("writer")
}

/// The writer's invariants: integrity, the total, and each balance against the moves.
fn check(db: &Path) {
    assert_eq!(
        sqlite(db, "PRAGMA integrity_check"),
        "ok",
        "{}",
        db.display()
    );
    assert_eq!(sqlite(db, "SELECT sum(bal) FROM acct"), "10000");
    let bad = sqlite(
        db,
        "SELECT count(*) FROM acct WHERE bal != 100 \
         - (SELECT count(*) FROM moves WHERE a = acct.id) \
         + (SELECT count(*) FROM moves WHERE b = acct.id)",
    );
    assert_eq!(bad, "0", "balances disagree with the moves");
}

#[test]
fn sqlite_without_a_volume_snapshot_restores_consistent_five_times_of_five() {
    if !require(have("sqlite3"), "the sqlite3 shell (see .ci/run)")
        || !require(have("python3"), "python3, for the writer (see .ci/run)")
    {
        return;
    }
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]

[[jobs.t.quiesce]]
type = "sqlite"
"#,
    );
    let db = j.src.join("app.db");
    create(&db);
    // The copy stands in for the database: it must restore with the database's owner
    // and mode, not those of umbra's staged file.
    let owner = if common::is_root() {
        common::sh(&format!("chown nobody:nogroup {}", db.display()));
        "nobody"
    } else {
        "root"
    };
    common::chmod(&db, 0o640);
    let stop = j.env.path("stop");
    let mut w = writer(&db, &stop);
    std::thread::sleep(std::time::Duration::from_millis(500));
    for trial in 0..5 {
        let out = j.run(&["run", "t"]);
        assert!(out.status.success(), "trial {trial}: {}", stderr(&out));
        let target = j.env.path(&format!("restored-{trial}"));
        j.env.ok(&[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ]);
        let restored = common::restored_path(&target, &db);
        if common::is_root() {
            common::assert_owned_by(&restored, owner);
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&restored).expect("stat").permissions(),
        );
        assert_eq!(mode & 0o777, 0o640, "the copy's mode is not the database's");
        let wal = restored.with_file_name("app.db-wal");
        assert!(!wal.exists(), "the live WAL was stored beside the copy");
        check(&restored);
        let moves = sqlite(&restored, "SELECT count(*) FROM moves");
        eprintln!("trial {trial}: {moves} moves in the restored copy");
    }
    std::fs::write(&stop, "").expect("stop");
    let _ = w.wait();
    let show = j.env.ok(&["--json", "show", "latest"]);
    let snap: serde_json::Value = serde_json::from_str(&show).expect("json");
    let q = &snap["consistency"]["quiesced"][0];
    assert_eq!(q["kind"], "sqlite");
    let detail = q["details"][db.display().to_string()]
        .as_str()
        .expect("detail");
    assert!(detail.starts_with("online backup copy: "), "{detail}");
    eprintln!("measured: {detail}");
}

#[test]
fn sqlite_on_a_volume_snapshot_is_recorded_and_not_copied() {
    if !require(is_root(), "root, for a btrfs loop device")
        || !require(have("sqlite3"), "the sqlite3 shell (see .ci/run)")
    {
        return;
    }
    let probe = tempfile::tempdir().expect("tempdir");
    let Some(fs_) = LoopFs::new("btrfs", probe.path(), 300) else {
        return;
    };
    let dir = fs_.path("app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let db = dir.join("app.db");
    create(&db);
    let j = Jobs::new(&format!(
        "[jobs.t]\nsources = [\"{}\"]\n\n[[jobs.t.quiesce]]\ntype = \"sqlite\"\n",
        dir.display()
    ));
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let show = j.env.ok(&["--json", "show", "latest"]);
    let snap: serde_json::Value = serde_json::from_str(&show).expect("json");
    let rec = &snap["consistency"];
    let detail = rec["quiesced"][0]["details"][db.display().to_string()]
        .as_str()
        .expect("detail");
    assert!(
        detail.starts_with("volume snapshot: crash-consistent"),
        "{detail}"
    );
    assert_eq!(rec["sources"][0]["level"], "app-consistent");
    let target = j.env.path("restored");
    j.env.ok(&[
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    check(&common::restored_path(&target, &db));
}
