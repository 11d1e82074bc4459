//! The job's quiescers around its snapshot set: building them from the job file, taking
//! the set while they are frozen (with retries when the bound runs out), and marking the
//! sources they covered as application-consistent.

use std::sync::{Arc, Mutex};

use std::path::PathBuf;

use umbra_core::{ConsistencyLevel, Event, Method, QuiesceRecord, Result, SourcePlan, UmbraError};
use umbra_snapshot::{SnapshotSet, SourceChoice};

/// Where the job's quiescers stage copies during a run. The job lock makes it the run's
/// own; it is emptied when the run starts and when it ends.
pub(super) fn staging_dir(job: &crate::config::Job) -> Result<PathBuf> {
    // Ad-hoc backups may run side by side: each stages under its own process.
    let name = match job.ad_hoc {
        None => job.name.clone(),
        Some(_) => format!("{AD_HOC_STAGING}{}", std::process::id()),
    };
    Ok(umbra_snapshot::registry::state_dir()?
        .join("staging")
        .join(name))
}

/// The prefix of an ad-hoc backup's staging directory; the process ID follows.
pub(super) const AD_HOC_STAGING: &str = "ad-hoc-";

use super::shared::Shared;
use crate::config::QuiesceKind;
use crate::phase::{Phase, Step};
use crate::quiesce::command::{CommandQuiescer, Exec};
#[cfg(unix)]
use crate::quiesce::freeze::FreezeQuiescer;
use crate::quiesce::mysql::MysqlQuiescer;
use crate::quiesce::postgres::PostgresQuiescer;
use crate::quiesce::sqlite::SqliteQuiescer;
use crate::quiesce::{self, FreezeError, Quiescer};

/// The job's quiescers, each running its commands through the job's log and environment.
pub(super) fn build(s: &Arc<Shared>) -> Vec<quiesce::Shared> {
    s.job
        .quiesce
        .iter()
        .map(|spec| {
            let sh = Arc::clone(s);
            let exec: Exec = Arc::new(move |phase: Phase, cmd| {
                let step = Step {
                    command: cmd,
                    extra_env: Vec::new(),
                };
                let rec = sh.runner.run(phase, &[step], &sh.env());
                let failed = rec
                    .commands
                    .last()
                    .map(|c| (!c.ending.success()).then(|| c.ending.describe()))
                    .unwrap_or_else(|| Some("did not run".into()));
                sh.push(rec);
                match failed {
                    None => Ok(()),
                    Some(why) => Err(format!("`{}` failed: {why}", cmd.line.display())),
                }
            });
            let q: Box<dyn Quiescer> = match &spec.kind {
                QuiesceKind::Command(steps) => Box::new(CommandQuiescer {
                    name: spec.name.clone(),
                    covers: spec.covers.clone(),
                    prepare: steps.prepare.clone(),
                    freeze: steps.freeze.clone(),
                    thaw: steps.thaw.clone(),
                    finish: steps.finish.clone(),
                    exec,
                }),
                #[cfg(unix)]
                QuiesceKind::Freeze(targets) => Box::new(FreezeQuiescer::new(
                    spec.name.clone(),
                    spec.covers.clone(),
                    targets.clone(),
                )),
                // Refused when the job file is read (config/quiesce.rs).
                #[cfg(windows)]
                QuiesceKind::Freeze(_) => Box::new(crate::quiesce::Unsupported {
                    name: spec.name.clone(),
                    why: "freezing cgroups needs Linux",
                }),
                QuiesceKind::Sqlite { databases } => Box::new(SqliteQuiescer::new(
                    spec.name.clone(),
                    spec.covers.clone(),
                    databases.clone(),
                )),
                QuiesceKind::Mysql(connection) => Box::new(MysqlQuiescer::new(
                    spec.name.clone(),
                    spec.covers.clone(),
                    connection.clone(),
                )),
                QuiesceKind::Postgres {
                    connection,
                    os_user,
                    password_file,
                } => Box::new(PostgresQuiescer::new(
                    spec.name.clone(),
                    spec.covers.clone(),
                    connection.clone(),
                    os_user.clone(),
                    password_file.clone(),
                )),
            };
            Arc::new(Mutex::new(q))
        })
        .collect()
}

/// Takes the snapshot set with every quiescer frozen; an attempt whose freeze outlasts
/// the job's `freeze_timeout` is discarded and, `quiesce_retries` times, tried again.
pub(super) fn take_frozen(
    s: &Arc<Shared>,
    quiescers: &[quiesce::Shared],
    choices: &[SourceChoice],
    take: &dyn Fn() -> Result<SnapshotSet>,
) -> Result<(SnapshotSet, Vec<QuiesceRecord>)> {
    let sources: Vec<(PathBuf, Method)> = choices
        .iter()
        .map(|c| (c.info.path.clone(), c.method))
        .collect();
    let staging = staging_dir(&s.job)?;
    std::fs::create_dir_all(&staging).map_err(|e| UmbraError::io("cannot create", &staging, e))?;
    let ctx = quiesce::Context {
        sources: &sources,
        staging: &staging,
    };
    quiesce::prepare_all(quiescers, &ctx)?;
    let mut attempt = 0;
    // The quiescers still in the window; those given up on leave a record saying so.
    let mut active = quiescers.to_vec();
    let mut given_up: Vec<QuiesceRecord> = Vec::new();
    loop {
        flush_before_the_window(s, &sources);
        match quiesce::while_frozen(&active, s.job.freeze_timeout, take) {
            Ok((set, mut records)) => {
                for (q, r) in active.iter().zip(records.iter_mut()) {
                    let mut q = q.lock().map_err(|_| {
                        UmbraError::new(
                            umbra_core::ErrorKind::Internal,
                            "a quiescer's lock is poisoned",
                        )
                    })?;
                    q.after_thaw()?;
                    // What it learnt after the thaw (the end of a backup) belongs in the record.
                    r.details = q.details();
                    r.covers = q.covers().to_vec();
                }
                for r in &records {
                    if let Some(w) = r.details.get("warning") {
                        s.runner.monitor.event(Event::Warning {
                            message: format!("{}: {} ({}): {w}", s.job.name, r.name, r.kind),
                        });
                    }
                    s.runner.log.line(
                        "freeze",
                        &format!(
                            "{} ({}) was frozen for {:.3} ms",
                            r.name,
                            r.kind,
                            r.freeze_us as f64 / 1000.0
                        ),
                    );
                }
                records.append(&mut given_up);
                return Ok((set, records));
            }
            Err(FreezeError::BoundExceeded(e)) if attempt < s.job.quiesce_retries => {
                attempt += 1;
                s.runner.log.line(
                    "freeze",
                    &format!(
                        "{}; trying again ({attempt} of {})",
                        e.message(),
                        s.job.quiesce_retries
                    ),
                );
                s.runner.monitor.event(Event::Warning {
                    message: format!("{}: {}; trying again", s.job.name, e.message()),
                });
            }
            Err(e) => {
                let e = e.into_error();
                let Some((rest, dropped)) = go_on_without(s, &active, &e) else {
                    return Err(e);
                };
                for r in &dropped {
                    let message = format!(
                        "{}: {} ({}) could not freeze, the snapshots are taken without it: {}",
                        s.job.name,
                        r.name,
                        r.kind,
                        e.message()
                    );
                    s.runner.log.line("freeze", &message);
                    // Said at every verbosity: the run claims less than the job asked for.
                    s.runner.monitor.event(Event::Notice {
                        message: format!("warning: {message}"),
                    });
                }
                given_up.extend(dropped);
                active = rest;
            }
        }
    }
}

/// After a failed window: the quiescers to go on with, and records for those given up
/// on. Only when every quiescer that did not freeze is optional (the cgroup freezer) and
/// no source it covers says `open_files = "required"`; otherwise `None`, and the run fails.
fn go_on_without(
    s: &Shared,
    active: &[quiesce::Shared],
    error: &UmbraError,
) -> Option<(Vec<quiesce::Shared>, Vec<QuiesceRecord>)> {
    let mut rest = Vec::new();
    let mut dropped = Vec::new();
    for q in active {
        let guard = q.lock().ok()?;
        if guard.froze() {
            rest.push(Arc::clone(q));
            continue;
        }
        let required = s.job.sources.iter().any(|src| {
            src.open_files == umbra_snapshot::OpenFiles::Required
                && guard.covers().iter().any(|c| src.path.starts_with(c))
        });
        if !guard.optional() || required {
            return None;
        }
        let mut details = guard.details();
        details.insert(
            "failed".to_string(),
            format!(
                "did not freeze; the snapshots were taken without it: {}",
                error.message()
            ),
        );
        dropped.push(QuiesceRecord {
            name: guard.name().to_string(),
            kind: guard.kind().to_string(),
            freeze_us: 0,
            // It made nothing consistent: it raises no source's level.
            covers: Vec::new(),
            details,
        });
    }
    (!dropped.is_empty()).then_some((rest, dropped))
}

/// Writes out the dirty data of every snapshotted source's filesystem (`syncfs`) just
/// before the window opens. A volume snapshot flushes what is dirty when it is taken:
/// under a busy database that is about 1.1 ms per dirty MiB on btrfs, all of it inside
/// the window. Flushed here, the snapshot inside the window has only what the
/// application wrote in the last moments left to flush. Failures only cost time: the
/// snapshot flushes anyway.
#[cfg(windows)]
fn flush_before_the_window(_s: &Shared, _sources: &[(PathBuf, Method)]) {}

#[cfg(unix)]
fn flush_before_the_window(s: &Shared, sources: &[(PathBuf, Method)]) {
    use std::os::unix::fs::OpenOptionsExt;
    let started = std::time::Instant::now();
    let mut flushed = Vec::new();
    for (path, method) in sources {
        if *method == Method::Direct {
            continue;
        }
        let Ok(dir) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)
        else {
            continue;
        };
        // SAFETY: `dir` is an open file descriptor for the call's duration.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) } == 0 {
            flushed.push(path.display().to_string());
        }
    }
    if !flushed.is_empty() {
        s.runner.log.line(
            "freeze",
            &format!(
                "flushed the filesystems of {} before the window in {:.1} ms",
                flushed.join(", "),
                started.elapsed().as_secs_f64() * 1000.0
            ),
        );
    }
}

/// Puts the freeze records into `plan`, and raises the sources a quiescer covered to
/// app-consistent (writers-frozen, for a `freeze`) where a volume snapshot or a clone of
/// the whole tree caught them held still. A source's level is the weakest
/// guarantee that holds for all its files at one instant: a source read directly (after
/// the thaw) or cloned file by file (each at its own instant) gains nothing from the
/// freeze, and a quiescer's copy (taken at yet another instant) raises nothing either. Such
/// sources keep their method's level, and the monitor hears why.
pub(super) fn apply(
    s: &Shared,
    plan: &mut SourcePlan,
    records: &[QuiesceRecord],
    quiescers: &[quiesce::Shared],
) {
    // After what the snapshot method recorded itself (VSS writers).
    plan.quiesced.extend(records.iter().cloned());
    let mut copies_cover = Vec::new();
    for q in quiescers {
        if let Ok(q) = q.lock() {
            let (subs, omit) = q.substitutes();
            plan.substitutes.extend(subs);
            plan.omit.extend(omit);
            if q.works_without_snapshot() {
                copies_cover.extend(q.covers().to_vec());
            }
        }
    }
    for src in &mut plan.sources {
        // The best any covering quiescer gives: an application brought to a consistent
        // point, or (a `freeze`) its writers held still.
        let Some(level) = records
            .iter()
            .filter(|r| r.covers.iter().any(|c| src.path.starts_with(c)))
            .map(|r| {
                if r.kind == "freeze" {
                    ConsistencyLevel::WritersFrozen
                } else {
                    ConsistencyLevel::AppConsistent
                }
            })
            .min()
        else {
            continue;
        };
        // A copy made before the window (SQLite's online backup) is consistent in itself
        // but from another instant than the files cloned or read with it.
        let copied = copies_cover
            .iter()
            .any(|c| src.path.starts_with(c) || c.starts_with(&src.path));
        // A volume snapshot holds everything at the frozen instant; reflink clones are all
        // taken inside the window, while the application is held still.
        let cloned_at_once = src.method == Method::Reflink && src.clone_on_read.is_none();
        if src.method.is_volume_snapshot() || (cloned_at_once && !copied) {
            src.expected = level;
            continue;
        }
        if copied {
            // The record says what the copy is; the source keeps its method's level.
            continue;
        }
        s.runner.monitor.event(Event::Warning {
            message: format!(
                "{}: {} is read directly, after the thaw: the freeze does not make it app-consistent",
                s.job.name,
                src.path.display()
            ),
        });
    }
}
