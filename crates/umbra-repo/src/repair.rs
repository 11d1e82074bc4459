//! Ways back from damage: `repair index`, `repair snapshots`, and noticing lost packs
//! before a backup relies on them.
//!
//! The meanings are restic's:
//! - `repair index` rebuilds the index from the packs that exist: packs the index names
//!   but the repository lost leave it, packs nothing indexes (an interrupted backup's)
//!   are read and added. Afterwards a backup stores again whatever was lost, if the
//!   source still has it.
//! - `repair snapshots` rewrites the snapshots that refer to data the index no longer
//!   has: files lose the lost parts and get the suffix `.repaired`, unreadable
//!   directories become empty; the new snapshots are tagged `repaired`. With `forget`,
//!   the originals are removed.
//!
//! A backup deduplicates against the index. If the index names a pack that is gone, the
//! backup "stores" nothing for the blobs in it and the new snapshot cannot be restored.
//! So [`Repo::lost_packs`] runs before every backup, and the backup repairs the index
//! first when it finds any (see `backup.rs`).

use std::collections::BTreeSet;

use rustic_core::repofile::{IndexFile, PackId};
use rustic_core::{FileType, RepairIndexOptions, RepairSnapshotsOptions};
use umbra_core::{ErrorKind, Event, Result, UmbraError};

use crate::error::rustic;
use crate::lock::{LockGuard, LockKind};
use crate::repo::Repo;

/// The mark of a backup that has not finished (removed when its snapshot is saved).
const UNFINISHED: &str = "backup-unfinished";
/// The mark whose time is the last reconciliation of the index with the packs.
const RECONCILED: &str = "index-reconciled";
/// How often a remote repository's index is reconciled when nothing calls for it.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What `repair snapshots` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RepairSnapshotsOutcome {
    /// Snapshots before and after.
    pub before: usize,
    pub after: usize,
    /// Ids (short) of the snapshots written by the repair.
    pub written: Vec<String>,
}

impl Repo {
    /// The packs the index files name, and the packs the repository has.
    fn indexed_and_present(&self) -> Result<(BTreeSet<PackId>, BTreeSet<PackId>)> {
        let mut indexed = BTreeSet::new();
        for index in self
            .inner
            .stream_files::<IndexFile>()
            .map_err(rustic("cannot read the index"))?
        {
            let (_, index) = index.map_err(rustic("cannot read an index file"))?;
            indexed.extend(index.packs.into_iter().map(|p| p.id));
        }
        let present = self
            .inner
            .list::<PackId>()
            .map_err(rustic("cannot list the repository's packs"))?
            .collect();
        Ok((indexed, present))
    }

    /// Packs the index names that the repository does not have (as hex ids).
    pub fn lost_packs(&self) -> Result<Vec<String>> {
        let (indexed, present) = self.indexed_and_present()?;
        Ok(indexed
            .difference(&present)
            .map(|p| p.to_hex().as_str().to_string())
            .collect())
    }

    /// Packs in the repository that no index names.
    pub fn unindexed_packs(&self) -> Result<usize> {
        let (indexed, present) = self.indexed_and_present()?;
        Ok(present.difference(&indexed).count())
    }

    /// restic's `repair index`; `read_all` reads every pack instead of trusting the
    /// index for the packs it names. Needs an exclusive lock.
    pub fn repair_index(&self, read_all: bool, dry_run: bool) -> Result<()> {
        let mut opts = RepairIndexOptions::default();
        opts.read_all = read_all;
        self.inner
            .repair_index(&opts, dry_run)
            .map_err(rustic("cannot repair the index"))
    }

    /// restic's `repair snapshots`. Run `repair index` first: what the index does not
    /// name counts as lost.
    pub fn repair_snapshots(self, forget: bool, dry_run: bool) -> Result<RepairSnapshotsOutcome> {
        let snaps = self.readable_snapshots()?;
        let before: BTreeSet<String> = self.snapshot_hex_ids()?;
        let monitor = std::sync::Arc::clone(&self.monitor);
        let Repo { inner, lock, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let mut opts = RepairSnapshotsOptions::default();
        opts.delete = forget;
        repo.repair_snapshots(&opts, snaps, dry_run)
            .map_err(rustic("cannot repair the snapshots"))?;
        let after: BTreeSet<String> = repo
            .list::<rustic_core::repofile::SnapshotId>()
            .map_err(rustic("cannot list the snapshots"))?
            .map(|id| id.to_hex().as_str().to_string())
            .collect();
        drop(lock);
        let written: Vec<String> = after
            .difference(&before)
            .map(|id| id[..8].to_string())
            .collect();
        for id in &written {
            monitor.event(Event::Info {
                message: format!("wrote repaired snapshot {id}"),
            });
        }
        Ok(RepairSnapshotsOutcome {
            before: before.len(),
            after: after.len(),
            written,
        })
    }

    fn snapshot_hex_ids(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .inner
            .list::<rustic_core::repofile::SnapshotId>()
            .map_err(rustic("cannot list the snapshots"))?
            .map(|id| id.to_hex().as_str().to_string())
            .collect())
    }

    /// How many snapshot files the repository has (read or not): for the metrics.
    pub fn snapshot_count(&self) -> Result<u64> {
        Ok(self.snapshot_hex_ids()?.len() as u64)
    }

    /// Total bytes and count of the pack files (for what `prune` really freed).
    pub fn pack_usage(&self) -> Result<(u64, usize)> {
        let packs = self
            .inner
            .infos_files()
            .map_err(rustic("cannot list the repository's files"))?;
        let packs = packs
            .repo
            .iter()
            .find(|f| f.tpe == FileType::Pack)
            .map_or((0, 0), |f| (f.size, f.count as usize));
        Ok(packs)
    }

    /// Before a backup, the index is made to agree with the packs:
    ///
    /// - when it names packs the repository lost, it is repaired, so that the backup
    ///   stores their blobs again instead of pointing at data that is gone (an error if
    ///   that cannot be done now);
    /// - when the repository has packs no index names (what a backup that failed or was
    ///   killed half-way stored: a server that went away, a crash), they are indexed, so
    ///   that this backup reuses their data instead of uploading it again. Packs of a
    ///   backup still running elsewhere look the same, so this happens only when no other
    ///   process holds a lock (the exclusive lock is taken for the repair alone).
    pub(crate) fn reconcile_index(&mut self) -> Result<()> {
        let (indexed, present) = self.indexed_and_present()?;
        let lost: Vec<String> = indexed
            .difference(&present)
            .map(|p| p.to_hex().as_str().to_string())
            .collect();
        let unindexed = present.difference(&indexed).count();
        if let Some(first) = lost.first() {
            self.monitor.event(Event::Damage {
                message: format!(
                    "the index names {} pack(s) the repository does not have (pack {}…); \
                     repairing the index first, so that this backup stores their data again",
                    lost.len(),
                    &first[..8]
                ),
            });
            return self.repair_index_exclusively().map_err(|e| {
                UmbraError::new(
                    ErrorKind::RepositoryDamaged,
                    format!(
                        "{} pack(s) the index names are missing, and the index cannot be \
                         repaired now: {}",
                        lost.len(),
                        e.message()
                    ),
                )
                .with_hint(
                    "Run `umbra repair index` once no other process uses the repository, then \
                     back up again; `umbra repair snapshots` mends the snapshots that lost data.",
                )
            });
        }
        if unindexed == 0 {
            return Ok(());
        }
        match self.repair_index_exclusively() {
            Ok(()) => self.monitor.event(Event::Notice {
                message: format!(
                    "indexed {unindexed} pack(s) that an earlier backup stored but did not \
                     finish; this backup reuses their data"
                ),
            }),
            Err(e) => self.monitor.event(Event::Warning {
                message: format!(
                    "{unindexed} pack(s) no index names are left alone (another process \
                     holds a lock, perhaps a backup storing them): {}",
                    e.message()
                ),
            }),
        }
        Ok(())
    }

    /// Runs [`Self::reconcile_index`] when it is worth its listing of every pack, and
    /// marks this backup unfinished (see [`Self::unfinished_mark`]). A local repository
    /// is reconciled before every backup (its listing costs milliseconds). A remote one
    /// lists one request per 1,000 packs on S3 but one per directory (257) over SFTP, 0.65 s
    /// on loopback and seconds over a WAN; so it is reconciled when the last backup from
    /// this machine did not finish (it failed or was killed: its packs wait to be
    /// indexed), when no local cache holds the marks, and otherwise once a day.
    pub(crate) fn reconcile_before_backup(&mut self) -> Result<()> {
        let marks = self.marks_dir();
        let due = self.location.local_path().is_some()
            || marks.as_ref().is_none_or(|dir| {
                let unfinished = dir.join(UNFINISHED).exists();
                let last = std::fs::metadata(dir.join(RECONCILED))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                unfinished || last.is_none_or(|age| age > RECONCILE_EVERY)
            });
        if due {
            self.reconcile_index()?;
        }
        if let Some(dir) = marks {
            // The marks only save work: failing to write them changes nothing else.
            let _ = std::fs::create_dir_all(&dir);
            if due {
                let _ = std::fs::write(dir.join(RECONCILED), b"");
            }
            let _ = std::fs::write(dir.join(UNFINISHED), b"");
        }
        Ok(())
    }

    /// The mark that this machine's backup has not finished; remove it once the backup's
    /// snapshot is saved (nothing then waits to be indexed).
    pub(crate) fn unfinished_mark(&self) -> Option<std::path::PathBuf> {
        self.marks_dir().map(|dir| dir.join(UNFINISHED))
    }

    /// Where this machine keeps its marks about the repository: beside its cache.
    fn marks_dir(&self) -> Option<std::path::PathBuf> {
        crate::cache::base().map(|b| b.join(self.id()).join("umbra-marks"))
    }

    /// `repair index` (headers of the packs no index names are read) under an exclusive
    /// lock taken for it alone; the command's own lock is given back afterwards.
    fn repair_index_exclusively(&mut self) -> Result<()> {
        let dir = self.location.lock_dir()?;
        let key = self.inner.key();
        let had = self.lock.take().is_some();
        let exclusive = LockGuard::acquire(
            dir.clone(),
            &key,
            LockKind::Exclusive,
            self.monitor.as_ref(),
        );
        let repaired = exclusive.and_then(|guard| {
            let r = self.repair_index(false, false);
            drop(guard);
            r
        });
        if had {
            self.lock = Some(LockGuard::acquire(
                dir,
                &key,
                LockKind::Shared,
                self.monitor.as_ref(),
            )?);
        }
        repaired
    }
}

/// Indexes the packs an interrupted backup finished, so that the next backup reuses them
/// instead of storing them again. Runs from the signal handler, while the backup's lock is
/// still held; opens the repository a second time with the master key.
pub(crate) fn index_finished_packs(
    location: &crate::repo::RepoLocation,
    key: rustic_core::repofile::MasterKey,
) -> Result<()> {
    let backends = location.backends()?;
    let repo = rustic_core::Repository::new(&crate::repo::repository_options(), &backends)
        .map_err(rustic("cannot open the repository's storage"))?
        .open(&rustic_core::Credentials::Masterkey(key))
        .map_err(rustic("cannot open the repository"))?;
    repo.repair_index(&RepairIndexOptions::default(), false)
        .map_err(rustic("cannot index the packs already stored"))
}
