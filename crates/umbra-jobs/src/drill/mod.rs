//! Restore drills: prove that a job's backup restores and that what it holds starts.
//!
//! A drill restores a snapshot of the job into a private scratch directory (`scratch.rs`)
//! and proves each thing in it that umbra knows how to prove, each in its own file:
//! SQLite databases (`sqlite.rs`), PostgreSQL clusters (`postgres.rs`), MariaDB/MySQL
//! data directories (`mariadb.rs`), a sample of files against the snapshot's own hashes
//! (`umbra_repo::verify_restored`), and the user's own command. Databases are found by
//! what they are (SQLite's header, `PG_VERSION` with `global/pg_control`, a `mysql/`
//! directory with InnoDB or Aria files), not only by the job's quiescers, so the classic
//! stop-snapshot-start pattern is proven too.
//!
//! Why here and not in umbra-repo: a drill is about the job (its sources, quiescers,
//! queries, history) and starts processes; the repository part is one restore and one
//! verification call. docs/DRILL.md says what each check proves and what it does not.

pub mod mariadb;
pub mod postgres;
mod record;
mod scratch;
mod server;
pub mod sqlite;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use umbra_core::{Event, Monitor, Result};
use umbra_repo::lock::LockKind;
use umbra_repo::restore::RestoreRequest;
use umbra_repo::Repo;

use crate::config::{Job, QuiesceKind};
use crate::phase::{Phase, PhaseRunner, Step};
use crate::state::{JobLog, JobState};
pub use record::{CheckRecord, DrillRecord, QueryRecord};
pub use scratch::{sweep, Scratch};

/// What a drill needs from its caller.
pub struct DrillContext<'a> {
    pub open_repo: &'a (dyn Fn(LockKind) -> Result<Repo> + Sync),
    pub monitor: Arc<dyn Monitor>,
}

/// What the provers share.
pub struct Prove<'a> {
    /// Where the snapshot was restored (its paths below it in full).
    pub restored: &'a Path,
    pub scratch: &'a Scratch,
    pub deadline: Instant,
    pub queries: &'a std::collections::BTreeMap<String, Vec<String>>,
    matched: RefCell<BTreeSet<String>>,
}

impl Prove<'_> {
    /// Notes that the queries of `database` found their database.
    fn matched(&self, database: &str) {
        self.matched.borrow_mut().insert(database.to_string());
    }

    /// Runs the job's queries of every database `listing` names (a server's list of its
    /// databases), each through `client(database, sql)`, bounded by the drill's limit.
    fn run_queries(
        &self,
        listing: &mut std::process::Command,
        client: &dyn Fn(&str, &str) -> std::process::Command,
        rec: &mut CheckRecord,
    ) {
        let databases: Vec<String> = server::output_by(listing, self.deadline)
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for (db, list) in self.queries {
            if !databases.contains(db) {
                continue;
            }
            self.matched(db);
            for sql in list {
                let out = server::output_by(&mut client(db, sql), self.deadline);
                rec.query(match out {
                    Ok(o) if o.status.success() => QueryRecord::result(
                        db,
                        sql,
                        String::from_utf8_lossy(&o.stdout).trim().to_string(),
                    ),
                    Ok(o) => QueryRecord::error(
                        db,
                        sql,
                        String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    ),
                    Err(e) => QueryRecord::error(db, sql, e.to_string()),
                });
            }
        }
    }

    /// Lets a server's user reach `data`: the restored directories above it get search
    /// permission for group and others (only in the scratch copy; the snapshot's
    /// directories above a data directory are often private, a temporary directory, a
    /// home). The scratch root is opened to traversal (0711), never to listing.
    #[cfg(windows)]
    fn reach(&self, _data: &Path) {}

    #[cfg(unix)]
    fn reach(&self, data: &Path) {
        use std::os::unix::fs::PermissionsExt;
        self.scratch.open_for_servers();
        let mut dirs: Vec<&Path> = data
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(&self.scratch.dir) && *d != self.scratch.dir)
            .collect();
        dirs.reverse();
        for d in dirs {
            if let Ok(m) = std::fs::symlink_metadata(d) {
                if m.is_dir() {
                    let mode = m.permissions().mode() | 0o011;
                    let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode));
                }
            }
        }
    }

    /// A directory of the scratch owned by `owner` (0700), for a server's socket and files.
    fn private_dir(&self, name: &str, owner: (u32, u32)) -> std::result::Result<PathBuf, String> {
        let dir = self.scratch.dir.join(name);
        std::fs::create_dir_all(&dir)
            .and_then(|()| server::make_private_to(&dir, owner))
            .map_err(|e| format!("cannot prepare {}: {e}", dir.display()))?;
        self.scratch.open_for_servers();
        Ok(dir)
    }
}

/// The path as backed up of `path` restored below `restored`.
fn original_path(restored: &Path, path: &Path) -> String {
    path.strip_prefix(restored).map_or_else(
        |_| path.display().to_string(),
        |rel| format!("/{}", rel.display()),
    )
}

/// Everything below `dir` that a prover knows, without following symlinks: SQLite files,
/// PostgreSQL and MariaDB data directories (not looked into further).
fn find(dir: &Path, found: &mut Found) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        let path = e.path();
        if kind.is_dir() {
            if postgres::is_data_dir(&path) {
                found.postgres.push(path);
            } else if mariadb::is_data_dir(&path) {
                found.mariadb.push(path);
            } else {
                find(&path, found);
            }
        } else if kind.is_file() && sqlite::is_database(&path) {
            found.sqlite.push(path);
        }
    }
}

#[derive(Default)]
struct Found {
    sqlite: Vec<PathBuf>,
    postgres: Vec<PathBuf>,
    mariadb: Vec<PathBuf>,
}

/// The newest snapshot of `job`: its sources as paths, from its host (or this one).
fn latest_of(job: &Job, repo: &Repo) -> Result<Option<String>> {
    let mut mine: Vec<PathBuf> = job.sources.iter().map(|s| s.path.clone()).collect();
    mine.sort();
    let host = job
        .host
        .clone()
        .unwrap_or_else(crate::runner::notify::host_name);
    Ok(repo
        .snapshots()?
        .into_iter()
        .filter(|s| {
            let mut p = s.paths.clone();
            p.sort();
            p == mine && s.hostname == host
        })
        .max_by(|a, b| a.time.cmp(&b.time))
        .map(|s| s.id))
}

/// Runs a drill of `job` on `snapshot` (its newest when `None`), records it in the job's
/// drill history, and returns the record. Errors only when nothing could start.
pub fn run(job: &Job, snapshot: Option<&str>, ctx: &DrillContext<'_>) -> Result<DrillRecord> {
    let state = JobState::for_job(&job.name)?;
    let started = jiff::Timestamp::now();
    let run_id = started.strftime("%Y%m%dT%H%M%S%.3fZ").to_string();
    let log = Arc::new(state.new_log(&format!("drill-{run_id}"))?);
    let t0 = Instant::now();
    sweep(ctx.monitor.as_ref());
    let mut record = DrillRecord {
        job: job.name.clone(),
        run_id: run_id.clone(),
        started: started
            .round(jiff::Unit::Millisecond)
            .unwrap_or(started)
            .to_string(),
        seconds: 0.0,
        snapshot_id: None,
        status: "failed".into(),
        error: None,
        hint: None,
        checks: Vec::new(),
        files: None,
        warnings: Vec::new(),
        log: log.path.clone(),
    };
    log.line(
        "drill",
        &format!(
            "drill of job {} started by pid {}",
            job.name,
            std::process::id()
        ),
    );
    let previous = state.drills()?.into_iter().rev().find(|d| d.passed());
    // On a thread of its own at low priority: what it starts (the restore's threads, the
    // servers) inherits it, and the caller (`umbra run --all` going on to the next job)
    // keeps its own. The servers' parent-death signal follows this thread, which outlives
    // them.
    let proven = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // A drill must not disturb the applications it runs beside.
                let _session = crate::priority::lower_session();
                crate::priority::lower_this_thread();
                prove_all(job, snapshot, ctx, &log, &run_id, t0, &mut record)
            })
            .join()
    })
    .unwrap_or_else(|_| {
        Err(umbra_core::UmbraError::new(
            umbra_core::ErrorKind::Internal,
            "the drill's thread panicked",
        ))
    });
    match proven {
        Ok(()) => {
            let failed: Vec<String> = record
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(CheckRecord::line)
                .collect();
            if failed.is_empty() {
                record.status = "passed".into();
            } else {
                record.error = Some(failed.join("; "));
            }
        }
        Err(e) => {
            log.line("drill", &format!("failed: {}", e.message()));
            record.error = Some(e.message().to_string());
            record.hint = Some(e.hint().to_string());
        }
    }
    if umbra_core::interrupt::interrupted() {
        record.status = "interrupted".into();
    }
    record.warnings.extend(emptied(previous.as_ref(), &record));
    record.seconds = t0.elapsed().as_secs_f64();
    for c in &record.checks {
        log.line("drill", &c.line());
    }
    log.line("drill", &format!("drill ended: {}", record.status));
    state.append_drill(&record)?;
    Ok(record)
}

/// The restore and every check; fills `record`.
fn prove_all(
    job: &Job,
    snapshot: Option<&str>,
    ctx: &DrillContext<'_>,
    log: &Arc<JobLog>,
    run_id: &str,
    t0: Instant,
    record: &mut DrillRecord,
) -> Result<()> {
    let spec = &job.drill;
    let deadline = t0 + spec.timeout;
    let repo = (ctx.open_repo)(LockKind::Shared)?;
    let id = match snapshot {
        Some(s) => repo.snapshot(s)?.id,
        None => latest_of(job, &repo)?.ok_or_else(|| {
            umbra_core::UmbraError::new(
                umbra_core::ErrorKind::NotFound,
                format!("job `{}` has no snapshot to drill yet", job.name),
            )
            .with_hint(format!("Run the job first: `umbra run {}`.", job.name))
        })?,
    };
    record.snapshot_id = Some(id.clone());
    let sources: Vec<PathBuf> = job.sources.iter().map(|s| s.path.clone()).collect();
    let scratch = Scratch::create(&spec.scratch_dir, &job.name, run_id, &sources)?;
    let restored = scratch.dir.join("restore");
    log.line(
        "drill",
        &format!(
            "restoring snapshot {} into {}",
            &id[..8.min(id.len())],
            restored.display()
        ),
    );
    let t = Instant::now();
    let outcome = repo.restore(&RestoreRequest {
        snapshot: id.clone(),
        target: restored.clone(),
        ..RestoreRequest::default()
    })?;
    let mut rec = CheckRecord::new("restore", "restore");
    rec.detail.push(format!(
        "{} file(s), {} byte(s) in {:.1} s",
        outcome.files,
        outcome.bytes,
        t.elapsed().as_secs_f64()
    ));
    for d in outcome.damaged.iter().take(5) {
        rec.fail(format!("/{} is damaged: {}", d.path.display(), d.reason));
    }
    for (path, why) in outcome.not_restored.iter().take(5) {
        rec.fail(format!("/{} was not restored: {why}", path.display()));
    }
    rec.seconds = t.elapsed().as_secs_f64();
    record.checks.push(rec);
    // The files against the snapshot's own hashes, and against the live files.
    let t = Instant::now();
    let files = (ctx.open_repo)(LockKind::Shared)
        .and_then(|r| r.verify_restored(&id, &restored, Path::new("/"), spec.sample))?;
    let mut rec = CheckRecord::new("files", "files");
    rec.detail.push(format!(
        "{} of {} file(s) hashed against the snapshot, {} compared with the live file",
        files.checked, files.files_in_snapshot, files.live_compared
    ));
    for f in files.restore_mismatch.iter().take(5) {
        rec.fail(format!("{f}: the restored bytes do not match the snapshot"));
    }
    for f in files.live_differs.iter().take(5) {
        rec.fail(format!(
            "{f}: same size and mtime as the live file, other bytes: the source or the backup may be corrupt"
        ));
    }
    rec.seconds = t.elapsed().as_secs_f64();
    record.checks.push(rec);
    record.files = Some(files);
    // The databases.
    let prove = Prove {
        restored: &restored,
        scratch: &scratch,
        deadline,
        queries: &spec.queries,
        matched: RefCell::new(BTreeSet::new()),
    };
    let mut found = Found::default();
    find(&restored, &mut found);
    for q in &job.quiesce {
        if let QuiesceKind::Sqlite { databases } = &q.kind {
            for db in databases {
                let copy = restored.join(db.strip_prefix("/").unwrap_or(db));
                if !copy.is_file() {
                    let mut rec = CheckRecord::new(&db.display().to_string(), "sqlite");
                    rec.fail("the database the quiescer names is not in the snapshot");
                    record.checks.push(rec);
                }
            }
        }
    }
    for db in &found.sqlite {
        record.checks.push(sqlite::prove(db, &prove));
    }
    for data in &found.postgres {
        log.line(
            "drill",
            &format!("starting PostgreSQL on {}", data.display()),
        );
        record.checks.push(postgres::prove(data, &prove));
    }
    for data in &found.mariadb {
        log.line("drill", &format!("starting MariaDB on {}", data.display()));
        record.checks.push(mariadb::prove(data, &prove));
    }
    // A server that did not start hides its databases: its failure says why already.
    let servers_ok = record
        .checks
        .iter()
        .filter(|c| c.check == "postgres" || c.check == "mariadb")
        .all(|c| c.ok);
    for key in spec.queries.keys() {
        if servers_ok && !prove.matched.borrow().contains(key) {
            let mut rec = CheckRecord::new(key, "query");
            rec.fail(format!(
                "no database `{key}` was found in the restored snapshot"
            ));
            record.checks.push(rec);
        }
    }
    // The user's own check, last: it sees the tree as the other checks left it.
    if let Some(cmd) = &spec.command {
        let runner = PhaseRunner {
            job: job.name.clone(),
            log: Arc::clone(log),
            monitor: Arc::clone(&ctx.monitor),
        };
        let env = vec![
            ("UMBRA_JOB".to_string(), job.name.clone()),
            (
                "UMBRA_DRILL_DIR".to_string(),
                restored.display().to_string(),
            ),
            ("UMBRA_SNAPSHOT_ID".to_string(), id.clone()),
        ];
        let phase = runner.run(
            Phase::Drill,
            &[Step {
                command: cmd,
                extra_env: Vec::new(),
            }],
            &env,
        );
        let mut rec = CheckRecord::new(&cmd.line.display(), "command");
        match &phase.error {
            None => rec.detail.push("exited 0".into()),
            Some(e) => rec.fail(e.clone()),
        }
        rec.seconds = phase.seconds;
        record.checks.push(rec);
    }
    if Instant::now() > deadline {
        ctx.monitor.event(Event::Notice {
            message: format!("{}: the drill ran past its time limit", job.name),
        });
    }
    Ok(())
}

/// Queries that found something in the last passed drill and nothing now.
fn emptied(previous: Option<&DrillRecord>, now: &DrillRecord) -> Vec<String> {
    let Some(prev) = previous else {
        return Vec::new();
    };
    let empty = |r: &str| r.is_empty() || r == "0";
    let before: Vec<&QueryRecord> = prev.checks.iter().flat_map(|c| &c.queries).collect();
    now.checks
        .iter()
        .flat_map(|c| &c.queries)
        .filter_map(|q| {
            let old = before
                .iter()
                .find(|p| p.database == q.database && p.sql == q.sql)?;
            let (old_r, new_r) = (old.result.as_deref()?, q.result.as_deref()?);
            (!empty(old_r) && empty(new_r)).then(|| {
                format!(
                    "query `{}` on {} found `{new_r}`; the drill of {} found `{old_r}`",
                    q.sql, q.database, prev.started
                )
            })
        })
        .collect()
}
