//! Which snapshots to keep as the base of the next backup, shared by `umbra backup` and
//! job runs (issue #22; the mechanism is `umbra_snapshot::base`).
//!
//! A kept base costs the space of everything that changes in the source until the next
//! backup, so `auto` keeps one only where it pays: for a source that holds a large file
//! cut in fixed-size chunks (a database or VM image), or that already has a base.

use std::str::FromStr;

use umbra_core::{BaseSnapshot, ErrorKind, Event, Monitor, Result, SourcePlan, UmbraError};
use umbra_repo::BackupOutcome;
use umbra_snapshot::base::Bases;
use umbra_snapshot::set::{release_base, Kept};
use umbra_snapshot::{Planner, SnapshotSet};

/// When a source's snapshot is kept as the base of its next backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepBase {
    /// For sources with large fixed-chunked files, or that already have a base.
    #[default]
    Auto,
    /// For every btrfs or reflink source.
    Always,
    /// Never; an existing base is released.
    Never,
}

impl FromStr for KeepBase {
    type Err = UmbraError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            other => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{other}` is not a keep_base policy"),
            )
            .with_hint("Use one of auto, always, never.")),
        }
    }
}

/// Where kept bases are, for one scope (a job's name, or `cli`) and repository.
pub struct BaseScope<'a> {
    pub bases: Bases,
    pub scope: &'a str,
    pub repository: &'a str,
}

impl BaseScope<'_> {
    /// Gives each source of `plan` its kept base, when it has one that is still there and
    /// was taken by the same method.
    pub fn attach(&self, plan: &mut SourcePlan) {
        for s in &mut plan.sources {
            if let Some(b) = self
                .bases
                .find(self.scope, self.repository, &s.path)
                .filter(|b| b.present() && b.method == s.method)
            {
                s.base = Some(BaseSnapshot {
                    read_from: b.read_from,
                    snapshot_id: b.snapshot_id,
                });
            }
        }
    }

    /// After a successful backup: keeps the snapshots `policy` asks for (releasing the
    /// bases they replace with the set) and releases bases that are no longer wanted.
    /// Returns a line for the summary per source that has a base now. A base that cannot
    /// be kept is a warning, not a failure: the next backup reads the files whole.
    pub fn keep(
        &self,
        set: &SnapshotSet,
        outcome: &BackupOutcome,
        policy: KeepBase,
        monitor: &dyn Monitor,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        for s in &set.sources {
            let had = self.bases.find(self.scope, self.repository, &s.path);
            let wanted = match policy {
                KeepBase::Never => false,
                KeepBase::Always => true,
                KeepBase::Auto => outcome.worth_a_base.contains(&s.path) || had.is_some(),
            };
            let kept = if wanted {
                set.keep_as_base(
                    &s.path,
                    &self.bases,
                    self.scope,
                    self.repository,
                    &outcome.snapshot.id,
                )
            } else {
                Ok(Kept::No)
            };
            match kept {
                Ok(Kept::Yes { previous }) => {
                    let cost = previous
                        .map(|p| {
                        umbra_repo::extents::kept_base_cost(
                            &p.read_from,
                            &s.read_from,
                            &outcome.base_costs,
                        )
                    })
                        .map(|c| format!("; the base it replaces held {} of its own", mib(c)))
                        .unwrap_or_default();
                    lines.push(format!(
                        "kept the snapshot of {} as the base of its next backup{cost}",
                        s.path.display()
                    ));
                }
                Ok(Kept::No) => {
                    if let Some(old) = had {
                        let released = Planner::new()
                            .and_then(|p| release_base(&old, &self.bases, &p));
                        if let Err(e) = released {
                            monitor.event(Event::Warning {
                                message: format!(
                                    "cannot release the base snapshot of {}: {}; `umbra cleanup` releases it",
                                    s.path.display(),
                                    e.message()
                                ),
                            });
                        }
                    }
                }
                Err(e) => monitor.event(Event::Warning {
                    message: format!(
                        "cannot keep the snapshot of {} as a base: {}; the next backup reads its large files whole",
                        s.path.display(),
                        e.message()
                    ),
                }),
            }
        }
        lines
    }
}

fn mib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let m = bytes as f64 / f64::from(1u32 << 20);
    format!("{m:.1} MiB")
}

/// Releases the kept bases of jobs that the job file no longer has (a job's bases go with
/// it). Bases of `umbra backup` (scope `cli`) are left alone. Returns a line per base.
pub fn release_bases_of_removed_jobs(jobs: &[&str], monitor: &dyn Monitor) -> Vec<String> {
    let Ok(bases) = Bases::default_location() else {
        return Vec::new();
    };
    bases
        .all()
        .into_iter()
        .filter(|b| b.scope != CLI_SCOPE && !jobs.contains(&b.scope.as_str()))
        .filter_map(|b| release_one(&bases, &b, monitor))
        .collect()
}

/// Releases every kept base (`umbra cleanup`). Returns a line per base released, and the
/// failures.
pub fn release_all_bases(monitor: &dyn Monitor) -> Result<(Vec<String>, Vec<String>)> {
    let bases = Bases::default_location()?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for b in bases.all() {
        match release_one(&bases, &b, monitor) {
            Some(line) => done.push(line),
            None => failed.push(format!("the base snapshot of {}", b.source.display())),
        }
    }
    Ok((done, failed))
}

/// The scope of bases kept by `umbra backup`.
pub const CLI_SCOPE: &str = "cli";

fn release_one(
    bases: &Bases,
    b: &umbra_snapshot::base::KeptBase,
    monitor: &dyn Monitor,
) -> Option<String> {
    match Planner::new().and_then(|p| release_base(b, bases, &p)) {
        Ok(()) => Some(format!(
            "released the base snapshot of {} (kept by {}{})",
            b.source.display(),
            if b.scope == CLI_SCOPE {
                "`umbra backup`"
            } else {
                "job "
            },
            if b.scope == CLI_SCOPE {
                ""
            } else {
                b.scope.as_str()
            },
        )),
        Err(e) => {
            monitor.event(Event::Warning {
                message: format!(
                    "cannot release the base snapshot of {}: {}",
                    b.source.display(),
                    e.message()
                ),
            });
            None
        }
    }
}
