//! MariaDB and MySQL: start `mariadbd` on the restored data directory, let InnoDB's crash
//! recovery finish, run `mariadb-check --all-databases` (CHECK TABLE), stop it.
//!
//! Settings that keep the drilled server to itself: `--no-defaults` (no production option
//! file applies), `--skip-networking` and a socket in the scratch, its own PID file and
//! error log, `--skip-slave-start` (a replica's copy does not connect to its primary),
//! `--event-scheduler=OFF` (no scheduled event runs), no binary log, and
//! `--skip-grant-tables` so that the checks need no password (nothing can connect but
//! through the private socket). It runs as the data directory's owner.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::server::{log_tail, output_by, owner_of, wait_ready, Server};
use super::{original_path, CheckRecord, Prove};

/// True for a MariaDB/MySQL data directory.
#[must_use]
pub fn is_data_dir(dir: &Path) -> bool {
    dir.join("mysql").is_dir()
        && (dir.join("ibdata1").is_file() || dir.join("aria_log_control").is_file())
}

fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.push("/usr/sbin".into());
    names
        .iter()
        .find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
}

/// Proves one restored data directory.
pub fn prove(data: &Path, p: &Prove<'_>) -> CheckRecord {
    let t = Instant::now();
    let mut rec = CheckRecord::new(&original_path(p.restored, data), "mariadb");
    if let Err(e) = run(data, p, &mut rec) {
        rec.fail(e);
    }
    rec.seconds = t.elapsed().as_secs_f64();
    rec
}

fn run(data: &Path, p: &Prove<'_>, rec: &mut CheckRecord) -> Result<(), String> {
    let server_bin = program(&["mariadbd", "mysqld"])
        .ok_or_else(|| "no mariadbd or mysqld is installed".to_string())?;
    let admin = program(&["mariadb-admin", "mysqladmin"])
        .ok_or_else(|| "no mariadb-admin is installed".to_string())?;
    let owner = owner_of(data).map_err(|e| format!("cannot read the data directory: {e}"))?;
    let run = p.private_dir("mariadb", owner)?;
    p.reach(data);
    let socket = run.join("mysqld.sock");
    let log = run.join("server.log");
    let mut cmd = Command::new(&server_bin);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", run.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .args([
            "--skip-networking",
            "--skip-slave-start",
            "--event-scheduler=OFF",
            "--skip-grant-tables",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
        ]);
    let mut server = Server::start(cmd, owner, &run.join("stdout.log"), "mariadbd")
        .map_err(|e| format!("cannot start {}: {e}", server_bin.display()))?;
    p.scratch.add_server(server.pgid());
    let ping = || {
        output_by(
            Command::new(&admin)
                .arg(format!("--socket={}", socket.display()))
                .args(["-u", "root", "ping"]),
            p.deadline,
        )
        .is_ok_and(|o| o.status.success())
    };
    let took = wait_ready(&mut server, p.deadline, &ping)
        .map_err(|e| format!("{e}: {}", log_tail(&log, 4)))?;
    rec.detail.push(format!(
        "recovered and ready in {:.1} s",
        took.as_secs_f64()
    ));
    let client = |names: &[&str]| {
        let mut c = Command::new(program(names).unwrap_or_else(|| PathBuf::from(names[0])));
        c.arg(format!("--socket={}", socket.display()))
            .args(["-u", "root"]);
        c
    };
    let check = output_by(
        client(&["mariadb-check", "mysqlcheck"]).args(["--all-databases", "--check"]),
        p.deadline,
    )
    .map_err(|e| format!("cannot run mariadb-check: {e}"))?;
    let text = String::from_utf8_lossy(&check.stdout).into_owned();
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.to_lowercase();
            l.contains("error") || l.contains("corrupt") || l.contains("warning")
        })
        .collect();
    if check.status.success() && bad.is_empty() {
        rec.detail.push(format!(
            "mariadb-check --all-databases ok ({} table(s))",
            text.lines()
                .filter(|l| l.trim_end().ends_with("OK"))
                .count()
        ));
    } else {
        rec.fail(format!(
            "mariadb-check --all-databases: {}",
            if bad.is_empty() {
                String::from_utf8_lossy(&check.stderr).trim().to_string()
            } else {
                bad.into_iter().take(4).collect::<Vec<_>>().join(" | ")
            }
        ));
    }
    p.run_queries(
        client(&["mariadb", "mysql"]).args(["-N", "-B", "-e", "SHOW DATABASES"]),
        &|db, sql| {
            let mut c = client(&["mariadb", "mysql"]);
            c.args(["-N", "-B", "-e", sql, db]);
            c
        },
        rec,
    );
    let _ = output_by(
        Command::new(&admin)
            .arg(format!("--socket={}", socket.display()))
            .args(["-u", "root", "shutdown"]),
        p.deadline,
    );
    if server.stop(super::server::SIGTERM, Duration::from_secs(60)) {
        rec.detail.push("stopped cleanly".into());
    } else {
        rec.fail(format!("did not stop within 60 s: {}", log_tail(&log, 3)));
    }
    Ok(())
}
