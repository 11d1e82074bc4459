//! The job's quiescers around its snapshot set: building them from the job file, taking
//! the set while they are frozen (with retries when the bound runs out), and marking the
//! sources they covered as application-consistent.

use std::sync::{Arc, Mutex};

use umbra_core::{ConsistencyLevel, Event, Method, QuiesceRecord, Result, SourcePlan};
use umbra_snapshot::SnapshotSet;

use super::shared::Shared;
use crate::phase::{Phase, Step};
use crate::quiesce::command::{CommandQuiescer, Exec};
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
            let q: Box<dyn Quiescer> = Box::new(CommandQuiescer {
                name: spec.name.clone(),
                covers: spec.covers.clone(),
                prepare: spec.prepare.clone(),
                freeze: spec.freeze.clone(),
                thaw: spec.thaw.clone(),
                finish: spec.finish.clone(),
                exec,
            });
            Arc::new(Mutex::new(q))
        })
        .collect()
}

/// Takes the snapshot set with every quiescer frozen; an attempt whose freeze outlasts
/// the job's `freeze_timeout` is discarded and, `quiesce_retries` times, tried again.
pub(super) fn take_frozen(
    s: &Arc<Shared>,
    quiescers: &[quiesce::Shared],
    take: &dyn Fn() -> Result<SnapshotSet>,
) -> Result<(SnapshotSet, Vec<QuiesceRecord>)> {
    quiesce::prepare_all(quiescers)?;
    let mut attempt = 0;
    loop {
        match quiesce::while_frozen(quiescers, s.job.freeze_timeout, take) {
            Ok((set, records)) => {
                for r in &records {
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
            Err(e) => return Err(e.into_error()),
        }
    }
}

/// Puts the freeze records into `plan`, and raises the sources a quiescer covered to
/// app-consistent where a snapshot froze them. A source read directly is read after the
/// thaw, so the freeze gave it nothing: it keeps its level, and the monitor hears why.
pub(super) fn apply(s: &Shared, plan: &mut SourcePlan, records: &[QuiesceRecord]) {
    plan.quiesced = records.to_vec();
    for src in &mut plan.sources {
        let covered = records
            .iter()
            .any(|r| r.covers.iter().any(|c| src.path.starts_with(c)));
        if !covered {
            continue;
        }
        if src.method == Method::Direct {
            s.runner.monitor.event(Event::Warning {
                message: format!(
                    "{}: {} is read directly, after the thaw: the freeze does not make it app-consistent",
                    s.job.name,
                    src.path.display()
                ),
            });
        } else {
            src.expected = ConsistencyLevel::AppConsistent;
        }
    }
}
