//! After the backup and the `after` commands: the run's snapshot copied into each
//! `copy_to` repository, then the job's retention (forget, and prune if asked). Both open
//! repositories through the caller's `RunContext`, which knows the passwords.

use std::path::PathBuf;

use umbra_core::Result;
use umbra_repo::lock::LockKind;

use super::Flow;

impl Flow<'_> {
    /// Copies this run's snapshot into the job file's repository `target`.
    pub(super) fn copy_to(&self, target: &str) -> Result<()> {
        let Some(id) = self.snapshot_id.clone() else {
            return Ok(());
        };
        let dest = (self.ctx.open_copy_target)(target)?;
        let into = dest.location().to_string();
        let source = (self.ctx.open_repo)(LockKind::Shared)?;
        let priority = self.s.job.resources.priority;
        let outcome = crate::priority::run_at(priority, || source.copy_to(dest, &[id]))?;
        self.s.runner.log.line(
            "copy",
            &format!(
                "into {target} ({into}): {} snapshot(s) copied, {} already there",
                outcome.copied.len(),
                outcome.already_there.len()
            ),
        );
        Ok(())
    }

    /// Forgets (and prunes, if the job says so) this job's snapshots by its policy: those
    /// with the job's sources as their paths, from the host this run's snapshot names.
    pub(super) fn retention(&self, keep: &umbra_repo::forget::KeepPolicy) -> Result<()> {
        let job = &self.s.job;
        let repo = (self.ctx.open_repo)(LockKind::Exclusive)?;
        let mut mine: Vec<PathBuf> = job.sources.iter().map(|s| s.path.clone()).collect();
        mine.sort();
        let host = self.snapshot_host.clone();
        let verdicts = repo.forget_where(keep, false, &|snap| {
            let mut paths = snap.paths.clone();
            paths.sort();
            paths == mine && host.as_ref().is_none_or(|h| *h == snap.hostname)
        })?;
        let removed = verdicts.iter().filter(|v| !v.keep).count();
        self.s.runner.log.line(
            "retention",
            &format!(
                "kept {}, removed {removed} snapshot(s)",
                verdicts.len() - removed
            ),
        );
        if job.prune && removed > 0 {
            let p = crate::priority::run_at(job.resources.priority, || repo.prune())?;
            let detail = format!(
                "{} -> {} pack(s), {} bytes freed",
                p.packs_before,
                p.packs_after,
                p.bytes_freed()
            );
            self.s
                .runner
                .log
                .line("retention", &format!("pruned: {detail}"));
            if let Err(e) =
                crate::maintenance_log::append("prune", &self.ctx.repository, true, &detail)
            {
                self.s.runner.log.line("retention", e.message());
            }
        }
        Ok(())
    }
}
