//! Prometheus metrics of every job, from their histories: `umbra metrics` prints them, and
//! `[metrics] textfile` has them written after every run for node_exporter's textfile
//! collector.
//!
//! Why from the histories and not from the run in hand: the textfile must describe every
//! job, also those that did not just run, and a run that crashed before its end still
//! leaves the history as the truth. Names and units follow Prometheus' conventions
//! (`_seconds`, `_bytes`, `_total`, `_timestamp_seconds`); docs/MONITORING.md describes
//! each series.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use jiff::Timestamp;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::config::Config;
use crate::state::{JobState, RunRecord};

/// One metric family being written: its samples, then its HELP and TYPE once.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }

    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = writeln!(
                out,
                "{}{{{}}} {}",
                self.name,
                labels.join(","),
                number(*value)
            );
        }
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn timestamp(text: &str) -> Option<f64> {
    text.parse::<Timestamp>()
        .ok()
        .map(|t| t.as_millisecond() as f64 / 1000.0)
}

/// The metrics of every job of `config`, in the text exposition format.
pub fn render(config: &Config, now: Timestamp) -> Result<String> {
    use Family as F;
    let mut start = F::new(
        "umbra_job_last_run_start_timestamp_seconds",
        "gauge",
        "When the job's last run started (Unix time).",
    );
    let mut end = F::new(
        "umbra_job_last_run_end_timestamp_seconds",
        "gauge",
        "When the job's last run ended (Unix time).",
    );
    let mut duration = F::new(
        "umbra_job_last_run_duration_seconds",
        "gauge",
        "How long the job's last run took.",
    );
    let mut success = F::new(
        "umbra_job_last_success_timestamp_seconds",
        "gauge",
        "When the job's last run that saved a snapshot ended (Unix time); 0 if none ever did.",
    );
    let mut status = F::new("umbra_job_last_status", "gauge", "The status of the job's last run, as the label `status` (success, incomplete, failed, interrupted); always 1.");
    let mut running = F::new(
        "umbra_job_running",
        "gauge",
        "1 while a run of the job holds its lock, else 0.",
    );
    let mut max_age = F::new(
        "umbra_job_max_age_seconds",
        "gauge",
        "How old the last success may be before `umbra jobs --check` calls the job overdue.",
    );
    let mut files = F::new(
        "umbra_job_last_files",
        "gauge",
        "Files of the last saved backup, by `state`: new, changed, unmodified.",
    );
    let mut read = F::new(
        "umbra_job_last_read_bytes",
        "gauge",
        "Bytes of file content the last saved backup read from the sources.",
    );
    let mut added = F::new(
        "umbra_job_last_added_bytes",
        "gauge",
        "Bytes the last saved backup added to the repository, before compression.",
    );
    let mut downtime = F::new("umbra_job_last_downtime_seconds", "gauge", "From the end of `before` to the end of `after_snapshot` in the last run that had `before` commands: how long the services they stop were down.");
    let mut level = F::new("umbra_source_consistency", "gauge", "The consistency level of each source in the last saved backup, as the label `level`; always 1.");
    let mut freeze = F::new("umbra_quiescer_freeze_window_seconds", "gauge", "How long each quiescer held its application still in the last saved backup (0 if it did not freeze).");
    let mut snapshots = F::new(
        "umbra_repository_snapshots",
        "gauge",
        "Snapshots in the job's repository after its last saved backup.",
    );
    let mut size = F::new(
        "umbra_repository_size_bytes",
        "gauge",
        "Bytes of the pack files of the job's repository after its last saved backup.",
    );
    let mut runs = F::new(
        "umbra_job_runs_total",
        "counter",
        "Runs of the job in its history, by `status`.",
    );
    let mut failed_notes = F::new(
        "umbra_notifications_failed_total",
        "counter",
        "Notifications of the job's runs that could not be delivered.",
    );
    let mut cpu = F::new(
        "umbra_job_last_run_cpu_seconds",
        "gauge",
        "CPU seconds (user and system) umbra spent on the job's last run, not counting its commands.",
    );
    let mut drilled = F::new(
        "umbra_job_last_drill_success_timestamp_seconds",
        "gauge",
        "When the job's last restore drill that passed ended (Unix time); 0 if none did.",
    );
    let mut drill_status = F::new("umbra_job_last_drill_status", "gauge", "The status of the job's last drill, as the label `status` (passed, failed, interrupted); always 1.");
    let mut drill_checks = F::new(
        "umbra_drill_check_ok",
        "gauge",
        "Each check of the job's last drill: 1 if it passed, 0 if not, by `check` and `source`.",
    );
    for (name, job) in &config.jobs {
        let state = JobState::for_job(name)?;
        let history = state.history()?;
        let j = || vec![("job", name.clone())];
        running.add(j(), f64::from(u8::from(state.running().is_some())));
        if let Some(age) = crate::overdue::max_age(job, now) {
            max_age.add(j(), age.as_secs_f64());
        }
        let saved: Option<&RunRecord> = history.iter().rev().find(|r| r.saved());
        success.add(
            j(),
            saved
                .and_then(RunRecord::ended)
                .map_or(0.0, |t| t.as_millisecond() as f64 / 1000.0),
        );
        let mut notes_failed = 0u64;
        let mut by_status: std::collections::BTreeMap<&str, u64> = Default::default();
        for r in &history {
            notes_failed += r.failed_notifications().count() as u64;
            *by_status.entry(r.status.as_str()).or_default() += 1;
        }
        failed_notes.add(j(), notes_failed as f64);
        for (s, n) in by_status {
            runs.add(
                vec![("job", name.clone()), ("status", s.to_string())],
                n as f64,
            );
        }
        if let Some(last) = history.last() {
            if let Some(t) = timestamp(&last.started) {
                start.add(j(), t);
            }
            if let Some(t) = last.ended() {
                end.add(j(), t.as_millisecond() as f64 / 1000.0);
            }
            duration.add(j(), last.seconds);
            if let Some(c) = last.cpu_seconds {
                cpu.add(j(), c);
            }
            status.add(
                vec![("job", name.clone()), ("status", last.status.clone())],
                1.0,
            );
        }
        let drills = state.drills()?;
        drilled.add(
            j(),
            drills
                .iter()
                .rev()
                .find(|d| d.passed())
                .and_then(crate::drill::DrillRecord::ended)
                .map_or(0.0, |t| t.as_millisecond() as f64 / 1000.0),
        );
        if let Some(d) = drills.last() {
            drill_status.add(
                vec![("job", name.clone()), ("status", d.status.clone())],
                1.0,
            );
            for c in &d.checks {
                drill_checks.add(
                    vec![
                        ("job", name.clone()),
                        ("check", c.check.clone()),
                        ("source", c.source.clone()),
                    ],
                    f64::from(u8::from(c.ok)),
                );
            }
        }
        if let Some(d) = history.iter().rev().find_map(|r| r.downtime_seconds) {
            downtime.add(j(), d);
        }
        let Some(b) = saved.and_then(|r| r.backup.as_ref()) else {
            continue;
        };
        for (s, n) in [
            ("new", b.files_new),
            ("changed", b.files_changed),
            ("unmodified", b.files_unmodified),
        ] {
            files.add(vec![("job", name.clone()), ("state", s.into())], n as f64);
        }
        read.add(j(), b.bytes_read as f64);
        added.add(j(), b.bytes_added as f64);
        for s in &b.sources {
            level.add(
                vec![
                    ("job", name.clone()),
                    ("source", s.path.display().to_string()),
                    ("level", s.level.clone()),
                ],
                1.0,
            );
        }
        for q in &b.quiesced {
            freeze.add(
                vec![
                    ("job", name.clone()),
                    ("quiescer", q.name.clone()),
                    ("kind", q.kind.clone()),
                ],
                q.freeze_seconds,
            );
        }
        if let Some(n) = b.repository_snapshots {
            snapshots.add(j(), n as f64);
        }
        if let Some(n) = b.repository_bytes {
            size.add(j(), n as f64);
        }
    }
    let mut out = String::new();
    for f in [
        &start,
        &end,
        &duration,
        &cpu,
        &success,
        &status,
        &running,
        &max_age,
        &files,
        &read,
        &added,
        &downtime,
        &level,
        &freeze,
        &snapshots,
        &size,
        &runs,
        &failed_notes,
        &drilled,
        &drill_status,
        &drill_checks,
    ] {
        f.write(&mut out);
    }
    Ok(out)
}

/// Writes `text` to `path` atomically: a temporary file beside it, synced, then renamed
/// over it, so that node_exporter never reads half a file.
pub fn write_textfile(path: &Path, text: &str) -> Result<()> {
    let name = path.file_name().ok_or_else(|| {
        UmbraError::new(
            ErrorKind::Config,
            format!("[metrics] textfile {} names no file", path.display()),
        )
    })?;
    // node_exporter reads only `*.prom`: the temporary name does not end so.
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        UmbraError::io("cannot write the metrics textfile", path, e).with_hint(
            "Check that [metrics] textfile names a file in an existing directory umbra can write.",
        )
    })
}
