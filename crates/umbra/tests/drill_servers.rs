//! Restore drills (issue #19) with real servers: a PostgreSQL cluster and a MariaDB data
//! directory from Debian's packages, started by the drill itself on the restored copy
//! (root, to run them as their own users). A good backup passes with its query results;
//! a backup without its last WAL segment fails, names the source and runs `on_failure`;
//! Ctrl-C and kill -9 in the middle leave no server and, after the next run, no scratch.

mod common;
#[path = "drill/helpers.rs"]
mod helpers;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::jobs::{stderr, Jobs};
use common::{as_postgres, have, is_root, pg_bin, require};
use helpers::{scratches, stdout};

// ---- PostgreSQL and MariaDB: root, and the servers' packages ----

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
    common::initdb(&bin, &data, &sock);
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
    // The server's own reason, not only its shutdown lines; no second failure for the
    // query whose database the server would have held.
    assert!(err.contains("PANIC"), "{err}");
    assert!(!err.contains("no database `app`"), "{err}");
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
