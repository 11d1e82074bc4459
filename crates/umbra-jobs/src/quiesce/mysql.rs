//! The `mysql` quiescer, for MariaDB and MySQL.
//!
//! MariaDB (10.4 and later) has backup stages, which block less than a global read lock:
//! - prepare: `BACKUP STAGE START` and `BACKUP STAGE FLUSH` (flushes the
//!   non-transactional tables while writes go on);
//! - freeze: `BACKUP STAGE BLOCK_DDL` and `BACKUP STAGE BLOCK_COMMIT` (commits wait, which
//!   is what makes the binary log position and the data agree), then the binlog position;
//! - thaw: `BACKUP STAGE END`.
//!
//! Others (MySQL) get `FLUSH TABLES WITH READ LOCK` in the freeze and `UNLOCK TABLES` in
//! the thaw, with `LOCK INSTANCE FOR BACKUP` held from prepare to thaw on MySQL 8 (it keeps
//! DDL out). Only the MariaDB path is exercised by umbra's tests.
//!
//! A freeze statement that does not finish by the deadline (a long query can make a read
//! lock wait) is not left waiting on the server: its connection is killed from a second
//! one, which ends the statement and drops every lock it held or waited for.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Result, UmbraError};

use super::sql_session::{Session, MARKER};
use super::{Context, Quiescer};

const QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// How to reach the server: the client's own options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlConnection {
    pub socket: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// An option file with the password (`[client]\npassword=...`), read by the client.
    pub defaults_file: Option<PathBuf>,
}

impl MysqlConnection {
    fn session(&self) -> Result<Session> {
        let client = if which("mariadb") { "mariadb" } else { "mysql" };
        let mut cmd = Command::new(client);
        if let Some(f) = &self.defaults_file {
            let mut arg = std::ffi::OsString::from("--defaults-extra-file=");
            arg.push(f);
            cmd.arg(arg);
        }
        cmd.args([
            "--batch",
            "--skip-column-names",
            "--unbuffered",
            "--connect-timeout=10",
        ]);
        if let Some(s) = &self.socket {
            let mut arg = std::ffi::OsString::from("--socket=");
            arg.push(s);
            cmd.arg(arg);
        }
        if let Some(h) = &self.host {
            cmd.arg(format!("--host={h}"));
        }
        if let Some(p) = self.port {
            cmd.arg(format!("--port={p}"));
        }
        if let Some(u) = &self.user {
            cmd.arg(format!("--user={u}"));
        }
        Session::spawn(cmd, format!("SELECT '{MARKER}';"))
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

pub struct MysqlQuiescer {
    pub name: String,
    pub covers: Vec<PathBuf>,
    pub connection: MysqlConnection,
    session: Option<Session>,
    connection_id: String,
    mariadb_stages: bool,
    instance_lock: bool,
    log_bin: bool,
    frozen: bool,
    details: BTreeMap<String, String>,
}

impl MysqlQuiescer {
    #[must_use]
    pub fn new(name: String, covers: Vec<PathBuf>, connection: MysqlConnection) -> Self {
        Self {
            name,
            covers,
            connection,
            session: None,
            connection_id: String::new(),
            mariadb_stages: false,
            instance_lock: false,
            log_bin: false,
            frozen: false,
            details: BTreeMap::new(),
        }
    }

    fn query(&mut self, sql: &str, deadline: Instant) -> Result<Vec<Vec<String>>> {
        let name = self.name.clone();
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| UmbraError::new(ErrorKind::Internal, "no MySQL session"))?;
        let rows = session.query(sql, deadline).map_err(|e| {
            UmbraError::new(
                ErrorKind::JobFailed,
                format!("MySQL ({name}): {}", e.message()),
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| r.split('\t').map(str::to_string).collect())
            .collect())
    }

    /// Ends the session from a second connection: the server aborts whatever statement
    /// it was in and releases its locks.
    fn kill_session(&mut self) {
        if let Some(mut s) = self.session.take() {
            if let Ok(mut other) = self.connection.session() {
                let _ = other.query(
                    &format!("KILL {}", self.connection_id),
                    Instant::now() + Duration::from_secs(10),
                );
                other.close();
            }
            s.close();
        }
    }
}

impl Quiescer for MysqlQuiescer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn covers(&self) -> &[PathBuf] {
        &self.covers
    }

    fn prepare(&mut self, ctx: &Context<'_>) -> Result<()> {
        self.session = Some(self.connection.session()?);
        let deadline = Instant::now() + QUERY_TIMEOUT;
        let rows = self.query(
            "SELECT VERSION(), CONNECTION_ID(), @@datadir, @@log_bin",
            deadline,
        )?;
        let Some([version, id, datadir, log_bin]) = rows.first().map(Vec::as_slice) else {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!("MySQL ({}): unexpected answer {rows:?}", self.name),
            ));
        };
        let (version, id, datadir) = (
            version.clone(),
            id.clone(),
            PathBuf::from(datadir.trim_end_matches('/')),
        );
        self.log_bin = log_bin == "1";
        self.connection_id = id;
        let mariadb = version.contains("MariaDB");
        let number: Vec<u32> = version
            .split(['.', '-'])
            .take(2)
            .filter_map(|p| p.parse().ok())
            .collect();
        let at_least = |major: u32, minor: u32| number.as_slice() >= [major, minor].as_slice();
        self.mariadb_stages = mariadb && at_least(10, 4);
        self.details.insert("server".into(), version);
        self.details
            .insert("data_directory".into(), datadir.display().to_string());
        if self.covers.is_empty() {
            self.covers = vec![datadir.clone()];
        }
        ctx.require_snapshot(&datadir, &format!("MySQL ({})", self.name))?;
        if self.mariadb_stages {
            self.query("BACKUP STAGE START", deadline)?;
            self.query("BACKUP STAGE FLUSH", deadline)?;
        } else if !mariadb && at_least(8, 0) {
            self.query("LOCK INSTANCE FOR BACKUP", deadline)?;
            self.instance_lock = true;
        }
        Ok(())
    }

    fn freeze(&mut self, deadline: Instant) -> Result<()> {
        self.frozen = true;
        let result = (|| {
            if self.mariadb_stages {
                self.query("BACKUP STAGE BLOCK_DDL", deadline)?;
                self.query("BACKUP STAGE BLOCK_COMMIT", deadline)?;
            } else {
                self.query("FLUSH TABLES WITH READ LOCK", deadline)?;
            }
            if self.log_bin {
                let rows = self.query("SHOW MASTER STATUS", deadline)?;
                if let Some(r) = rows.first() {
                    self.details
                        .insert("binlog_file".into(), r.first().cloned().unwrap_or_default());
                    self.details.insert(
                        "binlog_position".into(),
                        r.get(1).cloned().unwrap_or_default(),
                    );
                }
                let gtid = if self.mariadb_stages {
                    "@@gtid_binlog_pos"
                } else {
                    "@@gtid_executed"
                };
                let rows = self.query(&format!("SELECT {gtid}"), deadline)?;
                if let Some(g) = rows
                    .first()
                    .and_then(|r| r.first())
                    .filter(|g| !g.is_empty())
                {
                    self.details.insert("gtid".into(), g.clone());
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Whatever it was waiting for or holding, the server drops with the session.
            self.kill_session();
        }
        result
    }

    fn thaw(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.frozen) || self.session.is_none() {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let result = if self.mariadb_stages {
            self.query("BACKUP STAGE END", deadline).map(drop)
        } else {
            let r = self.query("UNLOCK TABLES", deadline).map(drop);
            if self.instance_lock {
                self.instance_lock = false;
                r.and_then(|()| self.query("UNLOCK INSTANCE", deadline).map(drop))
            } else {
                r
            }
        };
        if result.is_err() {
            self.kill_session();
        }
        result
    }

    fn finish(&mut self, _backup_ok: bool) -> Result<()> {
        if let Some(mut s) = self.session.take() {
            s.close();
        }
        Ok(())
    }

    fn details(&self) -> BTreeMap<String, String> {
        self.details.clone()
    }
}
