//! PostgreSQL: start the restored cluster, let it recover, check it, stop it.
//!
//! The server runs as the data directory's owner with settings that keep it away from
//! production and from anything outside the drill:
//!
//! - no TCP (`listen_addresses=''`), its socket in a private directory of the scratch;
//! - its own configuration files (empty `postgresql.conf`, `pg_hba.conf` allowing only
//!   that socket), so nothing of the production configuration (archiving, replication,
//!   preloaded libraries) applies: Debian keeps those outside the data directory anyway;
//! - `archive_mode=off`, `max_wal_senders=0`, `hot_standby=off`, no `restore_command` or
//!   `primary_conninfo`, autovacuum off, small shared buffers, low priority.
//!
//! Ready means recovery finished: the server accepts connections only once it reached a
//! consistent state and replayed the WAL it has. A cluster whose WAL is incomplete ends
//! with a PANIC instead, and the drill fails with the server's own words.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::server::{log_tail, output_by, owner_of, user_name, wait_ready, Server};
use super::{original_path, CheckRecord, Prove};

/// True for a PostgreSQL data directory.
#[must_use]
pub fn is_data_dir(dir: &Path) -> bool {
    dir.join("PG_VERSION").is_file() && dir.join("global/pg_control").is_file()
}

/// The binaries of the version that wrote `data`: Debian's layout, else the PATH.
fn bin_dir(data: &Path) -> Option<PathBuf> {
    let version = std::fs::read_to_string(data.join("PG_VERSION")).ok()?;
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{}/bin", version.trim()));
    if debian.join("postgres").is_file() {
        return Some(debian);
    }
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).find(|d| d.join("postgres").is_file()))
}

/// Proves one restored cluster.
pub fn prove(data: &Path, p: &Prove<'_>) -> CheckRecord {
    let t = Instant::now();
    let mut rec = CheckRecord::new(&original_path(p.restored, data), "postgres");
    if let Err(e) = run(data, p, &mut rec) {
        rec.fail(e);
    }
    rec.seconds = t.elapsed().as_secs_f64();
    rec
}

fn run(data: &Path, p: &Prove<'_>, rec: &mut CheckRecord) -> Result<(), String> {
    let bin = bin_dir(data).ok_or_else(|| {
        "no PostgreSQL server binaries of this cluster's version are installed".to_string()
    })?;
    let owner = owner_of(data).map_err(|e| format!("cannot read the data directory: {e}"))?;
    let user = user_name(owner.0).unwrap_or_else(|| "postgres".into());
    let run = p.private_dir("pg", owner)?;
    let conf = run.join("postgresql.conf");
    let hba = run.join("pg_hba.conf");
    let ident = run.join("pg_ident.conf");
    std::fs::write(&conf, "")
        .and_then(|()| std::fs::write(&hba, "local all all trust\n"))
        .and_then(|()| std::fs::write(&ident, ""))
        .map_err(|e| format!("cannot write the drill's server configuration: {e}"))?;
    for f in [&conf, &hba, &ident] {
        let _ = super::server::give_to(f, owner);
    }
    p.reach(data);
    // A restored postmaster.pid would make the server refuse to start.
    let _ = std::fs::remove_file(data.join("postmaster.pid"));
    let log = run.join("server.log");
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D").arg(data);
    for (k, v) in [
        ("config_file", conf.display().to_string()),
        ("hba_file", hba.display().to_string()),
        ("ident_file", ident.display().to_string()),
        ("listen_addresses", String::new()),
        ("unix_socket_directories", run.display().to_string()),
        ("unix_socket_permissions", "0700".into()),
        ("port", "5432".into()),
        ("archive_mode", "off".into()),
        ("max_wal_senders", "0".into()),
        ("hot_standby", "off".into()),
        ("restore_command", String::new()),
        ("primary_conninfo", String::new()),
        ("shared_preload_libraries", String::new()),
        ("autovacuum", "off".into()),
        ("shared_buffers", "32MB".into()),
        ("max_connections", "20".into()),
        ("logging_collector", "off".into()),
        ("cluster_name", "umbra-drill".into()),
    ] {
        cmd.arg("-c").arg(format!("{k}={v}"));
    }
    let mut server = Server::start(cmd, owner, &log, "postgres")
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    p.scratch.add_server(server.pgid());
    let ready = || {
        output_by(
            Command::new(bin.join("pg_isready"))
                .arg("-h")
                .arg(&run)
                .args(["-p", "5432", "-q"]),
            p.deadline,
        )
        .is_ok_and(|o| o.status.success())
    };
    let took = wait_ready(&mut server, p.deadline, &ready)
        .map_err(|e| format!("{e}: {}", log_tail(&log, 4)))?;
    rec.detail.push(format!(
        "recovered and ready in {:.1} s",
        took.as_secs_f64()
    ));
    let client = |program: &str| {
        let mut c = Command::new(bin.join(program));
        c.arg("-h").arg(&run).args(["-p", "5432", "-U", &user]);
        c
    };
    if bin.join("pg_amcheck").is_file() {
        let out = output_by(
            client("pg_amcheck").args(["--all", "--install-missing"]),
            p.deadline,
        )
        .map_err(|e| format!("cannot run pg_amcheck: {e}"))?;
        if out.status.success() {
            rec.detail.push("pg_amcheck --all ok".into());
        } else {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            rec.fail(format!(
                "pg_amcheck --all: {}",
                text.lines().take(4).collect::<Vec<_>>().join(" | ")
            ));
        }
    } else {
        rec.detail
            .push("pg_amcheck is not installed (PostgreSQL 14 and later have it)".into());
    }
    p.run_queries(
        client("psql").args([
            "-d",
            "postgres",
            "-At",
            "-c",
            "SELECT datname FROM pg_database",
        ]),
        &|db, sql| {
            let mut c = client("psql");
            c.args(["-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);
            c
        },
        rec,
    );
    // Fast shutdown (SIGINT): a clean stop is part of the proof.
    if server.stop(super::server::SIGINT, Duration::from_secs(60)) {
        rec.detail.push("stopped cleanly".into());
    } else {
        rec.fail(format!("did not stop within 60 s: {}", log_tail(&log, 3)));
    }
    Ok(())
}
