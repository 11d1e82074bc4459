//! The classic pattern, for real: a PostgreSQL server from Debian's packages, its data
//! directory on a loop-mounted btrfs, under pgbench load. The job's `before` stops the
//! server, umbra snapshots, `after_snapshot` starts it again, and the backup is read from
//! the snapshot while the server already serves again. The restored data directory must
//! start cleanly with pgbench's balances adding up.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{as_postgres, have, is_root, pg_bin, require, Env, LoopFs};

/// A running server; stopped (immediately) on drop, so a failing test leaves none behind.
struct Server {
    bin: PathBuf,
    data: PathBuf,
}

impl Server {
    fn start(bin: &Path, data: &Path, port: u16, sock: &Path, log: &Path) -> Self {
        let st = as_postgres(bin, "pg_ctl")
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(log)
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=''",
                sock.display()
            ))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl");
        assert!(
            st.success(),
            "the server did not start: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
        Self {
            bin: bin.to_path_buf(),
            data: data.to_path_buf(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn psql(bin: &Path, sock: &Path, port: u16, sql: &str) -> String {
    let out = as_postgres(bin, "psql")
        .args(["-X", "-A", "-t", "-h"])
        .arg(sock)
        .args(["-p", &port.to_string(), "-d", "postgres", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Running pgbench clients; stopped on drop, also when a test fails.
struct Load {
    child: Child,
    stop: PathBuf,
}

impl Load {
    fn stop(&mut self) {
        let _ = fs::write(&self.stop, "");
        let _ = self.child.wait();
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop();
    }
}

/// pgbench clients, restarted whenever the server goes away, until stopped.
fn load(bin: &Path, sock: &Path, port: u16, stop: &Path) -> Load {
    Load {
        child: load_child(bin, sock, port, stop),
        stop: stop.to_path_buf(),
    }
}

fn load_child(bin: &Path, sock: &Path, port: u16, stop: &Path) -> Child {
    let script = format!(
        "while [ ! -e {stop} ]; do {pgbench} -n -c 2 -T 2 -h {sock} -p {port} postgres >/dev/null 2>&1; sleep 0.05; done",
        stop = stop.display(),
        pgbench = bin.join("pgbench").display(),
        sock = sock.display(),
    );
    Command::new("runuser")
        .args(["-u", "postgres", "--", "sh", "-c", &script])
        .spawn()
        .expect("load")
}

const BALANCES_ADD_UP: &str = "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(bbalance) FROM pgbench_branches) \
     AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(bbalance) FROM pgbench_branches) \
     AND (SELECT coalesce(sum(delta), 0) FROM pgbench_history) = (SELECT sum(bbalance) FROM pgbench_branches)";

/// A PostgreSQL cluster on a btrfs loop device, initialised for pgbench (scale 5), with
/// its server running. `offset` keeps the ports of tests running side by side apart.
struct Cluster {
    env: Env,
    fs_: LoopFs,
    bin: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    port: u16,
    log: PathBuf,
    server: Server,
}

fn cluster(offset: u16) -> Option<Cluster> {
    let bin = pg_bin();
    if !require(
        is_root(),
        "root, for a btrfs loop device and the postgres user",
    ) || !require(
        bin.is_some(),
        "PostgreSQL's server and pgbench (apt install postgresql; see .ci/run)",
    ) || !require(have("runuser"), "runuser (util-linux)")
    {
        return None;
    }
    let bin = bin.expect("checked");
    let env = Env::new();
    env.init();
    // The postgres user must reach the data directory and the socket.
    fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let fs_ = LoopFs::new("btrfs", env.dir.path(), 1500)?;
    let data = fs_.path("pgdata");
    let sock = env.path("sock");
    common::initdb(&bin, &data, &sock);
    let port = 20000 + (std::process::id() % 10000) as u16 + offset;
    let log = env.path("server.log");
    common::sh(&format!("touch {0} && chown postgres {0}", log.display()));
    let server = Server::start(&bin, &data, port, &sock, &log);
    let st = as_postgres(&bin, "pgbench")
        .args(["-i", "-q", "-s", "5", "-h"])
        .arg(&sock)
        .args(["-p", &port.to_string(), "postgres"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("pgbench -i");
    assert!(st.success(), "pgbench -i failed");
    Some(Cluster {
        env,
        fs_,
        bin,
        data,
        sock,
        port,
        log,
        server,
    })
}

#[test]
fn stop_snapshot_start_backs_up_postgres_with_seconds_of_downtime() {
    let Some(Cluster {
        env,
        fs_,
        bin,
        data,
        sock,
        port,
        log,
        server,
    }) = cluster(0)
    else {
        return;
    };
    let stop = env.path("stop-load");
    let mut clients = load(&bin, &sock, port, &stop);
    std::thread::sleep(Duration::from_secs(3));

    let pg_ctl = bin.join("pg_ctl").display().to_string();
    let config = env.path("umbra.toml");
    fs::write(
        &config,
        format!(
            r#"[repository]
path = "{repo}"
password_file = "{pw}"

[jobs.db]
sources = [{{ path = "{data}", open_files = "required" }}]
tags = ["db"]

[jobs.db.hooks]
before = [["runuser", "-u", "postgres", "--", "{pg_ctl}", "-D", "{data}", "-m", "fast", "-w", "stop"]]
after_snapshot = [
  ["runuser", "-u", "postgres", "--", "{pg_ctl}", "-D", "{data}", "-l", "{log}", "-o", "-p {port} -k {sock} -c listen_addresses=''", "-w", "start"],
  'test -f "${{UMBRA_SNAPSHOT_PATHS#*=}}/PG_VERSION" && echo "$UMBRA_SNAPSHOT_PATHS" > {paths}',
]
"#,
            repo = env.repo().display(),
            pw = env.path("password").display(),
            data = data.display(),
            log = log.display(),
            sock = sock.display(),
            paths = env.path("snapshot-paths").display(),
        ),
    )
    .expect("config");
    let out = env
        .umbra_with_config(&config)
        .args(["run", "db"])
        .output()
        .expect("umbra run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("downtime: "),
        "the downtime is not printed: {stdout}"
    );
    // The server is back and serving while we look.
    assert_eq!(psql(&bin, &sock, port, "SELECT 1"), "1");
    clients.stop();
    let live_history: u64 = psql(&bin, &sock, port, "SELECT count(*) FROM pgbench_history")
        .parse()
        .expect("count");
    drop(server);

    // after_snapshot saw the snapshot, not the live directory.
    let paths = fs::read_to_string(env.path("snapshot-paths")).expect("after_snapshot ran");
    let (source, snapshot) = paths.trim().split_once('=').expect("SOURCE=PATH");
    assert_eq!(source, data.display().to_string());
    assert!(snapshot.contains(".umbra-snapshots/"), "{snapshot}");

    let hist = env
        .umbra_with_config(&config)
        .args(["--json", "history", "db"])
        .output()
        .expect("history");
    let run: serde_json::Value = serde_json::from_slice(&hist.stdout).expect("json");
    let downtime = run["downtime_seconds"].as_f64().expect("downtime recorded");
    let phase = |name: &str| {
        run["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .find(|p| p["phase"] == name)
            .and_then(|p| p["seconds"].as_f64())
            .expect("phase")
    };
    let (before, snap, after_snap, backup, total) = (
        phase("before"),
        phase("snapshot"),
        phase("after_snapshot"),
        phase("backup"),
        run["seconds"].as_f64().expect("seconds"),
    );
    eprintln!(
        "measured: before (pg_ctl stop) {before:.3} s; downtime {downtime:.3} s = snapshot {snap:.3} s + after_snapshot {after_snap:.3} s; \
         backup {backup:.3} s; whole run {total:.3} s; pgbench history rows {live_history}"
    );
    // The downtime spans the snapshot and the restart, and none of the reading.
    assert!(downtime >= snap + after_snap);
    assert!(downtime <= total - backup);
    assert_eq!(run["status"], "success");
    let record = &env.ok(&["--json", "show", "latest"]);
    assert!(record.contains("\"volume-snapshot\""), "{record}");
    // Nothing of the snapshot is left but the base kept for the next run (the cluster's
    // relation files are cut in fixed-size chunks, issue #22): one subvolume, on record,
    // which `umbra cleanup` releases.
    assert!(common::mounts_below(&fs_.mount).is_empty());
    let umbra_subvolumes = || {
        common::sh(&format!("btrfs subvolume list {}", fs_.mount.display()))
            .lines()
            .filter(|l| l.contains("/umbra-"))
            .count()
    };
    let bases = || std::fs::read_dir(env.path("state/bases")).map_or(0, Iterator::count);
    assert_eq!(
        (umbra_subvolumes(), bases()),
        (1, 1),
        "{}",
        common::sh(&format!("btrfs subvolume list {}", fs_.mount.display()))
    );
    let cleanup = env
        .umbra_with_config(&config)
        .arg("cleanup")
        .output()
        .expect("cleanup");
    assert!(cleanup.status.success());
    assert_eq!((umbra_subvolumes(), bases()), (0, 0));

    // Restore, and start a server on the restored directory.
    let target = env.restore_latest("restored");
    let restored = common::restored_path(&target, &data);
    // The restored cluster starts as restored: no chown, no chmod of its files.
    common::open_path_to(&restored);
    let log2 = env.path("restored.log");
    common::sh(&format!("touch {0} && chown postgres {0}", log2.display()));
    let port2 = port + 1;
    let restored_server = Server::start(&bin, &restored, port2, &sock, &log2);
    let server_log = fs::read_to_string(&log2).unwrap_or_default();
    assert!(
        server_log.contains("database system was shut down at"),
        "the restored cluster did not come from a clean shutdown:\n{server_log}"
    );
    assert_eq!(
        psql(&bin, &sock, port2, BALANCES_ADD_UP),
        "t",
        "pgbench's balances do not add up"
    );
    assert_eq!(
        psql(&bin, &sock, port2, "SELECT count(*) FROM pgbench_accounts"),
        "500000"
    );
    let rows: u64 = psql(&bin, &sock, port2, "SELECT count(*) FROM pgbench_history")
        .parse()
        .expect("count");
    assert!(rows > 0, "the load wrote nothing before the backup");
    assert!(rows <= live_history);
    drop(restored_server);
}

#[test]
fn the_postgres_quiescer_backs_up_under_load_and_the_copy_recovers() {
    let Some(Cluster {
        env,
        fs_,
        bin,
        data,
        sock,
        port,
        log: _,
        server,
    }) = cluster(10)
    else {
        return;
    };
    let stop = env.path("stop-load");
    let mut clients = load(&bin, &sock, port, &stop);
    std::thread::sleep(Duration::from_secs(2));
    let config = env.path("umbra.toml");
    let job = |user: &str| {
        format!(
            r#"[repository]
path = "{repo}"
password_file = "{pw}"

[jobs.db]
sources = ["{data}"]

[[jobs.db.quiesce]]
type = "postgres"
name = "main"
connection = "host={sock} port={port} user={user} dbname=postgres"
"#,
            repo = env.repo().display(),
            pw = env.path("password").display(),
            data = data.display(),
            sock = sock.display(),
        )
    };
    let umbra = || env.umbra_with_config(&config);
    // A role without the backup functions gets the GRANTs it needs, and nothing is saved.
    psql(&bin, &sock, port, "CREATE ROLE nobackup LOGIN");
    fs::write(&config, job("nobackup")).expect("config");
    let out = umbra().args(["run", "db"]).output().expect("umbra run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lacks what a backup needs on PostgreSQL (main): GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO \"nobackup\"; GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO \"nobackup\"; GRANT pg_read_all_settings TO \"nobackup\";"),
        "{err}"
    );

    fs::write(&config, job("postgres")).expect("config");
    let mut windows = Vec::new();
    for _ in 0..3 {
        let out = umbra().args(["run", "db"]).output().expect("umbra run");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let snap: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "show", "latest"])).expect("json");
        let rec = &snap["consistency"];
        assert_eq!(rec["sources"][0]["level"], "app-consistent");
        let q = &rec["quiesced"][0];
        assert_eq!(q["kind"], "postgres");
        assert!(
            q["details"]["start_lsn"].is_string() && q["details"]["stop_lsn"].is_string(),
            "{q}"
        );
        assert!(q["details"]["wal_segments"].is_string(), "{q}");
        windows.push(q["freeze_us"].as_u64().expect("window") as f64 / 1000.0);
    }
    // The same from the command line, through the same pipeline: `umbra backup
    // --quiesce postgres:CONNINFO`. The restore below is of this ad-hoc snapshot.
    let flag = format!(
        "postgres:host={} port={port} user=postgres dbname=postgres",
        sock.display()
    );
    let (code, summary) = env.backup_json(&[&data], &["--quiesce", &flag]);
    assert_eq!(code, Some(0), "{summary}");
    let rec = &summary["consistency"];
    assert_eq!(rec["sources"][0]["level"], "app-consistent", "{summary}");
    assert_eq!(rec["quiesced"][0]["kind"], "postgres", "{summary}");
    assert_eq!(rec["quiesced"][0]["name"], "postgres-1", "{summary}");
    windows.push(rec["quiesced"][0]["freeze_us"].as_u64().expect("window") as f64 / 1000.0);
    eprintln!(
        "measured: freeze windows (snapshot..pg_backup_stop) under pgbench load, 3 job runs and one ad-hoc backup: {windows:?} ms"
    );
    // The live server was never left in backup mode.
    assert_eq!(psql(&bin, &sock, port, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = 'umbra'"), "0");
    clients.stop();
    drop(server);
    assert!(common::mounts_below(&fs_.mount).is_empty());

    let target = env.restore_latest("restored");
    let restored = common::restored_path(&target, &data);
    assert!(
        restored.join("backup_label").exists(),
        "no backup_label in the backup"
    );
    assert!(
        !data.join("backup_label").exists(),
        "backup_label was left in the live cluster"
    );
    // The restored cluster starts as restored: no chown, no chmod of its files. What the
    // quiescer added (backup_label, the WAL segments) belongs to postgres like the rest.
    common::open_path_to(&restored);
    common::assert_owned_by(&restored, "postgres");
    common::assert_owned_by(&restored.join("backup_label"), "postgres");
    for wal in fs::read_dir(restored.join("pg_wal")).expect("pg_wal") {
        let wal = wal.expect("entry").path();
        common::assert_owned_by(&wal, "postgres");
    }
    let log2 = env.path("restored.log");
    common::sh(&format!("touch {0} && chown postgres {0}", log2.display()));
    let restored_server = Server::start(&bin, &restored, port + 1, &sock, &log2);
    let server_log = fs::read_to_string(&log2).unwrap_or_default();
    assert!(
        server_log.contains("starting backup recovery")
            && server_log.contains("consistent recovery state reached"),
        "the restored cluster did not recover from the backup label:\n{server_log}"
    );
    assert_eq!(
        psql(&bin, &sock, port + 1, BALANCES_ADD_UP),
        "t",
        "pgbench's balances do not add up"
    );
    assert_eq!(
        psql(
            &bin,
            &sock,
            port + 1,
            "SELECT count(*) FROM pgbench_accounts"
        ),
        "500000"
    );
    drop(restored_server);
}
