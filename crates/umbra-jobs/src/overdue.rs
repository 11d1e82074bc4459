//! The stale-backup check: is every scheduled job's last success recent enough?
//!
//! A backup that silently stopped running (a timer never installed, a machine off, a job
//! that hangs) sends no failure. The only defence is to ask, from outside, how old the
//! last success is. `umbra jobs --check` answers in the manner of a Nagios/Icinga plugin,
//! so the monitoring systems operators already run can call it unchanged.
//!
//! A success is a run that saved its snapshot ([`RunRecord::saved`]). A job's limit is its
//! `max_age`, else twice the interval between two of its scheduled times; a job with
//! neither a schedule nor a `max_age` is not checked.

use std::time::Duration;

use jiff::Timestamp;
use umbra_core::Result;

use crate::config::{Config, Job};
use crate::state::{JobState, RunRecord};

/// A plugin's states, in the order of their exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
}

impl State {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
        }
    }
}

/// One checked job.
#[derive(Debug, Clone)]
pub struct JobCheck {
    pub job: String,
    pub state: State,
    /// Seconds since the last success ended, when there was one.
    pub age: Option<f64>,
    pub max_age: Duration,
    /// What is wrong (or `on time`), in words.
    pub message: String,
}

/// How old a job's last success may be, or `None` when the job is not checked.
#[must_use]
pub fn max_age(job: &Job, now: Timestamp) -> Option<Duration> {
    if let Some(age) = job.max_age {
        return Some(age);
    }
    let calendar = job.schedule.as_ref()?;
    let first = calendar.next_after(now)?;
    let second = calendar.next_after(first)?;
    let interval = first.duration_until(second).as_secs_f64().max(1.0);
    Some(Duration::from_secs_f64(2.0 * interval))
}

/// Checks every job that has a schedule or a `max_age`, in the file's order of names.
pub fn check(config: &Config, now: Timestamp) -> Result<Vec<JobCheck>> {
    let mut checks = Vec::new();
    for (name, job) in &config.jobs {
        let Some(limit) = max_age(job, now) else {
            continue;
        };
        let history = JobState::for_job(name)?.history()?;
        checks.push(judge(name, &history, limit, now));
    }
    Ok(checks)
}

/// The state of one job with `history` (oldest first).
#[must_use]
pub fn judge(job: &str, history: &[RunRecord], limit: Duration, now: Timestamp) -> JobCheck {
    let last_saved = history.iter().rev().find(|r| r.saved());
    let age = last_saved
        .and_then(RunRecord::ended)
        .map(|t| t.duration_until(now).as_secs_f64().max(0.0));
    let last = history.last();
    let (state, message) = match (age, last) {
        (None, None) => (State::Critical, format!("{job} never ran")),
        (None, Some(r)) => (
            State::Critical,
            format!(
                "{job} never succeeded (last run {}: {})",
                r.started, r.status
            ),
        ),
        (Some(a), _) if a > limit.as_secs_f64() => (
            State::Critical,
            format!(
                "{job} last succeeded {} ago (max age {})",
                span(a),
                span(limit.as_secs_f64())
            ),
        ),
        (Some(a), Some(r)) if !r.saved() && r.status != "running" => (
            State::Warning,
            format!(
                "{job}: the last run {} ({}), the last success is {} old (max age {})",
                r.status,
                r.error.as_deref().unwrap_or("no error recorded"),
                span(a),
                span(limit.as_secs_f64())
            ),
        ),
        (Some(a), _) => (
            State::Ok,
            format!(
                "{job} succeeded {} ago (max age {})",
                span(a),
                span(limit.as_secs_f64())
            ),
        ),
    };
    JobCheck {
        job: job.to_string(),
        state,
        age,
        max_age: limit,
        message,
    }
}

/// `3d 4h`, `26h`, `5m 3s`, `12s`: the two largest units.
#[must_use]
pub fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let two = |big: u64, bu: &str, small: u64, su: &str| {
        if small == 0 {
            format!("{big}{bu}")
        } else {
            format!("{big}{bu} {small}{su}")
        }
    };
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => two(m, "m", sec, "s"),
        (0, _, _) => two(h, "h", m, "m"),
        _ => two(d, "d", h, "h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(started: &str, seconds: f64, status: &str) -> RunRecord {
        RunRecord {
            job: "db".into(),
            run_id: "r".into(),
            started: started.into(),
            seconds,
            status: status.into(),
            error: None,
            hint: None,
            phases: Vec::new(),
            snapshot_id: None,
            downtime_seconds: None,
            log: "l".into(),
            backup: None,
            warnings: Vec::new(),
            notifications: Vec::new(),
            cpu_seconds: None,
            commands_cpu_seconds: None,
            ad_hoc: false,
            triggered_by: None,
        }
    }

    #[test]
    fn states_follow_the_last_success_and_the_last_run() {
        let now: Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(judge("db", &[], day, now).state, State::Critical);
        let ok = [run("2026-12-01T02:00:00Z", 60.0, "success")];
        assert_eq!(judge("db", &ok, day, now).state, State::Ok);
        let old = [run("2026-11-29T02:00:00Z", 60.0, "success")];
        assert_eq!(judge("db", &old, day, now).state, State::Critical);
        let failed_after = [ok[0].clone(), run("2026-12-01T10:00:00Z", 5.0, "failed")];
        assert_eq!(judge("db", &failed_after, day, now).state, State::Warning);
        let only_failed = [run("2026-12-01T10:00:00Z", 5.0, "failed")];
        assert_eq!(judge("db", &only_failed, day, now).state, State::Critical);
        assert_eq!(span(93_600.0), "1d 2h");
        assert_eq!(span(7200.0), "2h");
    }
}
