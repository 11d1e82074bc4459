//! Telling the job's notification targets: `start` when a run begins, and one of
//! `success`, `warning` or `failure` when it ends, before its record is written so that
//! the record holds what each target answered.
//!
//! Delivery never changes a run's status (umbra-notify bounds it in time and never fails);
//! a failed delivery is in the record, in the log, said at every verbosity, and makes the
//! *next* run a `warning`, so a target that stays silent is noticed at the others.

use std::io::{Read, Seek, SeekFrom};

use umbra_core::Event;
use umbra_notify::{Delivery, EventKind, Notification, Target};

use super::shared::Shared;
use crate::config::Job;
use crate::state::{JobLog, RunRecord};

/// A job's targets, with their secrets read; a target whose secret cannot be read is not
/// sent to, and its failure is a delivery record of its own.
pub(super) fn targets(job: &Job) -> (Vec<Target>, Vec<Delivery>) {
    let mut targets = Vec::new();
    let mut failed = Vec::new();
    for spec in &job.notify {
        match spec.target() {
            Ok(t) => targets.push(t),
            Err(why) => failed.push(Delivery {
                target: spec.label(),
                event: EventKind::Start,
                ok: false,
                status: None,
                answer: None,
                error: Some(why),
                tries: 0,
                seconds: 0.0,
            }),
        }
    }
    (targets, failed)
}

/// The event a finished run is: its status, lowered to `warning` by `warnings`.
#[must_use]
pub(super) fn event_of(record: &RunRecord) -> EventKind {
    match record.status.as_str() {
        "success" if record.warnings.is_empty() => EventKind::Success,
        "success" | "incomplete" => EventKind::Warning,
        _ => EventKind::Failure,
    }
}

/// The one line every service gets: status, files, bytes added, duration, downtime,
/// consistency per source, and the error or the warnings.
#[must_use]
pub fn summary(record: &RunRecord, host: &str) -> String {
    let mut parts = vec![format!(
        "job {} on {host}: {} in {:.1} s",
        record.job, record.status, record.seconds
    )];
    if let Some(id) = &record.snapshot_id {
        parts.push(format!("snapshot {}", &id[..id.len().min(8)]));
    }
    if let Some(b) = &record.backup {
        parts.push(format!(
            "files {} new, {} changed, {} unmodified; {} added",
            b.files_new,
            b.files_changed,
            b.files_unmodified,
            umbra_core::units::human_bytes(b.bytes_added)
        ));
    }
    if let Some(d) = record.downtime_seconds {
        parts.push(format!("downtime {d:.3} s"));
    }
    if let Some(b) = &record.backup {
        let levels: Vec<String> = b
            .sources
            .iter()
            .map(|s| format!("{} {}", s.path.display(), s.level))
            .collect();
        if !levels.is_empty() {
            parts.push(format!("consistency: {}", levels.join(", ")));
        }
    }
    if let Some(e) = &record.error {
        parts.push(format!("error: {e}"));
    }
    for w in &record.warnings {
        parts.push(format!("warning: {w}"));
    }
    parts.join("; ")
}

/// The last [`umbra_notify::LOG_TAIL_BYTES`] of the run's log, cut at a line start.
fn log_tail(log: &JobLog) -> String {
    let Ok(mut f) = std::fs::File::open(&log.path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let max = umbra_notify::LOG_TAIL_BYTES as u64;
    let from = len.saturating_sub(max);
    if f.seek(SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = f.take(max).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match (from > 0, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_string(),
        _ => text,
    }
}

/// Sends `event` about `record` to `targets`; logs each answer, says each failure, and
/// returns the deliveries.
pub(super) fn send(
    targets: &[Target],
    event: EventKind,
    record: &RunRecord,
    log: &JobLog,
    monitor: &dyn umbra_core::Monitor,
) -> Vec<Delivery> {
    if !targets.iter().any(|t| t.wants(event)) {
        return Vec::new();
    }
    let host = host_name();
    let n = Notification {
        event,
        job: record.job.clone(),
        host: host.clone(),
        run_id: record.run_id.clone(),
        summary: summary(record, &host),
        record: serde_json::to_value(record).unwrap_or_default(),
        log_tail: log_tail(log),
    };
    let deliveries = umbra_notify::deliver(targets, &n, &umbra_notify::Limits::default());
    report(&deliveries, log, monitor, &record.job);
    deliveries
}

/// Logs each delivery and says each failure.
pub(super) fn report(
    deliveries: &[Delivery],
    log: &JobLog,
    monitor: &dyn umbra_core::Monitor,
    job: &str,
) {
    for d in deliveries {
        let what = match (&d.error, d.status) {
            (None, Some(code)) => format!("HTTP {code}"),
            (Some(e), _) => e.clone(),
            (None, None) => "sent".into(),
        };
        log.line(
            "notify",
            &format!(
                "{} {}: {} after {} tr{} in {:.3} s",
                d.event.as_str(),
                d.target,
                what,
                d.tries,
                if d.tries == 1 { "y" } else { "ies" },
                d.seconds
            ),
        );
        if !d.ok {
            monitor.event(Event::Notice {
                message: format!(
                    "{job}: the {} notification to {} failed: {what} (the backup is not affected)",
                    d.event.as_str(),
                    d.target
                ),
            });
        }
    }
}

/// This machine's name, as notifications show it.
#[must_use]
pub fn host_name() -> String {
    umbra_core::os::hostname()
}

/// Sends `start`, and notes as warnings of this run the deliveries that failed: those of
/// the previous run, and the start of this one.
pub(super) fn start(s: &Shared, previous: Option<&RunRecord>, mut failed: Vec<Delivery>) {
    let Ok(record) = s.record.lock().map(|r| r.clone()) else {
        return;
    };
    report(
        &failed,
        &s.runner.log,
        s.runner.monitor.as_ref(),
        &s.job.name,
    );
    failed.extend(send(
        &s.targets,
        EventKind::Start,
        &record,
        &s.runner.log,
        s.runner.monitor.as_ref(),
    ));
    let mut warnings = Vec::new();
    if let Some(prev) = previous {
        let lost: Vec<String> = prev
            .failed_notifications()
            .map(|d| format!("{} to {}", d.event.as_str(), d.target))
            .collect();
        if !lost.is_empty() {
            warnings.push(format!(
                "notification(s) of the previous run ({}) failed: {}",
                prev.run_id,
                lost.join(", ")
            ));
        }
    }
    for d in failed.iter().filter(|d| !d.ok) {
        warnings.push(format!(
            "the start notification to {} failed: {}",
            d.target,
            d.error.as_deref().unwrap_or("no answer")
        ));
    }
    if let Ok(mut r) = s.record.lock() {
        r.notifications = failed;
        r.warnings.extend(warnings);
    }
}
