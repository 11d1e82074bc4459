//! The `sqlite` quiescer against a live writer. Without a volume snapshot (the test's
//! directory is on the root ext4), each database is copied through SQLite's online backup
//! API and the copy is stored in its place; with a btrfs snapshot, nothing is copied, the
//! write lock is held for the freeze window, and the record says so. A record never
//! claims more than the restore gives: the cross-file test checks a database and a log
//! that move together, wherever the record claims app-consistent or volume-snapshot.

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
    assert!(detail.starts_with("online backup copy ("), "{detail}");
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
        detail.starts_with("volume snapshot taken while umbra held the write lock"),
        "{detail}"
    );
    assert_eq!(rec["sources"][0]["level"], "app-consistent");
    // The text form shows the freeze too.
    let text = j.env.ok(&["show", "latest"]);
    assert!(
        text.contains("quiesced: ") && text.contains("(sqlite), frozen"),
        "{text}"
    );
    let target = j.env.path("restored");
    j.env.ok(&[
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    check(&common::restored_path(&target, &db));
}

/// Commits a row, then appends its number to a log (both durable): the log can be behind
/// the database, never ahead of it.
const LOGGING_WRITER: &str = r#"
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("PRAGMA synchronous=FULL")
log = open(sys.argv[2], "a")
n = int(db.execute("SELECT coalesce(max(n), 0) FROM seq").fetchone()[0])
while not os.path.exists(sys.argv[3]):
    n += 1
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO seq(n) VALUES (?)", (n,))
    db.execute("COMMIT")
    log.write(f"{n}\n")
    log.flush()
    os.fsync(log.fileno())
"#;

/// Backs up a database and its log under a live writer, `trials` times, on `fs_type`;
/// returns the levels recorded. Wherever the record claims app-consistent or
/// volume-snapshot, the restored log is not ahead of the restored database.
fn cross_file_trials(fs_type: &str, trials: usize) -> Vec<String> {
    let probe = tempfile::tempdir().expect("tempdir");
    let Some(fs_) = LoopFs::new(fs_type, probe.path(), 400) else {
        return Vec::new();
    };
    let dir = fs_.path("app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let db = dir.join("app.db");
    let log = dir.join("app.log");
    sqlite(
        &db,
        "PRAGMA journal_mode=WAL; CREATE TABLE seq(n INTEGER PRIMARY KEY);",
    );
    let j = Jobs::new(&format!(
        "[jobs.t]\nsources = [\"{}\"]\n\n[[jobs.t.quiesce]]\ntype = \"sqlite\"\n",
        dir.display()
    ));
    let stop = j.env.path("stop");
    let mut w = Command::new("python3")
        .args(["-c", LOGGING_WRITER])
        .arg(&db)
        .arg(&log)
        .arg(&stop)
        .spawn()
        .expect("writer");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut levels = Vec::new();
    for trial in 0..trials {
        let out = j.run(&["run", "t"]);
        assert!(
            out.status.success(),
            "{fs_type} trial {trial}: {}",
            stderr(&out)
        );
        let show = j.env.ok(&["--json", "show", "latest"]);
        let snap: serde_json::Value = serde_json::from_str(&show).expect("json");
        let level = snap["consistency"]["sources"][0]["level"]
            .as_str()
            .expect("level")
            .to_string();
        let target = j.env.path(&format!("restored-{fs_type}-{trial}"));
        j.env.ok(&[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ]);
        let rdb = common::restored_path(&target, &db);
        let rlog = common::restored_path(&target, &log);
        let in_db: u64 = sqlite(&rdb, "SELECT coalesce(max(n), 0) FROM seq")
            .parse()
            .expect("max");
        let text = std::fs::read_to_string(&rlog).unwrap_or_default();
        let in_log: u64 = text
            .lines()
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.parse().ok())
            .max()
            .unwrap_or(0);
        eprintln!("{fs_type} trial {trial}: level {level}; database at {in_db}, log at {in_log}");
        if level == "app-consistent" || level == "volume-snapshot" {
            assert!(
                in_log <= in_db,
                "{fs_type} trial {trial}: recorded {level}, but the restored log ({in_log}) is \
                 ahead of the restored database ({in_db}): a state that never existed"
            );
        }
        if fs_type == "xfs" {
            let copies = &snap["consistency"]["sources"][0]["copies"];
            assert!(
                copies
                    .as_array()
                    .is_some_and(|c| c.iter().any(|p| p == &serde_json::json!(db))),
                "the record names the copy: {copies}"
            );
        }
        levels.push(level);
    }
    std::fs::write(&stop, "").expect("stop");
    let _ = w.wait();
    levels
}

#[test]
fn records_never_claim_more_than_a_database_and_its_log_restore_to() {
    if !require(is_root(), "root, for btrfs and xfs loop devices")
        || !require(have("sqlite3"), "the sqlite3 shell (see .ci/run)")
        || !require(have("python3"), "python3 (see .ci/run)")
    {
        return;
    }
    let on_btrfs = cross_file_trials("btrfs", 3);
    assert!(
        on_btrfs.iter().all(|l| l == "app-consistent"),
        "btrfs with the write lock held in the window: {on_btrfs:?}"
    );
    // Reflink clones are per file, and the SQLite copy is from another instant: the
    // source is file-atomic at best, never app-consistent.
    let on_xfs = cross_file_trials("xfs", 3);
    assert!(
        on_xfs.iter().all(|l| l == "file-atomic"),
        "xfs with an online-backup copy: {on_xfs:?}"
    );
}

/// `umbra backup --quiesce sqlite:DB` is the job's pipeline from the command line: the
/// database is copied through the online backup API under a live writer, the copy
/// restores consistent, and the run is in the history, marked ad hoc, with no job file.
#[test]
fn an_ad_hoc_backup_quiesces_sqlite_from_the_command_line() {
    if !require(have("sqlite3"), "the sqlite3 shell (see .ci/run)")
        || !require(have("python3"), "python3, for the writer (see .ci/run)")
    {
        return;
    }
    let env = common::Env::new();
    env.init();
    let src = env.path("app");
    std::fs::create_dir_all(&src).expect("mkdir");
    let db = src.join("app.db");
    create(&db);
    let stop = env.path("stop");
    let mut w = writer(&db, &stop);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let quiesce = format!("sqlite:{}", db.display());
    let (code, summary) = env.backup_json(&[&src], &["--quiesce", &quiesce]);
    std::fs::write(&stop, "").expect("stop");
    let _ = w.wait();
    assert_eq!(code, Some(0), "{summary}");
    let q = &summary["consistency"]["quiesced"][0];
    assert_eq!(q["kind"], "sqlite", "{summary}");
    assert_eq!(q["name"], "sqlite-1", "{summary}");
    let detail = q["details"][db.display().to_string()]
        .as_str()
        .expect("detail");
    assert!(detail.starts_with("online backup copy ("), "{detail}");
    let target = env.path("restored");
    env.ok(&[
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    check(&common::restored_path(&target, &db));

    // The run is in the history, as ad hoc, though there is no job file.
    let history = env.ok(&["-c", "/nonexistent/umbra.toml", "--json", "history"]);
    let run: serde_json::Value =
        serde_json::from_str(history.lines().last().expect("a run")).expect("json");
    assert_eq!(run["job"], "(ad hoc)", "{run}");
    assert_eq!(run["ad_hoc"], true, "{run}");
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["snapshot_id"], summary["snapshot_id"], "{run}");
    let phases: Vec<&str> = run["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert!(
        phases.contains(&"snapshot") && phases.contains(&"backup"),
        "{phases:?}"
    );
    let text = env.ok(&["-c", "/nonexistent/umbra.toml", "history"]);
    assert!(text.contains("(ad hoc)"), "{text}");
}
