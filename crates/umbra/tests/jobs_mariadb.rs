//! The `mysql` quiescer against a real MariaDB server (Debian's `mariadb-server`) on a
//! btrfs loop device, under a ledger load: every transaction moves one unit between two
//! accounts and logs the move. Backups taken during the load restore to a server that
//! starts and whose ledger adds up; a freeze that outlasts its bound fails the run and
//! leaves no lock on the server.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{have, is_root, require, Env, LoopFs};

/// A running `mariadbd`; shut down on drop.
struct Server {
    child: Child,
    socket: PathBuf,
}

impl Server {
    fn start(datadir: &Path, socket: &Path, log: &Path) -> Self {
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg("--user=mysql")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--pid-file={}.pid", socket.display()))
            .args(["--skip-networking", "--server-id=1"])
            // Relative, so that binlog.index stays valid where the data directory is restored.
            .arg("--log-bin=binlog")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd");
        let server = Self {
            child,
            socket: socket.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client(socket)
                .args(["-e", "SELECT 1"])
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "mariadbd did not start: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = client(&self.socket).args(["-e", "SHUTDOWN"]).output();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(socket: &Path) -> Command {
    let mut c = Command::new("mariadb");
    c.arg(format!("--socket={}", socket.display())).args([
        "--user=root",
        "--batch",
        "--skip-column-names",
    ]);
    c
}

fn sql(socket: &Path, q: &str) -> String {
    let out = client(socket).args(["-e", q]).output().expect("mariadb");
    assert!(
        out.status.success(),
        "{q}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Clients moving money until dropped.
struct Load(Child);

impl Drop for Load {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: signalling the load's own process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.0.wait();
    }
}

fn load(socket: &Path) -> Load {
    let tx = "SET @a = FLOOR(RAND() * 10), @b = FLOOR(RAND() * 10); START TRANSACTION; \
              UPDATE acct SET bal = bal - 1 WHERE id = @a; UPDATE acct SET bal = bal + 1 WHERE id = @b; \
              INSERT INTO moves VALUES (@a, @b); COMMIT;";
    let script = format!(
        "yes '{tx}' | mariadb --socket={} --user=root bank >/dev/null 2>&1",
        socket.display()
    );
    Load(
        Command::new("sh")
            .args(["-c", &script])
            .process_group(0)
            .spawn()
            .expect("load"),
    )
}

const LEDGER_BAD: &str = "SELECT (SELECT SUM(bal) FROM bank.acct) != 1000 \
    OR EXISTS (SELECT 1 FROM bank.acct WHERE bal != 100 \
       - (SELECT COUNT(*) FROM bank.moves WHERE a = acct.id) \
       + (SELECT COUNT(*) FROM bank.moves WHERE b = acct.id))";

#[test]
fn mariadb_under_load_backs_up_consistently_and_never_stays_locked() {
    if !require(
        is_root(),
        "root, for a btrfs loop device and the mysql user",
    ) || !require(
        have("mariadbd") && have("mariadb-install-db"),
        "MariaDB's server (apt install mariadb-server; see .ci/run)",
    ) {
        return;
    }
    let env = Env::new();
    env.init();
    fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let Some(fs_) = LoopFs::new("btrfs", env.dir.path(), 800) else {
        return;
    };
    let datadir = fs_.path("mysql");
    let run_dir = env.path("run");
    for d in [&datadir, &run_dir] {
        fs::create_dir_all(d).expect("mkdir");
        common::sh(&format!("chown mysql:mysql {}", d.display()));
    }
    let st = Command::new("mariadb-install-db")
        .args([
            "--no-defaults",
            "--user=mysql",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .arg(format!("--datadir={}", datadir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("mariadb-install-db");
    assert!(st.success(), "mariadb-install-db failed");
    let socket = run_dir.join("live.sock");
    let server = Server::start(&datadir, &socket, &run_dir.join("live.err"));
    let mut setup = String::from(
        "CREATE DATABASE bank; CREATE TABLE bank.acct (id INT PRIMARY KEY, bal INT NOT NULL) ENGINE=InnoDB; \
         CREATE TABLE bank.moves (a INT, b INT) ENGINE=InnoDB; ",
    );
    for i in 0..10 {
        setup.push_str(&format!("INSERT INTO bank.acct VALUES ({i}, 100); "));
    }
    sql(&socket, &setup);
    let mut moving = Some(load(&socket));
    std::thread::sleep(Duration::from_secs(1));

    let config = env.path("umbra.toml");
    let job = |bound: &str| {
        format!(
            "[repository]\npath = \"{}\"\npassword_file = \"{}\"\n\n[jobs.db]\nsources = [\"{}\"]\nfreeze_timeout = \"{bound}\"\n\n\
             [[jobs.db.quiesce]]\ntype = \"mysql\"\nname = \"bank\"\nsocket = \"{}\"\nuser = \"root\"\n",
            env.repo().display(),
            env.path("password").display(),
            datadir.display(),
            socket.display()
        )
    };
    let umbra = || env.umbra_with_config(&config);

    // A bound too short for any freeze: the run fails, and the server is not left locked.
    fs::write(&config, job("1ms")).expect("config");
    let out = umbra().args(["run", "db"]).output().expect("umbra run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the freeze outlasted its 0.0 s bound"),
        "{err}"
    );
    let before: u64 = sql(&socket, "SELECT COUNT(*) FROM bank.moves")
        .parse()
        .expect("count");
    let started = Instant::now();
    sql(&socket, "SET SESSION lock_wait_timeout = 5; START TRANSACTION; UPDATE bank.acct SET bal = bal WHERE id = 0; COMMIT");
    std::thread::sleep(Duration::from_millis(500));
    let after: u64 = sql(&socket, "SELECT COUNT(*) FROM bank.moves")
        .parse()
        .expect("count");
    assert!(
        after > before,
        "commits do not go through after the failed freeze"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a commit waited for a lock"
    );
    assert_eq!(
        sql(
            &socket,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'BACKUP STAGE%'"
        ),
        "0"
    );

    fs::write(&config, job("10s")).expect("config");
    let mut windows = Vec::new();
    for _ in 0..3 {
        let out = umbra().args(["run", "db"]).output().expect("umbra run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let snap: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "show", "latest"])).expect("json");
        let rec = &snap["consistency"];
        assert_eq!(rec["sources"][0]["level"], "app-consistent");
        let q = &rec["quiesced"][0];
        assert_eq!(q["kind"], "mysql");
        assert!(
            q["details"]["binlog_file"]
                .as_str()
                .is_some_and(|f| f.starts_with("binlog.")),
            "{q}"
        );
        assert!(q["details"]["gtid"].is_string(), "{q}");
        windows.push(q["freeze_us"].as_u64().expect("window") as f64 / 1000.0);
    }
    // The same from the command line, through the same pipeline: `umbra backup
    // --quiesce mysql:SOCKET`. The restore below is of this ad-hoc snapshot.
    let flag = format!("mysql:{}", socket.display());
    let (code, summary) = env.backup_json(&[&datadir], &["--quiesce", &flag]);
    assert_eq!(code, Some(0), "{summary}");
    let rec = &summary["consistency"];
    assert_eq!(rec["sources"][0]["level"], "app-consistent", "{summary}");
    assert_eq!(rec["quiesced"][0]["kind"], "mysql", "{summary}");
    windows.push(rec["quiesced"][0]["freeze_us"].as_u64().expect("window") as f64 / 1000.0);
    eprintln!(
        "measured: BACKUP STAGE BLOCK_DDL..END windows under load, 3 job runs and one ad-hoc backup: {windows:?} ms"
    );
    drop(moving.take());
    assert_eq!(
        sql(&socket, LEDGER_BAD),
        "0",
        "the live ledger itself is broken"
    );
    drop(server);

    let target = env.restore_latest("restored");
    let restored = common::restored_path(&target, &datadir);
    // The restored server starts as restored: no chown of its files.
    common::open_path_to(&restored);
    common::assert_owned_by(&restored, "mysql");
    let socket2 = run_dir.join("restored.sock");
    let restored_server = Server::start(&restored, &socket2, &run_dir.join("restored.err"));
    assert_eq!(
        sql(&socket2, LEDGER_BAD),
        "0",
        "the restored ledger does not add up"
    );
    let moves = sql(&socket2, "SELECT COUNT(*) FROM bank.moves");
    eprintln!("restored ledger: {moves} moves, balances consistent");
    drop(restored_server);
}
