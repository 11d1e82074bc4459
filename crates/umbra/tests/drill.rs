//! Restore drills (issue #19) of SQLite databases made with `sqlite3` and of plain files:
//! a good backup passes and records its checks and query results; a damaged page fails it
//! from the job's run, names the database and runs `on_failure`; a live file that changed
//! without changing its size or mtime is named. (The servers' drills are in
//! `drill_servers.rs`.)

mod common;
#[path = "drill/helpers.rs"]
mod helpers;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::jobs::{stderr, Jobs};
use common::{have, require};
use helpers::{drills, scratches, stdout};

fn sqlite(db: &Path, sql: &str) {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(out.status.success(), "{sql}: {}", stderr(&out));
}

const SQLITE_JOB: &str = r#"
[jobs.t]
sources = ["SRC"]

[[jobs.t.quiesce]]
type = "sqlite"
databases = ["SRC/app.db"]

[jobs.t.drill]
command = "sh DIR/check.sh"
queries = { "app.db" = ["SELECT count(*) FROM orders"] }
sample = "all"
scratch_dir = "DIR/scratch"
"#;

#[test]
fn a_drill_proves_sqlite_and_the_files_and_runs_the_users_check() {
    if !require(have("sqlite3"), "sqlite3 (see .ci/run)") {
        return;
    }
    let j = Jobs::new(SQLITE_JOB);
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    fs::write(
        j.env.path("check.sh"),
        format!(
            "test -s \"$UMBRA_DRILL_DIR{}/app.db\" && echo \"$UMBRA_SNAPSHOT_ID\" > {}\n",
            j.src.display(),
            j.env.path("drill-saw").display()
        ),
    )
    .expect("check.sh");
    let db = j.src.join("app.db");
    sqlite(
        &db,
        "PRAGMA foreign_keys=ON; CREATE TABLE customers(id INTEGER PRIMARY KEY); \
         CREATE TABLE orders(id INTEGER PRIMARY KEY, c INTEGER REFERENCES customers(id)); \
         INSERT INTO customers VALUES (1),(2); INSERT INTO orders VALUES (1,1),(2,2),(3,1);",
    );
    for i in 0..20 {
        fs::write(
            j.src.join(format!("file-{i}")),
            format!("content {i}").repeat(i * 100),
        )
        .expect("file");
    }
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = j.run(&["drill", "t"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("drill of job t: passed"), "{text}");
    assert!(
        text.contains(&format!(
            "sqlite {}: ok (integrity_check ok; foreign_key_check ok)",
            db.display()
        )),
        "{text}"
    );
    // app.db is stored from the quiescer's copy (another mtime): 21 compared with live.
    assert!(text.contains("files files: ok (22 of 22 file(s) hashed against the snapshot, 21 compared with the live file)"), "{text}");
    assert!(
        text.contains("SELECT count(*) FROM orders on app.db: 3"),
        "{text}"
    );
    assert!(text.contains("command sh "), "{text}");
    let id = fs::read_to_string(j.env.path("drill-saw")).expect("the user's check ran");
    assert_eq!(id.trim().len(), 64);
    assert!(
        scratches(&j.env.path("scratch")).is_empty(),
        "the scratch directory is removed"
    );
    let jobs = stdout(&j.run(&["jobs"]));
    assert!(jobs.contains("proven restorable"), "{jobs}");
    let metrics = stdout(&j.run(&["metrics"]));
    assert!(
        metrics.contains("umbra_drill_check_ok{job=\"t\",check=\"sqlite\""),
        "{metrics}"
    );
    assert!(!metrics.contains("umbra_job_last_drill_success_timestamp_seconds{job=\"t\"} 0\n"));
    // The orders vanish from the live database: the next drill passes, with a warning.
    sqlite(&db, "DELETE FROM orders;");
    assert!(j.run(&["run", "t"]).status.success());
    let out = j.run(&["drill", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "warning: query `SELECT count(*) FROM orders` on app.db found `0`; the drill of"
        ),
        "{text}"
    );
    let d = drills(&j);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["status"], "passed");
    assert_eq!(d[1]["checks"][2]["queries"][0]["result"], "0", "{}", d[1]);
}

#[test]
fn a_damaged_sqlite_page_fails_the_drill_of_a_job_and_runs_on_failure() {
    if !require(have("sqlite3"), "sqlite3 (see .ci/run)") {
        return;
    }
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]

[jobs.t.hooks]
on_failure = [TRACE(on_failure)]

[jobs.t.drill]
every = "1s"
scratch_dir = "DIR/scratch"
"#,
    );
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    let db = j.src.join("damaged.db");
    sqlite(
        &db,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) \
         INSERT INTO t SELECT i, printf('%0100d', i) FROM n; CREATE INDEX tv ON t(v);",
    );
    // Overwrite the third page (a b-tree page) while the database is closed.
    let mut bytes = fs::read(&db).expect("db");
    assert!(bytes.len() > 4 * 4096);
    for b in &mut bytes[2 * 4096 + 8..3 * 4096] {
        *b = 0x5a;
    }
    fs::write(&db, &bytes).expect("damage");
    let out = j.run(&["run", "t"]);
    assert!(!out.status.success(), "the drill must fail the run");
    let err = stderr(&out);
    assert!(err.contains("drill"), "{err}");
    assert!(
        err.contains(&format!("sqlite {}: FAILED", db.display())),
        "{err}"
    );
    assert_eq!(j.tags(), ["on_failure"]);
    let d = drills(&j);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["status"], "failed");
    let sqlite_check = d[0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "sqlite")
        .expect("a sqlite check");
    assert_eq!(sqlite_check["ok"], false);
    assert!(scratches(&j.env.path("scratch")).is_empty());
    let jobs = stdout(&j.run(&["jobs"]));
    assert!(
        jobs.contains("failed") && !jobs.contains("proven"),
        "{jobs}"
    );
}

#[test]
fn a_scratch_directory_inside_a_source_is_refused() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.drill]
scratch_dir = "SRC"
"#,
    );
    assert!(j.run(&["run", "t"]).status.success());
    let out = j.run(&["drill", "t"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("is inside the source"), "{err}");
    assert!(err.contains("scratch_dir"), "{err}");
}

#[test]
fn a_live_file_with_its_size_and_mtime_but_other_bytes_is_reported() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.drill]
sample = "all"
scratch_dir = "DIR/scratch"
"#,
    );
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    let file = j.src.join("ledger");
    fs::write(&file, "balance 1000\n").expect("write");
    assert!(j.run(&["run", "t"]).status.success());
    // Bit rot, or a writer that puts the old mtime back: same size, same mtime.
    let mtime = fs::metadata(&file)
        .expect("meta")
        .modified()
        .expect("mtime");
    fs::write(&file, "balance 9000\n").expect("write");
    fs::File::options()
        .write(true)
        .open(&file)
        .expect("open")
        .set_modified(mtime)
        .expect("set mtime");
    let out = j.run(&["drill", "t"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{}: same size and mtime as the live file, other bytes: the source or the backup may be corrupt",
            file.display()
        )),
        "{text}"
    );
    let d = drills(&j);
    assert_eq!(d[0]["files"]["live_differs"][0], file.display().to_string());
}
