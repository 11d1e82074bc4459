//! One run of a job: the phases in order, and what runs when one fails.
//!
//! ```text
//! before ─▶ snapshot set ─▶ after_snapshot ─▶ backup ─▶ source after ─▶ after ─▶ copy ─▶ retention
//!                                                                 (on any failure) on_failure
//!                                                                           (always) finally
//! ```
//!
//! First, a pre-flight that stops nothing: the repository opens (password, reachable,
//! lockable) and every source that no `before` command could create exists and can be
//! snapshotted as the job asks. A failed pre-flight runs `on_failure` and `finally`,
//! never `before`: a wrong password must not cost a service its uptime.
//!
//! The rule the order serves: **once `before` has started, `after_snapshot` runs**, also
//! when `before` itself or the snapshot failed, and also when umbra is interrupted (the
//! interrupt action below). A database that `before` stopped is never left stopped.
//! docs/HOOKS.md is the user's version of this contract; keep them in step.

mod backup;
mod copies_and_retention;
mod freeze;
pub mod notify;
mod shared;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use umbra_core::{Event, Monitor, Result};
use umbra_repo::lock::LockKind;
use umbra_repo::Repo;
use umbra_snapshot::registry::Registry;
use umbra_snapshot::{Planner, SnapshotSet, SourceChoice};

use crate::config::Job;
use crate::phase::{Phase, PhaseRunner, Step};
use crate::state::{JobState, PhaseRecord, RunRecord};
use shared::{set_env, Claims, Shared};

/// What a run needs from its caller.
pub struct RunContext<'a> {
    /// Opens the job's repository with a lock (the CLI knows passwords and defaults).
    pub open_repo: &'a (dyn Fn(LockKind) -> Result<Repo> + Sync),
    /// Opens one of the job file's `[repositories]` by name, for `copy_to`.
    pub open_copy_target: &'a dyn Fn(&str) -> Result<Repo>,
    /// The repository as users may see it (no secrets): `UMBRA_REPOSITORY`.
    pub repository: String,
    pub monitor: Arc<dyn Monitor>,
    /// Who started the run, when not the command line or the scheduler (`console`); the
    /// run's record keeps it.
    pub triggered_by: Option<String>,
}

fn planner(job: &Job) -> Result<Planner> {
    Planner::with_lvm(umbra_snapshot::lvm::Lvm {
        cow_size: job.lvm_snapshot_size.clone(),
    })
}

/// Chooses each source's method as the job says. A missing source fails with the job
/// file's line.
fn choose(job: &Job) -> Result<Vec<SourceChoice>> {
    let planner = planner(job)?;
    let mut choices = Vec::with_capacity(job.sources.len());
    for s in &job.sources {
        missing_source(s)?;
        choices.push(planner.choose(&s.path, s.open_files, s.snapshot)?);
    }
    Ok(choices)
}

/// A source that does not exist, as an error naming the job file's line.
fn missing_source(s: &crate::config::JobSource) -> Result<()> {
    match std::fs::symlink_metadata(&s.path) {
        Ok(_) => Ok(()),
        Err(e) => Err(crate::config::locate::config_error(
            &s.origin,
            format!("cannot back up {}: {e}", s.path.display()),
        )
        .with_hint("Check the path, or make the `before` commands create or mount it.")),
    }
}

/// Whether the job's drill is due: it has `every`, and no drill passed within it.
fn drill_due(job: &Job) -> bool {
    let Some(every) = job.drill.every else {
        return false;
    };
    let last = JobState::for_job(&job.name)
        .and_then(|s| s.drills())
        .ok()
        .and_then(|d| d.into_iter().rev().find(crate::drill::DrillRecord::passed))
        .and_then(|d| d.ended());
    last.is_none_or(|t| {
        t.duration_until(jiff::Timestamp::now()).as_secs_f64() >= every.as_secs_f64()
    })
}

/// The outcome of [`run_job`]: the record that was appended to the history.
#[derive(Debug)]
pub struct RunReport {
    pub record: RunRecord,
    /// The first failure that was umbra's own (not a command's), whole: its kind decides
    /// an ad-hoc backup's exit code.
    pub error: Option<umbra_core::UmbraError>,
    /// What the backup did, when it saved a snapshot.
    pub outcome: Option<umbra_repo::BackupOutcome>,
    /// The base snapshots kept for the next backup, as lines for the user.
    pub bases_kept: Vec<String>,
}

/// Runs `job` once. Errors only when the run could not start at all (the job is already
/// running, the state directory is unusable); everything after that is in the report.
pub fn run_job(job: &Job, ctx: &RunContext<'_>) -> Result<RunReport> {
    let state = JobState::for_job(&job.name)?;
    // Ad-hoc backups may run side by side, as restic's do; a job runs once at a time.
    let _lock = match job.ad_hoc {
        None => Some(state.lock(&job.name)?),
        Some(_) => None,
    };
    let started = jiff::Timestamp::now();
    let run_id = shared::run_id(job, started);
    let log = Arc::new(state.new_log(&run_id)?);
    let previous = state.history()?.pop();
    let cpu_at_start = umbra_core::os::cpu_seconds();
    let (targets, unreadable_secrets) = notify::targets(job);
    let sources: Vec<String> = job
        .sources
        .iter()
        .map(|s| s.path.display().to_string())
        .collect();
    let env = vec![
        ("UMBRA_JOB".to_string(), job.name.clone()),
        ("UMBRA_SOURCES".to_string(), sources.join("\n")),
        ("UMBRA_REPOSITORY".to_string(), ctx.repository.clone()),
        ("UMBRA_LOG".to_string(), log.path.display().to_string()),
    ];
    let shared = Arc::new(Shared {
        job: job.clone(),
        runner: PhaseRunner {
            job: job.name.clone(),
            log: Arc::clone(&log),
            monitor: Arc::clone(&ctx.monitor),
        },
        state: state.clone(),
        env: Mutex::new(env),
        record: Mutex::new(RunRecord {
            job: job.name.clone(),
            run_id,
            started: started
                .round(jiff::Unit::Millisecond)
                .unwrap_or(started)
                .to_string(),
            seconds: 0.0,
            status: "running".into(),
            error: None,
            hint: None,
            phases: Vec::new(),
            snapshot_id: None,
            downtime_seconds: None,
            log: log.path.clone(),
            backup: None,
            warnings: Vec::new(),
            notifications: Vec::new(),
            cpu_seconds: None,
            commands_cpu_seconds: None,
            ad_hoc: job.ad_hoc.is_some(),
            triggered_by: ctx.triggered_by.clone(),
        }),
        claims: Claims::default(),
        interrupted: AtomicBool::new(false),
        before_started: AtomicBool::new(false),
        before_ended: Mutex::new(None),
        t0: Instant::now(),
        targets,
    });
    let _on_interrupt = {
        let s = Arc::clone(&shared);
        umbra_core::interrupt::on_interrupt(
            format!(
                "job `{}`: after_snapshot, on_failure and finally commands",
                job.name
            ),
            move || s.interrupted(),
        )
    };
    log.line(
        "run",
        &format!("job {} started by pid {}", job.name, std::process::id()),
    );
    notify::start(&shared, previous.as_ref(), unreadable_secrets);
    // Scratch directories of drills that crashed (their servers died with them).
    crate::drill::sweep(ctx.monitor.as_ref());
    // Copies a crashed run staged are stale: the job lock says no run of this job is live.
    let staging = freeze::staging_dir(job)?;
    let _ = std::fs::remove_dir_all(&staging);
    shared::sweep_ad_hoc_staging();
    let mut flow = Flow {
        s: &shared,
        ctx,
        failure: None,
        failure_hint: None,
        incomplete: false,
        snapshot_host: None,
        snapshot_id: None,
        quiesced: Vec::new(),
        quiescers: Vec::new(),
        error: None,
        outcome: None,
        bases_kept: Vec::new(),
        parent: None,
    };
    flow.run();
    // A hook killed by the interrupt fails the flow before the interrupt action has marked
    // the run (actions run newest first): the interrupt decides the status.
    let interrupted =
        || shared.interrupted.load(Ordering::SeqCst) || umbra_core::interrupt::interrupted();
    let (status, error) = match (&flow.failure, flow.incomplete) {
        _ if interrupted() => ("interrupted", Some("interrupted by a signal".to_string())),
        (Some(e), _) => ("failed", Some(e.clone())),
        (None, true) => ("incomplete", None),
        (None, false) => ("success", None),
    };
    if let Some(e) = &error {
        if let Some(r) = shared.on_failure(status, e) {
            shared.push(r);
        }
    }
    let mut final_status = status.to_string();
    let mut final_error = error.clone();
    if let Some(r) = shared.finally(status, error.as_deref()) {
        if let (Some(e), None) = (&r.error, &final_error) {
            final_status = "failed".into();
            final_error = Some(e.clone());
        }
        shared.push(r);
    }
    let record = {
        let mut r = shared.record.lock().map(|r| r.clone()).map_err(|_| {
            umbra_core::UmbraError::new(
                umbra_core::ErrorKind::Internal,
                "the run record is poisoned",
            )
        })?;
        if interrupted() {
            r.status = "interrupted".into();
            r.error = Some("interrupted by a signal".into());
        } else {
            r.status = final_status;
            r.error = final_error;
            r.hint = flow.failure_hint.clone();
        }
        r.seconds = shared.t0.elapsed().as_secs_f64();
        r.cpu_seconds = Some(umbra_core::os::cpu_seconds().0 - cpu_at_start.0);
        r.commands_cpu_seconds = Some(umbra_core::os::cpu_seconds().1 - cpu_at_start.1);
        r
    };
    let _ = std::fs::remove_dir_all(&staging);
    log.line("run", &format!("job {} ended: {}", job.name, record.status));
    let record = shared.record_once(record)?;
    Ok(RunReport {
        record,
        error: flow.error,
        outcome: flow.outcome,
        bases_kept: flow.bases_kept,
    })
}

/// The phases up to retention; on_failure and finally are the caller's.
struct Flow<'a> {
    s: &'a Arc<Shared>,
    ctx: &'a RunContext<'a>,
    failure: Option<String>,
    /// The hint of the first failure, when it came with one.
    failure_hint: Option<String>,
    incomplete: bool,
    /// The host recorded in this run's snapshot: retention judges only its snapshots.
    snapshot_host: Option<String>,
    /// This run's snapshot, once saved: what `copy_to` copies.
    snapshot_id: Option<String>,
    /// What the quiescers recorded while the snapshot set was taken.
    quiesced: Vec<umbra_core::QuiesceRecord>,
    /// The job's quiescers, once built: they finish after the backup.
    quiescers: Vec<crate::quiesce::Shared>,
    /// The first failure of umbra's own, whole (see [`RunReport::error`]).
    error: Option<umbra_core::UmbraError>,
    outcome: Option<umbra_repo::BackupOutcome>,
    bases_kept: Vec<String>,
    /// An ad-hoc backup's `--parent`, resolved to a snapshot ID by the pre-flight.
    parent: Option<String>,
}

impl Flow<'_> {
    fn fail(&mut self, phase: Phase, error: String) {
        if self.failure.is_none() {
            self.failure = Some(format!("{}: {error}", phase.as_str()));
        }
    }

    fn phase_result(&mut self, rec: PhaseRecord) {
        if let (Some(e), None) = (&rec.error, &self.failure) {
            self.failure = Some(e.clone());
        }
        self.s.push(rec);
    }

    fn timed(&mut self, phase: Phase, started: Instant, error: Option<String>) {
        let rec = PhaseRecord {
            phase: phase.as_str().into(),
            status: if error.is_some() { "failed" } else { "ok" }.into(),
            seconds: started.elapsed().as_secs_f64(),
            commands: Vec::new(),
            error: error.clone(),
        };
        self.s.push(rec);
        if let Some(e) = error {
            self.fail(phase, e);
        }
    }

    /// Fails the run with an error of umbra's own (not a command's), keeping its hint.
    fn fail_with(&mut self, phase: Phase, started: Instant, e: umbra_core::UmbraError) {
        let message = e.message().to_string();
        if self.failure.is_none() {
            self.failure_hint = Some(e.hint().to_string());
            self.error = Some(e);
        }
        self.timed(phase, started, Some(message));
    }

    /// What can be known before anything is stopped: the repository opens with the
    /// password (and can be locked), and the sources exist and can be snapshotted as the
    /// job asks. Sources that a `before` command may create or mount are left to the
    /// snapshot phase.
    fn preflight(&mut self) -> Result<()> {
        let job = &self.s.job;
        let job_before = !job.hooks.before.is_empty();
        let planner = planner(job)?;
        for src in &job.sources {
            let exists = std::fs::symlink_metadata(&src.path).is_ok();
            if !exists && (job_before || !src.before.is_empty()) {
                continue;
            }
            missing_source(src)?;
            planner.choose(&src.path, src.open_files, src.snapshot)?;
        }
        let repo = (self.ctx.open_repo)(LockKind::Shared)?;
        // A parent that does not exist fails before anything is snapshotted.
        if let Some(spec) = job.ad_hoc.as_ref().and_then(|a| a.parent.as_ref()) {
            self.parent = Some(repo.snapshot(spec)?.id);
        }
        Ok(())
    }

    fn run(&mut self) {
        let s = Arc::clone(self.s);
        let job = &s.job;
        // 0. pre-flight: nothing stopped yet.
        let t = Instant::now();
        if let Err(e) = self.preflight() {
            s.runner
                .log
                .line("preflight", &format!("failed: {}", e.message()));
            self.fail_with(Phase::Preflight, t, e);
            return;
        }
        // 1. before: the job's commands, then each source's.
        let mut steps = Shared::job_steps(&job.hooks.before);
        // Which source each step belongs to, to know whose `before` ran.
        let mut owners: Vec<Option<usize>> = vec![None; steps.len()];
        let mut source_before_ran = vec![false; job.sources.len()];
        for (i, src) in job.sources.iter().enumerate() {
            for c in &src.before {
                steps.push(Step {
                    command: c,
                    extra_env: vec![("UMBRA_SOURCE".into(), src.path.display().to_string())],
                });
                owners.push(Some(i));
            }
        }
        if !steps.is_empty() {
            s.before_started.store(true, Ordering::SeqCst);
            let rec = s.runner.run(Phase::Before, &steps, &s.env());
            if let Ok(mut end) = s.before_ended.lock() {
                *end = Some(Instant::now());
            }
            for i in owners.iter().take(rec.commands.len()).flatten() {
                source_before_ran[*i] = true;
            }
            self.phase_result(rec);
        }
        // 2. the snapshot set.
        let mut set = None;
        if self.failure.is_none() {
            let t = Instant::now();
            let quiescers = freeze::build(&s);
            let taken = crate::steps::sweep_leftovers(s.runner.monitor.as_ref())
                .and_then(|()| choose(job))
                .and_then(|mut choices| {
                    // Applications held still around the set: every source is captured
                    // inside it (reflink clones the whole tree, not file by file).
                    let at_once = !quiescers.is_empty() || !job.hooks.after_snapshot.is_empty();
                    for c in &mut choices {
                        c.info.capture_at_once = at_once;
                    }
                    let take = || {
                        SnapshotSet::take(
                            &choices,
                            Registry::default_location()?,
                            Arc::clone(&s.runner.monitor),
                        )
                    };
                    if quiescers.is_empty() {
                        return take();
                    }
                    let (set, records) = freeze::take_frozen(&s, &quiescers, &choices, &take)?;
                    self.quiesced = records;
                    Ok(set)
                });
            self.quiescers = quiescers;
            match taken {
                Ok(taken) => {
                    let plan = taken.plan();
                    let paths: Vec<String> = plan
                        .sources
                        .iter()
                        .map(|p| format!("{}={}", p.path.display(), p.read_from.display()))
                        .collect();
                    let map: serde_json::Map<String, serde_json::Value> = plan
                        .sources
                        .iter()
                        .map(|p| {
                            (
                                p.path.display().to_string(),
                                p.read_from.display().to_string().into(),
                            )
                        })
                        .collect();
                    s.set("UMBRA_SNAPSHOT_PATHS", paths.join("\n"));
                    s.set(
                        "UMBRA_SNAPSHOT_PATHS_JSON",
                        serde_json::Value::Object(map).to_string(),
                    );
                    s.runner.log.line(
                        "snapshot",
                        &format!(
                            "snapshot set taken in {:.3} s: {}",
                            t.elapsed().as_secs_f64(),
                            paths.join(", ")
                        ),
                    );
                    set = Some(taken);
                    self.timed(Phase::Snapshot, t, None);
                }
                Err(e) => {
                    s.runner
                        .log
                        .line("snapshot", &format!("failed: {}", e.message()));
                    self.fail_with(Phase::Snapshot, t, e);
                }
            }
        }
        // 3. after_snapshot: whenever before started, or the snapshot exists.
        if s.before_started.load(Ordering::SeqCst) || set.is_some() {
            if let Some(rec) = s.after_snapshot() {
                self.phase_result(rec);
            }
        }
        // 4. read and store.
        let mut backed_up = false;
        let mut measured = false;
        if let Some(set) = set {
            if self.failure.is_none() {
                backed_up = self.backup(&set);
            }
            let released;
            (released, measured) = self.release_measuring(set, backed_up);
            if let Err(e) = released {
                s.runner.log.line(
                    "backup",
                    &format!("cannot release the snapshot set: {}", e.message()),
                );
                self.fail(
                    Phase::Backup,
                    format!("cannot release the snapshot set: {}", e.message()),
                );
            }
        }
        // The quiescers finish (end a backup mode, store extra files) whatever happened.
        let finished = if self.quiesced.is_empty() {
            Vec::new()
        } else {
            crate::quiesce::finish_all(&self.quiescers, backed_up)
        };
        for failure in finished {
            s.runner.monitor.event(Event::Warning {
                message: format!("{}: a quiescer could not finish: {failure}", job.name),
            });
        }
        // 5. each source's `after`: when its `before` ran, or (without one) after a backup.
        let mut steps = Vec::new();
        for (i, src) in job.sources.iter().enumerate() {
            if source_before_ran[i] || (src.before.is_empty() && backed_up) {
                for c in &src.after {
                    steps.push(Step {
                        command: c,
                        extra_env: vec![("UMBRA_SOURCE".into(), src.path.display().to_string())],
                    });
                }
            }
        }
        if !steps.is_empty() {
            let mut env = s.env();
            let status = if self.failure.is_some() {
                "failed"
            } else {
                "success"
            };
            set_env(&mut env, "UMBRA_STATUS", status.into());
            let rec = s.runner.run(Phase::SourceAfter, &steps, &env);
            self.phase_result(rec);
        }
        // 6. after, then retention.
        if self.failure.is_none() && !job.hooks.after.is_empty() {
            let rec = s
                .runner
                .run(Phase::After, &Shared::job_steps(&job.hooks.after), &s.env());
            self.phase_result(rec);
        }
        // 7. copy_to: the snapshot into each second repository. A failed copy fails the
        // run (on_failure runs) and skips retention; the first repository's snapshot stays.
        if self.failure.is_none() {
            for target in &job.copy_to {
                let t = Instant::now();
                let r = self.copy_to(target);
                if let Err(e) = r {
                    s.runner
                        .log
                        .line("copy", &format!("into {target} failed: {}", e.message()));
                    self.fail_with(Phase::Copy, t, e);
                    break;
                }
                self.timed(Phase::Copy, t, None);
            }
        }
        if self.failure.is_none() {
            if let Some(keep) = &job.keep {
                let t = Instant::now();
                let r = self.retention(keep);
                self.timed(
                    Phase::Retention,
                    t,
                    r.err().map(|e| e.message().to_string()),
                );
            }
        }
        if backed_up && !measured {
            self.measure_repository();
        }
        // 6b. a restore drill, when the last one that passed is older than `every`.
        if self.failure.is_none() && backed_up && drill_due(job) {
            let t = Instant::now();
            let ctx = crate::drill::DrillContext {
                open_repo: self.ctx.open_repo,
                monitor: Arc::clone(&s.runner.monitor),
            };
            match crate::drill::run(job, self.snapshot_id.as_deref(), &ctx) {
                Ok(d) => {
                    if let Ok(mut r) = s.record.lock() {
                        r.warnings
                            .extend(d.warnings.iter().map(|w| format!("drill: {w}")));
                    }
                    let error = (!d.passed()).then(|| {
                        format!(
                            "the restore drill {}: {}",
                            d.status,
                            d.error.as_deref().unwrap_or("see its log")
                        )
                    });
                    self.timed(Phase::Drill, t, error);
                }
                Err(e) => self.fail_with(Phase::Drill, t, e),
            }
        }
    }
}
