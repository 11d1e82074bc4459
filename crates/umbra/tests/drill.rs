//! Restore drills (issue #19), on real parts: SQLite databases made with `sqlite3`,
//! a PostgreSQL cluster and a MariaDB data directory from Debian's packages, started by
//! the drill itself on the restored copy. A good backup passes and records its checks and
//! query results; a damaged SQLite page and a missing WAL segment fail it, name the source
//! and run `on_failure`; Ctrl-C and kill -9 in the middle leave no server and, after the
//! next run, no scratch directory.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::jobs::{stderr, Jobs};
use common::{have, is_root, require};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sqlite(db: &Path, sql: &str) {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(out.status.success(), "{sql}: {}", stderr(&out));
}

/// The drills of job `t`, newest last, from `history --json`.
fn drills(j: &Jobs) -> Vec<serde_json::Value> {
    stdout(&j.run(&["history", "t", "--json"]))
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "drill")
        .collect()
}

/// The scratch directories left in `dir`.
fn scratches(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("umbra-drill-"))
                .collect()
        })
        .unwrap_or_default()
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

// ---- PostgreSQL and MariaDB: root, and the servers' packages ----

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("postgres").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn as_postgres(bin: &Path, program: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(bin.join(program));
    c
}

/// A stopped PostgreSQL cluster in `SRC/pgdata` with a database `app` whose table
/// `orders` has 5 rows. Returns the cluster's bin directory.
fn pg_cluster(j: &Jobs) -> Option<PathBuf> {
    let bin = pg_bin();
    if !require(is_root(), "root, to run PostgreSQL as its own user")
        || !require(
            bin.is_some(),
            "PostgreSQL's server (apt install postgresql; see .ci/run)",
        )
        || !require(have("runuser"), "runuser (util-linux)")
    {
        return None;
    }
    let bin = bin.expect("checked");
    fs::set_permissions(j.env.dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = j.src.join("pgdata");
    let sock = j.env.path("pgsock");
    for d in [&data, &sock] {
        fs::create_dir_all(d).expect("mkdir");
        common::sh(&format!("chown postgres:postgres {}", d.display()));
    }
    let st = as_postgres(&bin, "initdb")
        .args(["-A", "trust", "-U", "postgres", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .expect("initdb");
    assert!(st.success());
    let log = j.env.path("pg.log");
    common::sh(&format!("touch {0} && chown postgres {0}", log.display()));
    let pg_ctl = |action: &str| {
        let st = as_postgres(&bin, "pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(format!("-k {} -c listen_addresses=''", sock.display()))
            .args(["-w", action])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl");
        assert!(
            st.success(),
            "pg_ctl {action}: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    };
    pg_ctl("start");
    let psql = |db: &str, sql: &str| {
        let out = as_postgres(&bin, "psql")
            .arg("-h")
            .arg(&sock)
            .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{sql}: {}", stderr(&out));
    };
    psql("postgres", "CREATE DATABASE app");
    psql(
        "app",
        "CREATE TABLE orders(id int primary key); INSERT INTO orders SELECT generate_series(1,5)",
    );
    pg_ctl("stop");
    Some(bin)
}

/// Processes whose command line mentions `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmd) = fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) && !cmd.contains("cargo") {
                found.push(cmd);
            }
        }
    }
    found
}

const PG_JOB: &str = r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.hooks]
on_failure = [TRACE(on_failure)]
[jobs.t.drill]
queries = { app = ["SELECT count(*) FROM orders"] }
scratch_dir = "DIR/scratch"
"#;

#[test]
fn a_drill_starts_postgres_lets_it_recover_and_checks_it() {
    let j = Jobs::new(PG_JOB);
    let Some(_bin) = pg_cluster(&j) else { return };
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    assert!(j.run(&["run", "t"]).status.success());
    let out = j.run(&["drill", "t"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let pg = format!(
        "postgres {}: ok (recovered and ready in ",
        j.src.join("pgdata").display()
    );
    assert!(text.contains(&pg), "{text}");
    assert!(
        text.contains("pg_amcheck --all ok") && text.contains("stopped cleanly"),
        "{text}"
    );
    assert!(
        text.contains("SELECT count(*) FROM orders on app: 5"),
        "{text}"
    );
    assert!(scratches(&j.env.path("scratch")).is_empty());
    assert!(processes_with(&j.env.path("scratch").display().to_string()).is_empty());
}

#[test]
fn a_postgres_backup_without_a_wal_segment_fails_the_drill() {
    // A drill from the job's run: its failure fails the run and runs on_failure.
    let j = Jobs::new(&PG_JOB.replace("[jobs.t.drill]", "[jobs.t.drill]\nevery = \"1d\""));
    let Some(_bin) = pg_cluster(&j) else { return };
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    // The segment holding the last checkpoint goes missing from what is backed up.
    let wal = j.src.join("pgdata/pg_wal");
    let mut segments: Vec<PathBuf> = fs::read_dir(&wal)
        .expect("pg_wal")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.len() == 24))
        .collect();
    segments.sort();
    fs::remove_file(segments.last().expect("a segment")).expect("remove");
    let out = j.run(&["run", "t"]);
    assert!(!out.status.success(), "the failed drill fails the run");
    let err = stderr(&out);
    let pg = format!("postgres {}: FAILED", j.src.join("pgdata").display());
    assert!(
        err.contains("the restore drill failed") && err.contains(&pg),
        "{err}"
    );
    assert!(err.contains("postgres ended during recovery"), "{err}");
    assert_eq!(j.tags(), ["on_failure"]);
    // The same from `umbra drill`, with each check printed.
    let out = j.run(&["drill", "t"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains(&pg), "{text}");
    assert!(
        stderr(&out).contains("the drill of job t failed"),
        "{}",
        stderr(&out)
    );
    assert!(scratches(&j.env.path("scratch")).is_empty());
    assert!(processes_with(&j.env.path("scratch").display().to_string()).is_empty());
}

/// Starts `umbra drill t` and waits until its PostgreSQL runs; returns the child.
fn drill_until_postgres_runs(j: &Jobs) -> std::process::Child {
    let child = j
        .umbra()
        .args(["drill", "t"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("umbra drill");
    let scratch = j.env.path("scratch").display().to_string();
    let t = Instant::now();
    while processes_with(&format!("{scratch}/umbra-drill-t-"))
        .iter()
        .all(|p| !p.contains("postgres"))
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the drill never started postgres"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn ctrl_c_or_kill_9_in_a_drill_leaves_no_server_and_no_scratch() {
    let j = Jobs::new(PG_JOB);
    let Some(_bin) = pg_cluster(&j) else { return };
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    assert!(j.run(&["run", "t"]).status.success());
    let scratch = j.env.path("scratch").display().to_string();
    // Ctrl-C: the interrupt action kills the server and removes the scratch at once.
    let mut child = drill_until_postgres_runs(&j);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(
        processes_with(&scratch).is_empty(),
        "{:?}",
        processes_with(&scratch)
    );
    assert!(scratches(&j.env.path("scratch")).is_empty());
    // kill -9: the server dies with umbra (parent-death signal); the next run sweeps.
    let mut child = drill_until_postgres_runs(&j);
    let _ = child.kill();
    let _ = child.wait();
    let t = Instant::now();
    while !processes_with(&scratch).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{:?}",
            processes_with(&scratch)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        scratches(&j.env.path("scratch")).len(),
        1,
        "left until the next run"
    );
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        scratches(&j.env.path("scratch")).is_empty(),
        "swept by the next run"
    );
}

#[test]
fn a_drill_starts_mariadb_on_the_restored_copy_and_checks_every_table() {
    if !require(is_root(), "root, to run MariaDB as its own user")
        || !require(
            have("mariadbd") && have("mariadb-install-db"),
            "MariaDB's server (see .ci/run)",
        )
    {
        return;
    }
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.drill]
queries = { shop = ["SELECT count(*) FROM items"] }
scratch_dir = "DIR/scratch"
"#,
    );
    fs::create_dir_all(j.env.path("scratch")).expect("scratch");
    fs::set_permissions(j.env.dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = j.src.join("mysql-data");
    fs::create_dir_all(&data).expect("mkdir");
    common::sh(&format!("chown mysql:mysql {}", data.display()));
    let out = Command::new("mariadb-install-db")
        .args([
            "--no-defaults",
            "--user=mysql",
            "--auth-root-authentication-method=normal",
        ])
        .arg(format!("--datadir={}", data.display()))
        .output()
        .expect("mariadb-install-db");
    assert!(out.status.success(), "{}", stderr(&out));
    // The server (as mysql) writes its socket and log in a directory of its own.
    let run = j.env.path("myrun");
    fs::create_dir_all(&run).expect("mkdir");
    common::sh(&format!("chown mysql:mysql {}", run.display()));
    let sock = run.join("my.sock");
    let mut server = Command::new("mariadbd")
        .args(["--no-defaults", "--user=mysql", "--skip-networking"])
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--log-error={}", run.join("my.err").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd");
    let sql = |q: &str| {
        Command::new("mariadb")
            .arg(format!("--socket={}", sock.display()))
            .args(["-u", "root", "-e", q])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let t = Instant::now();
    while !sql("SELECT 1") {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "mariadbd did not start: {}",
            fs::read_to_string(run.join("my.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(sql("CREATE DATABASE shop; CREATE TABLE shop.items(id int primary key) ENGINE=InnoDB; INSERT INTO shop.items VALUES (1),(2),(3),(4)"));
    assert!(sql("SHUTDOWN"));
    let _ = server.wait();
    assert!(j.run(&["run", "t"]).status.success());
    let out = j.run(&["drill", "t"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!(
            "mariadb {}: ok (recovered and ready in",
            data.display()
        )),
        "{text}"
    );
    assert!(text.contains("mariadb-check --all-databases ok"), "{text}");
    assert!(
        text.contains("SELECT count(*) FROM items on shop: 4"),
        "{text}"
    );
    assert!(scratches(&j.env.path("scratch")).is_empty());
    assert!(processes_with(&j.env.path("scratch").display().to_string()).is_empty());
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
