//! What a run and its interrupt action share: the job, the environment its commands get,
//! the run record, and the claims that make each late phase run once.
//!
//! The interrupt action runs on the signal thread while the run may still be in a phase.
//! Each of `after_snapshot`, `on_failure` and `finally` is claimed under a lock held for
//! the phase's length: the second party waits for the first to finish it (its commands
//! have timeouts), then skips it. The history record is written once, by whoever ends first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use umbra_core::Result;

use crate::command::HookCommand;
use crate::config::Job;
use crate::phase::{Phase, PhaseRunner, Step};
use crate::state::{JobState, PhaseRecord, RunRecord};

/// Which of the late phases have run, by the run or by the interrupt action: each runs at
/// most once. Whoever runs a phase holds its lock meanwhile, so the interrupt action waits
/// for a phase the run is in the middle of (its commands have timeouts) instead of racing
/// past it.
#[derive(Default)]
pub(super) struct Claims {
    pub(super) after_snapshot: Mutex<bool>,
    pub(super) on_failure: Mutex<bool>,
    pub(super) finally: Mutex<bool>,
    /// The history record is written once.
    pub(super) recorded: Mutex<bool>,
}

/// Takes the claim on a phase: `None` if it already ran (or is poisoned).
fn claim(flag: &Mutex<bool>) -> Option<std::sync::MutexGuard<'_, bool>> {
    let mut guard = flag.lock().ok()?;
    if *guard {
        return None;
    }
    *guard = true;
    Some(guard)
}

/// What the run and its interrupt action share.
pub(super) struct Shared {
    pub(super) job: Job,
    pub(super) runner: PhaseRunner,
    pub(super) state: JobState,
    pub(super) env: Mutex<Vec<(String, String)>>,
    pub(super) record: Mutex<RunRecord>,
    pub(super) claims: Claims,
    pub(super) interrupted: AtomicBool,
    pub(super) before_started: AtomicBool,
    pub(super) before_ended: Mutex<Option<Instant>>,
    pub(super) t0: Instant,
    /// The job's notification targets, with their secrets read.
    pub(super) targets: Vec<umbra_notify::Target>,
}

pub(super) fn set_env(env: &mut Vec<(String, String)>, key: &str, value: String) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value));
}

impl Shared {
    pub(super) fn env(&self) -> Vec<(String, String)> {
        self.env.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub(super) fn set(&self, key: &str, value: String) {
        if let Ok(mut e) = self.env.lock() {
            set_env(&mut e, key, value);
        }
    }

    pub(super) fn push(&self, phase: PhaseRecord) {
        // Told as it ends, so that a watcher (`-v`, the web console) follows the run.
        self.runner.monitor.event(umbra_core::Event::PhaseEnded {
            phase: phase.phase.clone(),
            status: phase.status.clone(),
            millis: (phase.seconds * 1000.0) as u64,
        });
        if let Ok(mut r) = self.record.lock() {
            r.phases.push(phase);
        }
    }

    pub(super) fn job_steps(cmds: &[HookCommand]) -> Vec<Step<'_>> {
        cmds.iter()
            .map(|c| Step {
                command: c,
                extra_env: Vec::new(),
            })
            .collect()
    }

    /// Runs `after_snapshot` unless it already ran; returns its record.
    pub(super) fn after_snapshot(&self) -> Option<PhaseRecord> {
        let _claim = claim(&self.claims.after_snapshot)?;
        let steps = Self::job_steps(&self.job.hooks.after_snapshot);
        let rec = self.runner.run(Phase::AfterSnapshot, &steps, &self.env());
        if let (Ok(mut r), Ok(end)) = (self.record.lock(), self.before_ended.lock()) {
            if !self.job.hooks.before.is_empty()
                || self.job.sources.iter().any(|s| !s.before.is_empty())
            {
                let from = end.unwrap_or(self.t0);
                r.downtime_seconds = Some(from.elapsed().as_secs_f64());
            }
        }
        Some(rec)
    }

    pub(super) fn on_failure(&self, status: &str, error: &str) -> Option<PhaseRecord> {
        let _claim = claim(&self.claims.on_failure)?;
        let mut env = self.env();
        set_env(&mut env, "UMBRA_STATUS", status.into());
        set_env(&mut env, "UMBRA_ERROR", error.into());
        Some(self.runner.run(
            Phase::OnFailure,
            &Self::job_steps(&self.job.hooks.on_failure),
            &env,
        ))
    }

    pub(super) fn finally(&self, status: &str, error: Option<&str>) -> Option<PhaseRecord> {
        let _claim = claim(&self.claims.finally)?;
        let mut env = self.env();
        set_env(&mut env, "UMBRA_STATUS", status.into());
        if let Some(e) = error {
            set_env(&mut env, "UMBRA_ERROR", e.into());
        }
        Some(self.runner.run(
            Phase::Finally,
            &Self::job_steps(&self.job.hooks.finally),
            &env,
        ))
    }

    /// The interrupt action: whatever the run had not done yet of after_snapshot (if
    /// `before` started), on_failure and finally; then the history record.
    pub(super) fn interrupted(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        let error = "interrupted by a signal";
        self.runner.log.line("run", error);
        if self.before_started.load(Ordering::SeqCst) {
            if let Some(r) = self.after_snapshot() {
                self.push(r);
            }
        }
        if let Some(r) = self.on_failure("interrupted", error) {
            self.push(r);
        }
        if let Some(r) = self.finally("interrupted", Some(error)) {
            self.push(r);
        }
        let record = self.record.lock().map(|mut r| {
            r.status = "interrupted".into();
            r.error = Some(error.into());
            r.seconds = self.t0.elapsed().as_secs_f64();
            r.clone()
        });
        if let Ok(r) = record {
            let _ = self.record_once(r);
        }
    }

    /// Tells the targets how the run ended and appends the record, with their answers, to
    /// the history: once, by the run or by the interrupt action, whichever ends first.
    /// Returns the record as written (or as given, when the other party wrote it).
    pub(super) fn record_once(&self, mut record: RunRecord) -> Result<RunRecord> {
        let Some(_claim) = claim(&self.claims.recorded) else {
            return Ok(record);
        };
        let event = super::notify::event_of(&record);
        let deliveries = super::notify::send(
            &self.targets,
            event,
            &record,
            &self.runner.log,
            self.runner.monitor.as_ref(),
        );
        record.notifications.extend(deliveries);
        self.state.append(&record)?;
        Ok(record)
    }
}

/// A run's ID: its start time, and for an ad-hoc backup also the process (ad-hoc backups
/// may start in the same millisecond; a job's runs cannot overlap).
pub(super) fn run_id(job: &Job, started: jiff::Timestamp) -> String {
    let at = started.strftime("%Y%m%dT%H%M%S%.3fZ");
    match job.ad_hoc {
        None => at.to_string(),
        Some(_) => format!("{at}-{}", std::process::id()),
    }
}

/// Removes the staging directories of ad-hoc backups whose process is gone (a job's own is
/// removed by its next run, which the job lock makes the only one).
pub(super) fn sweep_ad_hoc_staging() {
    let Ok(root) = umbra_snapshot::registry::state_dir().map(|d| d.join("staging")) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix(super::freeze::AD_HOC_STAGING))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !umbra_core::os::process_alive(pid) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}
