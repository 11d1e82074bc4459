//! The `postgres` quiescer: PostgreSQL's backup mode around the snapshot set.
//!
//! - prepare: connect (one `psql` session, kept for the whole run), find the data
//!   directory, check the role may run the backup functions (else: the GRANTs it needs),
//!   warn when `pg_wal` or a tablespace lies outside the snapshotted sources, and start
//!   the backup: `pg_backup_start('umbra', fast => true)`. Backup mode blocks no one, so
//!   its checkpoint stays out of the window.
//! - freeze: nothing; the snapshot is the consistent point.
//! - thaw: `pg_backup_stop(wait_for_archive => false)`, which returns the backup_label
//!   and tablespace_map, and the WAL position where the backup ends.
//! - after the thaw: the backup needs the WAL from its start to that end, and the
//!   snapshot ends before the end record; so the WAL segments from start to end are
//!   copied from the live `pg_wal` and stored in the snapshot's `pg_wal`, and backup_label
//!   and tablespace_map are stored at the root of the data directory. A restored cluster
//!   then starts by recovering exactly to the end of the backup.
//!
//! The data directory must be read from a snapshot (btrfs, LVM, ZFS, or reflink clones
//! made inside the window): a direct read happens after `pg_backup_stop`, when the backup
//! mode no longer protects it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Method, Result, Substitute, UmbraError};

use super::sql_session::{Session, MARKER};
use super::{Context, Quiescer};

/// Time allowed for the queries outside the freeze window.
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);

pub struct PostgresQuiescer {
    pub name: String,
    pub covers: Vec<PathBuf>,
    pub connection: String,
    pub os_user: Option<String>,
    pub password_file: Option<PathBuf>,
    session: Option<Session>,
    data_dir: PathBuf,
    version: u32,
    staging: PathBuf,
    started: bool,
    stop: Option<(String, String, String, String)>,
    details: BTreeMap<String, String>,
    substitutes: Vec<Substitute>,
}

impl PostgresQuiescer {
    #[must_use]
    pub fn new(
        name: String,
        covers: Vec<PathBuf>,
        connection: String,
        os_user: Option<String>,
        password_file: Option<PathBuf>,
    ) -> Self {
        Self {
            name,
            covers,
            connection,
            os_user,
            password_file,
            session: None,
            data_dir: PathBuf::new(),
            version: 0,
            staging: PathBuf::new(),
            started: false,
            stop: None,
            details: BTreeMap::new(),
            substitutes: Vec::new(),
        }
    }

    fn session(&mut self) -> Result<&mut Session> {
        self.session
            .as_mut()
            .ok_or_else(|| UmbraError::new(ErrorKind::Internal, "no PostgreSQL session"))
    }

    fn query(&mut self, sql: &str, deadline: Instant) -> Result<Vec<String>> {
        let name = self.name.clone();
        self.session()?.query(sql, deadline).map_err(|e| {
            UmbraError::new(
                ErrorKind::JobFailed,
                format!("PostgreSQL ({name}): {}", e.message()),
            )
        })
    }

    fn one(&mut self, sql: &str) -> Result<Vec<String>> {
        let rows = self.query(sql, Instant::now() + QUERY_TIMEOUT)?;
        Ok(rows
            .first()
            .map(|r| r.split('|').map(str::to_string).collect())
            .unwrap_or_default())
    }

    /// `pg_wal` and tablespaces whose storage is outside every snapshotted source.
    fn outside_the_snapshot(&self, ctx: &Context<'_>) -> Vec<String> {
        let snapshotted = |p: &Path| {
            std::fs::canonicalize(p).ok().is_some_and(|real| {
                ctx.sources
                    .iter()
                    .any(|(s, m)| *m != Method::Direct && real.starts_with(s))
            })
        };
        let mut outside = Vec::new();
        let wal = self.data_dir.join("pg_wal");
        if !snapshotted(&wal) {
            outside.push(format!(
                "pg_wal ({})",
                std::fs::canonicalize(&wal).unwrap_or(wal).display()
            ));
        }
        if let Ok(entries) = std::fs::read_dir(self.data_dir.join("pg_tblspc")) {
            for e in entries.filter_map(|e| e.ok()) {
                if !snapshotted(&e.path()) {
                    let real = std::fs::canonicalize(e.path()).unwrap_or(e.path());
                    outside.push(format!(
                        "tablespace {} ({})",
                        e.file_name().to_string_lossy(),
                        real.display()
                    ));
                }
            }
        }
        outside
    }
}

/// A `psql` session (as `os_user` through `runuser` if given, for peer authentication;
/// with `password_file` as PGPASSFILE if given).
fn psql(conninfo: &str, os_user: Option<&str>, password_file: Option<&Path>) -> Result<Session> {
    let mut cmd = match os_user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--", "psql"]);
            c
        }
        None => Command::new("psql"),
    };
    cmd.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-F",
        "|",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        conninfo,
    ])
    .env("PGAPPNAME", "umbra");
    if let Some(pf) = password_file {
        cmd.env("PGPASSFILE", pf);
    }
    Session::spawn(cmd, format!("\\echo {MARKER}"))
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The WAL file named in backup_label's `START WAL LOCATION: 0/2000028 (file 0000...)`.
fn start_segment(label: &str) -> Option<String> {
    let line = label
        .lines()
        .find(|l| l.starts_with("START WAL LOCATION:"))?;
    let file = line.split("(file ").nth(1)?.trim_end_matches(')').trim();
    Some(file.to_string())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| UmbraError::io("cannot write", path, e))
}

impl Quiescer for PostgresQuiescer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn covers(&self) -> &[PathBuf] {
        &self.covers
    }

    fn prepare(&mut self, ctx: &Context<'_>) -> Result<()> {
        self.session = Some(psql(
            &self.connection,
            self.os_user.as_deref(),
            self.password_file.as_deref(),
        )?);
        let row = self.one("SELECT current_setting('server_version_num'), current_user")?;
        let [version, role] = row.as_slice() else {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!("PostgreSQL ({}): unexpected answer {row:?}", self.name),
            ));
        };
        self.version = version.parse().unwrap_or(0);
        let role = role.clone();
        let (start_fn, stop_fn) = if self.version >= 150_000 {
            ("pg_backup_start(text, boolean)", "pg_backup_stop(boolean)")
        } else {
            (
                "pg_start_backup(text, boolean, boolean)",
                "pg_stop_backup(boolean, boolean)",
            )
        };
        // Checked before anything that needs them, so that the error lists every GRANT.
        let rights = self.one(&format!(
            "SELECT has_function_privilege('{start_fn}', 'EXECUTE'), has_function_privilege('{stop_fn}', 'EXECUTE'), \
             pg_has_role('pg_read_all_settings', 'USAGE')"
        ))?;
        let yes = |i: usize| rights.get(i).map(String::as_str) == Some("t");
        let mut grants = Vec::new();
        if !yes(0) {
            grants.push(format!(
                "GRANT EXECUTE ON FUNCTION {start_fn} TO \"{role}\";"
            ));
        }
        if !yes(1) {
            grants.push(format!(
                "GRANT EXECUTE ON FUNCTION {stop_fn} TO \"{role}\";"
            ));
        }
        if !yes(2) {
            grants.push(format!("GRANT pg_read_all_settings TO \"{role}\";"));
        }
        if !grants.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!(
                    "the role `{role}` lacks what a backup needs on PostgreSQL ({}): {}",
                    self.name,
                    grants.join(" ")
                ),
            )
            .with_hint(format!("As a superuser, run: {}", grants.join(" "))));
        }
        let row = self.one("SELECT current_setting('data_directory'), pg_is_in_recovery()")?;
        let [dir, recovery] = row.as_slice() else {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!("PostgreSQL ({}): unexpected answer {row:?}", self.name),
            ));
        };
        self.data_dir = PathBuf::from(dir);
        if recovery == "t" {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!(
                    "PostgreSQL ({}) is a standby; backing up a standby is not supported yet",
                    self.name
                ),
            )
            .with_hint("Point `connection` at the primary."));
        }
        if self.covers.is_empty() {
            self.covers = vec![self.data_dir.clone()];
        }
        ctx.require_snapshot(&self.data_dir, &format!("PostgreSQL ({})", self.name))?;
        let outside = self.outside_the_snapshot(ctx);
        if !outside.is_empty() {
            self.details.insert(
                "warning".into(),
                format!(
                    "outside the snapshot set, so not in this backup: {}",
                    outside.join(", ")
                ),
            );
        }
        // Backup mode blocks no one: it only makes the WAL carry full pages. So it starts
        // here, before the window, with its (fast) checkpoint, and only the snapshot and
        // pg_backup_stop fall inside the window.
        let sql = if self.version >= 150_000 {
            "SELECT pg_backup_start('umbra', true)"
        } else {
            "SELECT pg_start_backup('umbra', true, false)"
        };
        self.started = true;
        let rows = self.query(sql, Instant::now() + QUERY_TIMEOUT)?;
        if let Some(lsn) = rows.first() {
            self.details.insert("start_lsn".into(), lsn.clone());
        }
        self.staging = ctx.staging.join(format!("postgres-{}", self.name));
        std::fs::create_dir_all(self.staging.join("pg_wal"))
            .map_err(|e| UmbraError::io("cannot create", &self.staging, e))?;
        self.details
            .insert("data_directory".into(), self.data_dir.display().to_string());
        self.details
            .insert("server_version_num".into(), self.version.to_string());
        Ok(())
    }

    fn freeze(&mut self, _deadline: Instant) -> Result<()> {
        // The consistent point is the snapshot itself, replayed from the backup's start.
        Ok(())
    }

    fn thaw(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.started) {
            return Ok(());
        }
        let stop = if self.version >= 150_000 {
            "pg_backup_stop(false)"
        } else {
            "pg_stop_backup(false, true)"
        };
        let sql = format!(
            "SELECT lsn, pg_walfile_name(lsn), translate(encode(convert_to(labelfile, 'UTF8'), 'base64'), E'\\n', ''), \
             translate(encode(convert_to(coalesce(spcmapfile, ''), 'UTF8'), 'base64'), E'\\n', '') FROM {stop}"
        );
        let rows = self.query(&sql, Instant::now() + Duration::from_secs(60))?;
        let fields: Vec<String> = rows
            .first()
            .map(|r| r.split('|').map(str::to_string).collect())
            .unwrap_or_default();
        let [lsn, file, label, spcmap] = fields.as_slice() else {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!(
                    "PostgreSQL ({}): unexpected answer from pg_backup_stop",
                    self.name
                ),
            ));
        };
        self.stop = Some((lsn.clone(), file.clone(), label.clone(), spcmap.clone()));
        Ok(())
    }

    fn after_thaw(&mut self) -> Result<()> {
        let Some((lsn, stop_file, label, spcmap)) = self.stop.take() else {
            return Err(UmbraError::new(
                ErrorKind::Internal,
                "pg_backup_stop gave nothing",
            ));
        };
        self.details.insert("stop_lsn".into(), lsn);
        let label = decode_base64(&label);
        let label_path = self.staging.join("backup_label");
        write(&label_path, &label)?;
        self.substitutes.push(Substitute {
            named: self.data_dir.join("backup_label"),
            staged: label_path,
        });
        let spcmap = decode_base64(&spcmap);
        if !spcmap.is_empty() {
            let p = self.staging.join("tablespace_map");
            write(&p, &spcmap)?;
            self.substitutes.push(Substitute {
                named: self.data_dir.join("tablespace_map"),
                staged: p,
            });
        }
        let start_file = start_segment(&String::from_utf8_lossy(&label)).ok_or_else(|| {
            UmbraError::new(
                ErrorKind::JobFailed,
                "the backup_label names no start WAL file",
            )
        })?;
        let live_wal = self.data_dir.join("pg_wal");
        if std::fs::symlink_metadata(&live_wal).is_ok_and(|m| m.file_type().is_symlink()) {
            self.details.insert("wal".into(), "pg_wal is a symlink: its segments are not added; archive WAL (restore_command) to restore this backup".into());
            return Ok(());
        }
        let mut copied = 0;
        let entries = std::fs::read_dir(&live_wal)
            .map_err(|e| UmbraError::io("cannot list", &live_wal, e))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
            .filter(|n| n.len() == 24 && n.chars().all(|c| c.is_ascii_hexdigit()))
            .filter(|n| n[..8] == start_file[..8] && *n >= start_file && *n <= stop_file)
            .collect();
        names.sort();
        if names.first() != Some(&start_file) || names.last() != Some(&stop_file) {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                format!(
                    "the WAL from {start_file} to {stop_file} is no longer all in {}",
                    live_wal.display()
                ),
            )
            .with_hint("A checkpoint removed it; run the job again (or archive WAL)."));
        }
        for n in &names {
            let staged = self.staging.join("pg_wal").join(n);
            let from = live_wal.join(n);
            std::fs::copy(&from, &staged).map_err(|e| UmbraError::io("cannot copy", &from, e))?;
            self.substitutes.push(Substitute {
                named: from,
                staged,
            });
            copied += 1;
        }
        self.details.insert(
            "wal_segments".into(),
            format!("{copied} ({start_file} to {stop_file})"),
        );
        Ok(())
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

    fn substitutes(&self) -> (Vec<Substitute>, Vec<PathBuf>) {
        // As pg_basebackup: the running server's pid file would stop a restored server
        // from starting ("another postmaster might be running").
        let omit = ["postmaster.pid", "postmaster.opts"]
            .iter()
            .map(|f| self.data_dir.join(f))
            .collect();
        (self.substitutes.clone(), omit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_and_base64() {
        assert_eq!(decode_base64("U1RBUlQ="), b"START");
        let label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\n";
        assert_eq!(
            start_segment(label).as_deref(),
            Some("000000010000000000000002")
        );
    }
}
