//! Backing up a source plan.
//!
//! The flow: check that every source can be read at all (a missing source fails the run
//! before anything is written), walk and read the sources through a
//! [`PlannedReadSource`](crate::source), let rustic_core chunk, deduplicate, encrypt and
//! store, then write the consistency record into the snapshot.
//!
//! rustic_core saves the snapshot file itself, before we know the record. So the record is
//! added by saving a second snapshot file with the same content plus the record, then
//! removing the first. A crash between the two leaves a snapshot without a record, which
//! umbra shows as consistency `-` (unknown): it never claims more than it knows.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rustic_core::repofile::SnapshotId;
use rustic_core::{
    BackupOptions, Excludes, LocalSourceFilterOptions, LocalSourceSaveOptions, SnapshotOptions,
    TimeOption,
};
use umbra_core::{
    ConsistencyLevel, ConsistencyRecord, ErrorKind, PlannedSource, Result, SourceConsistency,
    SourcePlan, UmbraError,
};

use crate::chunking::Chunking;
use crate::error::{from_rustic_at, rustic};
use crate::repo::Repo;
pub use crate::size::parse_size;
use crate::snapshots::SnapshotInfo;
use crate::source::{Filters, PlannedReadSource};

/// What to back up and how.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub plan: SourcePlan,
    /// Glob patterns of paths to leave out (restic's `--exclude`).
    pub excludes: Vec<String>,
    /// Files holding such patterns, one per line.
    pub exclude_files: Vec<PathBuf>,
    /// Glob patterns matched without regard to case (restic's `--iexclude`).
    pub iexcludes: Vec<String>,
    /// Leave out directories that hold a `CACHEDIR.TAG` file.
    pub exclude_caches: bool,
    /// Leave out directories that hold a file of one of these names
    /// (restic's `--exclude-if-present`).
    pub exclude_if_present: Vec<String>,
    /// Leave out files larger than this many bytes (restic's `--exclude-larger-than`).
    pub exclude_larger_than: Option<u64>,
    /// Do not cross filesystem boundaries below a source.
    pub one_file_system: bool,
    pub tags: Vec<String>,
    /// Overrides the host name recorded in the snapshot (and used to find the parent).
    pub host: Option<String>,
    /// Read every file again, ignoring the parent snapshot.
    pub force_full_read: bool,
    /// How often a file that changed while it was read is read again (small files only).
    pub change_retries: u32,
    /// How files are cut into chunks, unless a source has its own policy.
    pub chunking: Chunking,
    /// Sources with their own chunking policy, by the path the user named.
    pub source_chunking: Vec<(PathBuf, Chunking)>,
    /// The parent snapshot (its full id), instead of the newest of the same host and
    /// paths (restic's `--parent`).
    pub parent: Option<String>,
    /// The snapshot's time, instead of now (restic's `--time`).
    pub time: Option<jiff::Zoned>,
    /// Record each entry's access time (restic's `--with-atime`); otherwise its mtime.
    pub with_atime: bool,
    /// How many files are read at once (restic's `--read-concurrency`); `None`: one per
    /// core.
    pub read_concurrency: Option<usize>,
    /// Bytes per second read from the sources, all readers together; `None`: no limit.
    pub limit_read: Option<u64>,
    /// Read volume snapshots' large files around the page cache (`O_DIRECT`): what low
    /// priority asks, for the kernel work of caching pages nobody will read again runs at
    /// nobody's priority (see `source::direct`).
    pub read_around_cache: bool,
    /// How the blobs it writes are compressed (restic's `--compression`); `Auto`: the
    /// repository's own setting.
    pub compression: crate::compression::Compression,
}

impl Default for BackupRequest {
    fn default() -> Self {
        Self {
            plan: SourcePlan::default(),
            excludes: Vec::new(),
            exclude_files: Vec::new(),
            iexcludes: Vec::new(),
            exclude_caches: false,
            exclude_if_present: Vec::new(),
            exclude_larger_than: None,
            one_file_system: false,
            tags: Vec::new(),
            host: None,
            force_full_read: false,
            change_retries: 3,
            chunking: Chunking::Auto,
            source_chunking: Vec::new(),
            parent: None,
            time: None,
            with_atime: false,
            read_concurrency: None,
            limit_read: None,
            read_around_cache: false,
            compression: crate::compression::Compression::Auto,
        }
    }
}

/// What a backup did.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    pub snapshot: SnapshotInfo,
    pub record: ConsistencyRecord,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    pub dirs: u64,
    /// restic's other counts of the same backup, for its JSON summary.
    pub restic_counts: ResticCounts,
    /// Bytes of all files in the snapshot.
    pub bytes_total: u64,
    /// Bytes of file content actually read from the sources (unchanged files are not read).
    pub bytes_read: u64,
    /// Bytes added to the repository, before and after compression.
    pub bytes_added: u64,
    pub bytes_added_packed: u64,
    /// Bytes of changed files taken from the parent snapshot without reading them: the
    /// filesystem vouched, against a kept base snapshot, that they did not change.
    pub bytes_reused: u64,
    /// Sources holding a large file cut in fixed-size chunks: those whose snapshot is worth
    /// keeping as the base of the next backup.
    pub worth_a_base: Vec<PathBuf>,
    /// What the kept bases' copies of the compared files hold of their own, by path in
    /// the base: given to `extents::kept_base_cost` so it need not ask again.
    pub base_costs: std::collections::HashMap<PathBuf, u64>,
    pub seconds: f64,
}

/// The counts restic 0.14's `backup --json` summary has that [`BackupOutcome`] does not
/// name otherwise, with restic's names.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ResticCounts {
    pub dirs_new: u64,
    pub dirs_changed: u64,
    pub dirs_unmodified: u64,
    pub data_blobs: u64,
    pub tree_blobs: u64,
    pub total_files_processed: u64,
}

impl BackupOutcome {
    /// The outcome of the saved snapshot `snap`, from its summary. `root_unchanged` says
    /// whether the snapshot's root directory is the parent's (`None`: no parent): rustic
    /// counts the root among the directories, restic does not. What only a backup of
    /// files knows (bytes read, reused, bases) is left for the caller.
    pub(crate) fn of_saved(
        snap: &rustic_core::repofile::SnapshotFile,
        record: ConsistencyRecord,
        root_unchanged: Option<bool>,
        started: Instant,
    ) -> Self {
        let summary = snap.summary.clone().unwrap_or_default();
        let less = |n: u64, root: bool| n - u64::from(root).min(n);
        Self {
            snapshot: SnapshotInfo::from_file(snap),
            record,
            files_new: summary.files_new,
            files_changed: summary.files_changed,
            files_unmodified: summary.files_unmodified,
            dirs: summary.total_dirs_processed,
            restic_counts: ResticCounts {
                dirs_new: less(summary.dirs_new, root_unchanged.is_none()),
                dirs_changed: less(summary.dirs_changed, root_unchanged == Some(false)),
                dirs_unmodified: less(summary.dirs_unmodified, root_unchanged == Some(true)),
                data_blobs: summary.data_blobs,
                tree_blobs: summary.tree_blobs,
                total_files_processed: summary.total_files_processed,
            },
            bytes_total: summary.total_bytes_processed,
            bytes_read: 0,
            bytes_added: summary.data_added,
            bytes_added_packed: summary.data_added_packed,
            bytes_reused: 0,
            worth_a_base: Vec::new(),
            base_costs: std::collections::HashMap::new(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// Entries that could not be read: the backup is incomplete (exit code 3).
    #[must_use]
    pub fn unreadable_count(&self) -> usize {
        self.record.sources.iter().map(|s| s.unreadable.len()).sum()
    }

    /// Files that changed while read, and entries that vanished while the backup ran.
    #[must_use]
    pub fn changed_count(&self) -> usize {
        self.record
            .sources
            .iter()
            .map(|s| s.changed_while_read.len() + s.vanished.len())
            .sum()
    }

    /// Entries that vanished while the backup ran.
    #[must_use]
    pub fn vanished_count(&self) -> usize {
        self.record.sources.iter().map(|s| s.vanished.len()).sum()
    }
}

/// The exclude patterns of a request, in the form rustic_core's walker takes (`!glob`).
/// Exclude files hold one pattern per line, restic-style: blank lines and lines starting
/// with `#` are skipped. (rustic_core's own glob files would read them as includes.)
fn exclude_globs(request: &BackupRequest) -> Result<Vec<String>> {
    let mut globs: Vec<String> = request.excludes.iter().map(|g| format!("!{g}")).collect();
    for file in &request.exclude_files {
        let text = std::fs::read_to_string(file).map_err(|e| {
            UmbraError::io("cannot read the exclude file", file, e)
                .with_hint("Check the path given with --exclude-file.")
        })?;
        globs.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| format!("!{l}")),
        );
    }
    Ok(globs)
}

/// Drops sources that lie inside another source: the outer one already holds them.
fn without_nested(sources: &[PlannedSource]) -> Vec<PlannedSource> {
    sources
        .iter()
        .filter(|s| {
            !sources
                .iter()
                .any(|o| o.path != s.path && s.path.starts_with(&o.path))
        })
        .fold(Vec::new(), |mut acc: Vec<PlannedSource>, s| {
            if !acc.iter().any(|a| a.path == s.path) {
                acc.push(s.clone());
            }
            acc
        })
}

impl Repo {
    /// Backs up `request` and returns the stored snapshot with its consistency record.
    ///
    /// `verify` runs after all data was read and before the snapshot is committed with its
    /// record: if what was read cannot be trusted (an LVM snapshot overflowed), it fails,
    /// the saved snapshot is removed again, and the backup fails. Data already stored is
    /// reused by the next backup or removed by `prune`. When the backup fails for
    /// another reason first (a source path gone, an I/O error while reading) and `verify`
    /// fails too, `verify`'s error is the one returned: an overflowed snapshot is the
    /// cause, whatever it broke first.
    pub fn backup(
        self,
        request: &BackupRequest,
        verify: &dyn Fn() -> Result<()>,
    ) -> Result<BackupOutcome> {
        self.backup_verified(request, verify)
            .map_err(|err| verify().err().unwrap_or(err))
    }

    fn backup_verified(
        mut self,
        request: &BackupRequest,
        verify: &dyn Fn() -> Result<()>,
    ) -> Result<BackupOutcome> {
        let started = Instant::now();
        if request.plan.sources.is_empty() {
            return Err(
                UmbraError::new(ErrorKind::InvalidInput, "no source to back up")
                    .with_hint("Name at least one file or directory: `umbra backup DIR`."),
            );
        }
        self.set_compression(request.compression)?;
        let mut sources = without_nested(&request.plan.sources);
        let parent_from_base = self.parent_from_bases(
            &mut sources,
            request.force_full_read || request.parent.is_some(),
        )?;
        for s in &sources {
            if let Err(err) = std::fs::symlink_metadata(&s.read_from) {
                return Err(UmbraError::new(
                    ErrorKind::SourceUnreadable,
                    format!("cannot back up {}: {err}", s.path.display()),
                )
                .with_source(err));
            }
        }

        self.reconcile_before_backup()?;

        let mut excludes = Excludes::default();
        excludes.globs = exclude_globs(request)?;
        excludes.iglobs = request.iexcludes.iter().map(|g| format!("!{g}")).collect();
        let mut filter = LocalSourceFilterOptions::default();
        filter.one_file_system = request.one_file_system;
        filter.exclude_if_present = request.exclude_if_present.clone();
        if request.exclude_caches {
            filter.exclude_if_present.push("CACHEDIR.TAG".to_string());
        }
        filter.exclude_larger_than = request.exclude_larger_than.map(bytesize::ByteSize);
        let mut save = LocalSourceSaveOptions::default();
        if request.with_atime {
            save.set_atime = Some(TimeOption::Yes);
        }
        let (source, log) = PlannedReadSource::new(
            &sources,
            &request.plan.substitutes,
            &request.plan.omit,
            &Filters {
                excludes: &excludes,
                filter: &filter,
                save: &save,
            },
            request.change_retries,
            &|path: &std::path::Path| {
                request
                    .source_chunking
                    .iter()
                    .find(|(p, _)| p == path)
                    .map_or(request.chunking, |(_, c)| *c)
            },
            Arc::clone(&self.monitor),
        )?;
        if let Some(rate) = request.limit_read {
            log.limit_reads(rate);
        }
        if request.read_around_cache {
            log.read_snapshots_direct();
        }

        // A direct read's view is from the moment its reading begins, or later.
        let reading_begins = std::time::SystemTime::now();
        let snap = new_snapshot(&request.tags, request.host.as_ref(), request.time.as_ref())?;

        let mut opts = BackupOptions::default();
        opts.parent_opts.racy_from = Some(crate::racy_clean::racy_from);
        opts.read_concurrency = request.read_concurrency;
        // A full read still keeps the parent: each file's parent node keeps its chunking
        // stable (only the reading is forced).
        opts.parent_opts.reread_all = request.force_full_read;
        if let Some(id) = request.parent.clone().or(parent_from_base) {
            opts.parent_opts.parents = vec![id];
        }
        let named: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
        // Interrupted (SIGINT, SIGTERM), the backup's finished packs get an index before
        // the lock goes, so the next backup reuses them.
        let (location, key) = (self.location.clone(), self.inner.key());
        let (location2, key2) = (location.clone(), key.clone());
        let on_interrupt =
            umbra_core::interrupt::on_interrupt("index of the packs stored so far", move || {
                let _ = crate::repair::index_finished_packs(&location2, key2);
            });
        let unfinished = self.unfinished_mark();
        let monitor = Arc::clone(&self.monitor);
        let Repo { inner, lock, .. } = self;
        let indexed = inner.to_indexed_ids().map_err(|e| {
            from_rustic_at(
                "cannot read the repository's index",
                e,
                Some(&location.to_string()),
            )
        })?;
        let saved = indexed.archive(&opts, &source, snap, &named).map_err(|e| {
            // The same for a failed backup (a full disk may refuse this too).
            let _ = crate::repair::index_finished_packs(&location, key);
            from_rustic_at("the backup failed", e, Some(&location.to_string()))
        })?;
        drop(on_interrupt);

        if let Err(err) = verify() {
            let _ = indexed.delete_snapshots(&[saved.id]);
            return Err(err);
        }

        // The consistency record, from what the reader saw.
        let reports = log.finish();
        let (leased, cloned) = log.small_reads();
        if leased + cloned > 0 {
            monitor.event(umbra_core::Event::Info {
                message: format!(
                    "clones made as files were read: {cloned} small file(s) cloned, \
                     {leased} read under a read lease (no writer had them open)"
                ),
            });
        }
        let waited = log.settle_waits.spent();
        if !waited.is_zero() {
            monitor.event(umbra_core::Event::Info {
                message: format!(
                    "waited {} ms in all for live files written just before their read \
                     (a write in the same tick of the filesystem's clock would not show)",
                    waited.as_millis().max(1)
                ),
            });
        }
        let record = ConsistencyRecord {
            version: ConsistencyRecord::VERSION,
            sources: sources
                .iter()
                .zip(reports)
                .map(|(s, r)| SourceConsistency {
                    path: s.path.clone(),
                    method: s.method,
                    level: if r.changed_while_read.is_empty() && r.vanished.is_empty() {
                        s.expected
                    } else {
                        s.expected.max(ConsistencyLevel::ChangedWhileRead)
                    },
                    snapshot_ms: s.snapshot_ms,
                    taken_at_unix_ms: crate::racy_clean::unix_ms(
                        s.taken_at.unwrap_or(reading_begins),
                    ),
                    changed_while_read: r.changed_while_read,
                    unreadable: r.unreadable,
                    vanished: r.vanished,
                    copies: request
                        .plan
                        .substitutes
                        .iter()
                        .filter(|sub| sub.named.starts_with(&s.path))
                        .map(|sub| sub.named.clone())
                        .collect(),
                })
                .collect(),
            snapshot_set_spread_ms: request.plan.snapshot_set_spread_ms,
            quiesced: request.plan.quiesced.clone(),
        };
        let final_snap = attach_record(&indexed, saved, &record)?;
        // rustic counts the snapshot's root directory among the directories, restic does
        // not: new without a parent, unmodified when the whole tree is the parent's.
        let root_unchanged = final_snap.parent.as_ref().map(|p| {
            indexed
                .get_snapshot_from_str(&p.to_hex(), |_| true)
                .is_ok_and(|parent| parent.tree == final_snap.tree)
        });
        drop(lock);
        if let Some(mark) = unfinished {
            // Only saves work for the next backup: failing to remove it changes nothing.
            let _ = std::fs::remove_file(mark);
        }
        Ok(BackupOutcome {
            bytes_read: log.bytes_read(),
            bytes_reused: log.bytes_reused(),
            worth_a_base: sources
                .iter()
                .zip(log.sources_with_large_fixed())
                .filter(|(_, large)| *large)
                .map(|(s, _)| s.path.clone())
                .collect(),
            base_costs: log.take_base_costs(),
            ..BackupOutcome::of_saved(&final_snap, record, root_unchanged, started)
        })
    }
}

impl Repo {
    /// The parent snapshot the sources' kept bases were backed up into, when it still
    /// exists; bases that cannot be used (another parent, a forgotten snapshot, a full
    /// read) are dropped from `sources`, whose files are then read whole.
    fn parent_from_bases(
        &self,
        sources: &mut [PlannedSource],
        full_read: bool,
    ) -> Result<Option<String>> {
        if full_read || sources.iter().all(|s| s.base.is_none()) {
            for s in sources.iter_mut() {
                s.base = None;
            }
            return Ok(None);
        }
        let existing: BTreeSet<String> = self
            .inner
            .list::<SnapshotId>()
            .map_err(|e| {
                from_rustic_at("cannot list snapshots", e, Some(&self.location.to_string()))
            })?
            .map(|id| id.to_hex().to_string())
            .collect();
        let parent = sources
            .iter()
            .filter_map(|s| s.base.as_ref())
            .map(|b| b.snapshot_id.clone())
            .find(|id| existing.contains(id));
        for s in sources.iter_mut() {
            if s.base.as_ref().map(|b| &b.snapshot_id) != parent.as_ref()
                || s.base.as_ref().is_some_and(|b| !b.read_from.exists())
            {
                s.base = None;
            }
        }
        Ok(parent)
    }
}

/// A new snapshot's header: tags, host and time as given, the command line, umbra's
/// version and the user.
pub(crate) fn new_snapshot(
    tags: &[String],
    host: Option<&String>,
    time: Option<&jiff::Zoned>,
) -> Result<rustic_core::repofile::SnapshotFile> {
    let mut snap_opts = SnapshotOptions::default();
    for tag in tags {
        snap_opts = snap_opts.add_tags(tag).map_err(rustic("invalid tag"))?;
    }
    if let Some(host) = host {
        snap_opts.host = Some(host.clone());
    }
    snap_opts.time = time.cloned();
    snap_opts.command = Some(std::env::args().collect::<Vec<_>>().join(" "));
    let mut snap = snap_opts
        .to_snapshot()
        .map_err(rustic("cannot prepare the snapshot"))?;
    snap.program_version = format!("umbra {}", env!("CARGO_PKG_VERSION"));
    if snap.username.is_empty() {
        snap.username = crate::nodes::current_user();
    }
    Ok(snap)
}

/// Replaces `saved` by the same snapshot carrying `record`; returns the new snapshot.
pub(crate) fn attach_record<S: rustic_core::IndexedIds>(
    repo: &rustic_core::Repository<S>,
    saved: rustic_core::repofile::SnapshotFile,
    record: &ConsistencyRecord,
) -> Result<rustic_core::repofile::SnapshotFile> {
    let before: BTreeSet<SnapshotId> = repo
        .list::<SnapshotId>()
        .map_err(rustic("cannot list snapshots"))?
        .collect();
    let mut with_record = saved.clone();
    with_record.description = Some(record.to_description());
    repo.save_snapshots(vec![with_record.clone()])
        .map_err(rustic("cannot save the snapshot's consistency record"))?;
    let new_id = repo
        .list::<SnapshotId>()
        .map_err(rustic("cannot list snapshots"))?
        .find(|id| !before.contains(id))
        .ok_or_else(|| {
            UmbraError::new(
                ErrorKind::Internal,
                "the snapshot with the consistency record was not found after saving it",
            )
        })?;
    repo.delete_snapshots(&[saved.id]).map_err(rustic(
        "cannot remove the snapshot without a consistency record",
    ))?;
    with_record.id = new_id;
    Ok(with_record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_repeated_sources_collapse_into_the_outer_one() {
        let s = |p: &str| PlannedSource::direct(PathBuf::from(p));
        let kept = without_nested(&[s("/a/b"), s("/a"), s("/a"), s("/ab")]);
        let paths: Vec<_> = kept.iter().map(|k| k.path.clone()).collect();
        assert_eq!(paths, vec![PathBuf::from("/a"), PathBuf::from("/ab")]);
    }
}
