//! Running the commands of one phase, in order, under their failure policies.
//!
//! A phase runs its commands one after the other. A command that fails under `fail` ends
//! the phase there (the later commands of that phase do not run) and fails it; under
//! `warn` the failure is reported and logged; under `ignore` it is only logged. Each
//! command's output, exit code and duration go into the job log, tagged with the phase.

use std::sync::Arc;
use std::time::Instant;

use umbra_core::{Event, Monitor};

use crate::command::{self, HookCommand, LineSink, OnError};
use crate::state::{CommandRecord, JobLog, PhaseRecord};

/// The phases of a job, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Preflight,
    Before,
    QuiescePrepare,
    Freeze,
    Snapshot,
    Thaw,
    AfterSnapshot,
    Backup,
    SourceAfter,
    After,
    QuiesceFinish,
    Copy,
    Retention,
    Drill,
    OnFailure,
    Finally,
}

impl Phase {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::Before => "before",
            Self::QuiescePrepare => "quiesce_prepare",
            Self::Freeze => "freeze",
            Self::Snapshot => "snapshot",
            Self::Thaw => "thaw",
            Self::AfterSnapshot => "after_snapshot",
            Self::Backup => "backup",
            Self::SourceAfter => "source_after",
            Self::After => "after",
            Self::QuiesceFinish => "quiesce_finish",
            Self::Copy => "copy",
            Self::Retention => "retention",
            Self::Drill => "drill",
            Self::OnFailure => "on_failure",
            Self::Finally => "finally",
        }
    }
}

/// Runs commands for one job, writing to its log and telling the monitor.
pub struct PhaseRunner {
    pub job: String,
    pub log: Arc<JobLog>,
    pub monitor: Arc<dyn Monitor>,
}

/// One command to run, with what is particular to it (a source's `UMBRA_SOURCE`).
pub struct Step<'a> {
    pub command: &'a HookCommand,
    pub extra_env: Vec<(String, String)>,
}

impl PhaseRunner {
    /// Runs `steps` as phase `phase` with `env`. The record's `error` is set when a
    /// command under `fail` failed.
    pub fn run(&self, phase: Phase, steps: &[Step<'_>], env: &[(String, String)]) -> PhaseRecord {
        let started = Instant::now();
        let tag = phase.as_str();
        let mut record = PhaseRecord {
            phase: tag.to_string(),
            status: "ok".into(),
            seconds: 0.0,
            commands: Vec::new(),
            error: None,
        };
        for step in steps {
            let cmd = step.command;
            let shown = cmd.line.display();
            let mut full_env = env.to_vec();
            full_env.push(("UMBRA_PHASE".into(), tag.into()));
            full_env.extend(step.extra_env.iter().cloned());
            self.log.line(tag, &format!("run: {shown}"));
            self.monitor.event(Event::Info {
                message: format!("{}: {tag}: running `{shown}`", self.job),
            });
            let log = Arc::clone(&self.log);
            let tag_owned = tag.to_string();
            let sink: LineSink = Arc::new(move |stream, line| {
                log.line(&tag_owned, &format!("{}: {line}", stream.as_str()))
            });
            let run = command::run(cmd, &full_env, &sink);
            let mut end = format!(
                "{} after {:.3} s",
                run.ending.describe(),
                run.duration.as_secs_f64()
            );
            if run.output_dropped > 0 {
                end.push_str(&format!(
                    "; {} more bytes of output were not logged",
                    run.output_dropped
                ));
            }
            if run.output_abandoned {
                end.push_str("; its output was still open (a background process holds it) and is no longer collected");
            }
            self.log.line(tag, &format!("ended: {end}"));
            record.commands.push(CommandRecord {
                command: shown.clone(),
                ending: run.ending.clone(),
                seconds: run.duration.as_secs_f64(),
                on_error: cmd.on_error,
            });
            if run.ending.success() {
                continue;
            }
            let problem = format!("`{shown}` failed: {}", run.ending.describe());
            match cmd.on_error {
                OnError::Fail => {
                    self.monitor.event(Event::Warning {
                        message: format!("{}: {tag}: {problem}", self.job),
                    });
                    record.status = "failed".into();
                    record.error = Some(format!("{tag}: {problem}"));
                    break;
                }
                OnError::Warn => {
                    self.monitor.event(Event::Warning {
                        message: format!("{}: {tag}: {problem} (on_error = \"warn\")", self.job),
                    });
                    record.status = "warned".into();
                }
                OnError::Ignore => {}
            }
        }
        record.seconds = started.elapsed().as_secs_f64();
        record
    }
}
