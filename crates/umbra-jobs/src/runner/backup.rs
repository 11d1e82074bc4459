//! The backup phase of a run: the snapshot set read into the repository, and the
//! figures of it that the run's record keeps for the metrics and the notifications.

use std::sync::Arc;
use std::time::Instant;

use umbra_core::{ErrorKind, Event, Result, UmbraError};
use umbra_repo::lock::LockKind;
use umbra_repo::BackupRequest;
use umbra_snapshot::SnapshotSet;

use super::{freeze, Flow};
use crate::bases::BaseScope;
use crate::phase::Phase;

impl Flow<'_> {
    /// Reads the data from the snapshot set into the repository. True on success.
    pub(super) fn backup(&mut self, set: &SnapshotSet) -> bool {
        let s = Arc::clone(self.s);
        let job = &s.job;
        let t = Instant::now();
        let mut plan = set.plan();
        freeze::apply(&s, &mut plan, &self.quiesced, &self.quiescers);
        // Ad-hoc backups share one scope of kept bases, as before they were runs.
        let scope = match job.ad_hoc {
            None => job.name.as_str(),
            Some(_) => crate::bases::CLI_SCOPE,
        };
        let bases = umbra_snapshot::base::Bases::default_location().map(|bases| BaseScope {
            bases,
            scope,
            repository: &self.ctx.repository,
        });
        let extra = job.ad_hoc.clone().unwrap_or_default();
        let parent = self.parent.clone();
        if let Ok(b) = &bases {
            b.attach(&mut plan);
        }
        let open_repo = self.ctx.open_repo;
        let request = BackupRequest {
            plan,
            excludes: crate::steps::excludes(&job.exclude),
            exclude_files: extra.exclude_files,
            exclude_caches: job.exclude_caches,
            iexcludes: job.iexclude.clone(),
            exclude_if_present: job.exclude_if_present.clone(),
            exclude_larger_than: job.exclude_larger_than,
            one_file_system: job.one_file_system,
            tags: job.tags.clone(),
            host: job.host.clone(),
            force_full_read: extra.force_full_read,
            change_retries: job.change_retries,
            chunking: umbra_repo::chunking::Chunking::Auto,
            read_concurrency: job.threads,
            source_chunking: job
                .sources
                .iter()
                .map(|s| (s.path.clone(), s.chunking))
                .collect(),
            parent,
            time: extra.time,
            with_atime: extra.with_atime,
            limit_read: job.resources.limit_read,
            read_around_cache: job.resources.priority == crate::priority::Priority::Low,
            compression: job.resources.compression,
        };
        // Reading and storing at the job's priority, on a thread of their own when low;
        // the snapshot set was taken (and is verified) at the run's own priority.
        let result = crate::priority::run_at(job.resources.priority, || {
            open_repo(LockKind::Shared).and_then(|repo| repo.backup(&request, &|| set.verify()))
        });
        match result {
            Ok(outcome) => {
                let id = outcome.snapshot.id.clone();
                self.snapshot_host = Some(outcome.snapshot.hostname.clone());
                self.snapshot_id = Some(id.clone());
                s.set("UMBRA_SNAPSHOT_ID", id.clone());
                if let Ok(mut r) = s.record.lock() {
                    r.snapshot_id = Some(id.clone());
                }
                let problems = outcome.unreadable_count() + outcome.changed_count();
                self.incomplete = problems > 0;
                if let Ok(mut r) = s.record.lock() {
                    r.backup = Some(figures(&outcome));
                    r.warnings.extend(warnings(&outcome));
                }
                s.runner.log.line(
                    "backup",
                    &format!(
                        "snapshot {} saved: {} files new, {} changed, {} unmodified; {} bytes added; consistency: {}{}",
                        outcome.snapshot.short_id,
                        outcome.files_new,
                        outcome.files_changed,
                        outcome.files_unmodified,
                        outcome.bytes_added,
                        outcome.record.short(),
                        if problems > 0 {
                            format!("; {problems} file(s) unreadable or changed while read")
                        } else {
                            String::new()
                        }
                    ),
                );
                s.runner.monitor.event(Event::Info {
                    message: format!("{}: snapshot {} saved", job.name, outcome.snapshot.short_id),
                });
                if let Ok(b) = &bases {
                    let monitor = s.runner.monitor.as_ref();
                    for line in b.keep(set, &outcome, job.keep_base, monitor) {
                        s.runner.log.line("backup", &line);
                        self.bases_kept.push(line);
                    }
                }
                self.outcome = Some(outcome);
                self.timed(Phase::Backup, t, None);
                true
            }
            Err(e) => {
                s.runner
                    .log
                    .line("backup", &format!("failed: {}", e.message()));
                self.fail_with(Phase::Backup, t, e);
                false
            }
        }
    }

    /// Releases the snapshot set. Releasing costs wall time (deleting a btrfs snapshot
    /// evicts every inode read from it: 0.14 s after 32,000 files), so when the backup
    /// succeeded and nothing after this step changes the repository (no copy, no
    /// retention), the repository's figures are measured meanwhile. Returns the release's
    /// result and whether the figures were measured.
    pub(super) fn release_measuring(
        &self,
        set: SnapshotSet,
        backed_up: bool,
    ) -> (Result<()>, bool) {
        let job = &self.s.job;
        let measure_now = backed_up && job.copy_to.is_empty() && job.keep.is_none();
        let released = std::thread::scope(|scope| {
            let release = scope.spawn(move || set.release());
            if measure_now {
                self.measure_repository();
            }
            release.join().unwrap_or_else(|_| {
                Err(UmbraError::new(
                    ErrorKind::Internal,
                    "the snapshot release panicked; the next run releases what is left",
                ))
            })
        });
        (released, measure_now)
    }

    /// The repository's snapshots and pack bytes after the run, for the metrics. Best
    /// effort: a repository that cannot be read now leaves the figures out.
    pub(super) fn measure_repository(&self) {
        let measured = (self.ctx.open_repo)(LockKind::Shared).and_then(|repo| {
            let snapshots = repo.snapshot_count()?;
            let (bytes, _) = repo.pack_usage()?;
            Ok((snapshots, bytes))
        });
        match measured {
            Ok((snapshots, bytes)) => {
                if let Ok(mut r) = self.s.record.lock() {
                    if let Some(b) = r.backup.as_mut() {
                        b.repository_snapshots = Some(snapshots);
                        b.repository_bytes = Some(bytes);
                    }
                }
            }
            Err(e) => self.s.runner.log.line(
                "run",
                &format!("cannot measure the repository: {}", e.message()),
            ),
        }
    }
}

/// What the metrics and the notifications' summary need of a backup.
fn figures(outcome: &umbra_repo::BackupOutcome) -> crate::state::BackupFigures {
    use crate::state::{BackupFigures, QuiesceFigures, SourceFigures};
    BackupFigures {
        files_new: outcome.files_new,
        files_changed: outcome.files_changed,
        files_unmodified: outcome.files_unmodified,
        bytes_read: outcome.bytes_read,
        bytes_added: outcome.bytes_added,
        sources: outcome
            .record
            .sources
            .iter()
            .map(|s| SourceFigures {
                path: s.path.clone(),
                method: s.method.to_string(),
                level: s.level.as_str().to_string(),
            })
            .collect(),
        quiesced: outcome
            .record
            .quiesced
            .iter()
            .map(|q| QuiesceFigures {
                name: q.name.clone(),
                kind: q.kind.clone(),
                freeze_seconds: q.freeze_us as f64 / 1e6,
                failed: q.details.contains_key("failed"),
            })
            .collect(),
        repository_snapshots: None,
        repository_bytes: None,
    }
}

/// What makes a saved backup a `warning`: files changed while read, unreadable or gone,
/// and quiescers the run went on without (their sources got less than the job asked).
fn warnings(outcome: &umbra_repo::BackupOutcome) -> Vec<String> {
    let mut w = Vec::new();
    for s in &outcome.record.sources {
        let (changed, unreadable, gone) = (
            s.changed_while_read.len(),
            s.unreadable.len(),
            s.vanished.len(),
        );
        if changed + unreadable + gone > 0 {
            w.push(format!(
                "{}: {changed} file(s) changed while read, {unreadable} unreadable, {gone} vanished ({})",
                s.path.display(),
                s.level
            ));
        }
    }
    for q in &outcome.record.quiesced {
        if let Some(why) = q.details.get("failed") {
            w.push(format!(
                "quiescer `{}` {why}; what it covers is below the consistency the job asked for",
                q.name
            ));
        }
    }
    w
}
