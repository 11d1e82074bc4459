//! The read source of a backup: read each source from its plan's `read_from`, store it
//! under the path the user named, and notice what goes wrong on the way.
//!
//! rustic_core's archiver takes any [`ReadSource`]. We wrap its `LocalSource` (one per
//! source, so that each can be read from its own place) and rewrite every entry's path
//! from the read location to the named one. That is what lets a snapshot be read from
//! `/srv/.umbra/…` while the repository stores `/srv/data`, for any number of sources,
//! without a mount namespace.
//!
//! The archiver logs and skips entries it cannot read. That loses the count a user needs
//! (exit code 3), so this wrapper records every unreadable entry itself. It also records
//! files that changed while they were read: each file's size, mtime, ctime and inode
//! from the directory walk are compared with an `fstat` of the open file once the reader
//! reaches its end.
//!
//! A live file written just before its read is first waited for until a write during
//! the read would move its times ([`settle`]); without that, a write in the same tick
//! of the filesystem's clock as the one before goes unseen.
//!
//! A changed file is read again, up to `retries` times, when it is small enough to hold
//! in memory ([`open::RETRY_LIMIT`]): a read counts as clean when the file's identity is the
//! same before and after it and its size is still the walked size. Larger files are read
//! once, streaming; a change is reported, not retried. rustic_core restores a file to the
//! size recorded at the walk, so the reader never yields more than that size, and a file
//! that shrank mid-read is reported as changed.
//!
//! Sources cloned file by file (`clone_on_read`) are walked live; each file is cloned as
//! it is opened, and the clone is checked against the walk instead of the read.
//!
//! Sources read from reflink clones name the live tree as `identity_from`: clones are new
//! inodes with a new ctime, so for files whose size and mtime still match the live file,
//! the node takes the live file's inode, device, ctime and link count. That keeps the
//! next backup's parent matching (and hardlink detection on restore) working.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustic_core::{
    Excludes, LocalSource, LocalSourceFilterOptions, LocalSourceSaveOptions, ReadSource,
    ReadSourceEntry, RusticResult,
};
use umbra_core::{Event, Monitor, PlannedSource, ProgressKind, Task};

use crate::chunking::Chunking;
use crate::error::rustic;

/// What went wrong, per source, while reading.
#[derive(Debug, Default, Clone)]
pub(crate) struct SourceReport {
    pub changed_while_read: Vec<PathBuf>,
    pub unreadable: Vec<PathBuf>,
    pub vanished: Vec<PathBuf>,
}

/// Shared by the walker and every open file (files are read on many threads).
pub(crate) struct ReadLog {
    reports: Mutex<Vec<SourceReport>>,
    /// How often a small file that changed while read is read again.
    retries: u32,
    bytes_read: AtomicU64,
    /// Whether volume snapshots' large files are read around the page cache (low
    /// priority; see [`direct`]).
    direct_reads: std::sync::atomic::AtomicBool,
    /// `--limit-read`: the pace every reader's bytes are counted against.
    read_pace: std::sync::OnceLock<crate::throttle::Pace>,
    monitor: Arc<dyn Monitor>,
    files: Box<dyn Task>,
    /// Each source's chunking policy, by report index.
    chunking: Vec<Chunking>,
    /// Per source: whether a large file was cut in fixed-size chunks (reading from a kept
    /// base can pay off there).
    large_fixed: Vec<std::sync::atomic::AtomicBool>,
    /// Content bytes taken from the parent snapshot because the filesystem vouched that
    /// they did not change.
    bytes_reused: AtomicU64,
    /// What each compared file's copy in the kept base holds of its own, by its path in
    /// the base: the cost report after the backup takes it from here.
    base_costs: Mutex<HashMap<PathBuf, u64>>,
    /// Small files of sources cloned as they are read that were read under a read lease
    /// instead, and those that were cloned (someone had them open for writing).
    small_leased: AtomicU64,
    small_cloned: AtomicU64,
    /// Per source: whether its files are read live with nothing holding their writers
    /// still, and then the margin a file stamped in fractions of a second is waited for
    /// by (see [`settle`]).
    settle_margins: Vec<Option<std::time::Duration>>,
    /// What reads have waited for live files written just before them ([`settle`]).
    pub(crate) settle_waits: settle::WaitBudget,
}

impl ReadLog {
    fn count_leased(&self) {
        self.small_leased.fetch_add(1, Ordering::Relaxed);
    }

    fn count_cloned(&self) {
        self.small_cloned.fetch_add(1, Ordering::Relaxed);
    }

    /// Small files read under a read lease and small files cloned, of sources cloned as
    /// they are read.
    pub(crate) fn small_reads(&self) -> (u64, u64) {
        (
            self.small_leased.load(Ordering::Relaxed),
            self.small_cloned.load(Ordering::Relaxed),
        )
    }

    fn unreadable(&self, source: usize, path: PathBuf, error: String) {
        self.monitor.event(Event::Unreadable {
            path: path.clone(),
            error,
        });
        if let Ok(mut r) = self.reports.lock() {
            r[source].unreadable.push(path);
        }
    }

    /// An entry deleted between the walk and the read: named once.
    fn vanished(&self, source: usize, path: PathBuf) {
        if let Ok(mut r) = self.reports.lock() {
            if r[source].vanished.contains(&path) {
                return;
            }
            r[source].vanished.push(path.clone());
        }
        self.monitor.event(Event::Vanished { path });
    }

    fn changed(&self, source: usize, path: PathBuf) {
        self.monitor
            .event(Event::ChangedWhileRead { path: path.clone() });
        if let Ok(mut r) = self.reports.lock() {
            r[source].changed_while_read.push(path);
        }
    }

    /// Ends the file count and returns the per-source reports, in the order of the sources
    /// given to [`PlannedReadSource::new`]. Call once reading is done.
    pub(crate) fn finish(&self) -> Vec<SourceReport> {
        self.files.finish();
        self.reports.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// File content bytes actually read from disk (unchanged files are not read).
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// Paces every reader of this backup to `rate` bytes per second in all.
    pub(crate) fn limit_reads(&self, rate: u64) {
        let _ = self.read_pace.set(crate::throttle::Pace::new(rate));
    }

    /// Reads volume snapshots' large files around the page cache from now on.
    pub(crate) fn read_snapshots_direct(&self) {
        self.direct_reads.store(true, Ordering::Relaxed);
    }

    /// Whether volume snapshots' large files are read around the page cache.
    fn reads_snapshots_direct(&self) -> bool {
        self.direct_reads.load(Ordering::Relaxed)
    }

    /// Counts `n` bytes read from a source, and waits as the read limit asks.
    pub(crate) fn count_read(&self, n: u64) {
        self.bytes_read.fetch_add(n, Ordering::Relaxed);
        if let Some(pace) = self.read_pace.get() {
            pace.take(n);
        }
    }

    /// Bytes of changed files taken from the parent without reading (a kept base vouched).
    fn base_cost(&self, base: &Path, cost: u64) {
        if let Ok(mut costs) = self.base_costs.lock() {
            costs.insert(base.to_path_buf(), cost);
        }
    }

    pub(crate) fn take_base_costs(&self) -> HashMap<PathBuf, u64> {
        self.base_costs
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    pub(crate) fn bytes_reused(&self) -> u64 {
        self.bytes_reused.load(Ordering::Relaxed)
    }

    fn large_fixed(&self, source: usize) {
        if let Some(flag) = self.large_fixed.get(source) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Per source, in the caller's order: whether a large file was cut in fixed-size chunks.
    pub(crate) fn sources_with_large_fixed(&self) -> Vec<bool> {
        self.large_fixed
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .collect()
    }
}

struct Walked {
    plan: PlannedSource,
    /// Index into the report list (the caller's order).
    report_index: usize,
    local: LocalSource,
}

/// A [`ReadSource`] over all sources of a plan.
pub(crate) struct PlannedReadSource {
    sources: Vec<Walked>,
    log: Arc<ReadLog>,
    substitutes: Vec<umbra_core::Substitute>,
    omit: Vec<PathBuf>,
}

/// Filtering options that apply to every source.
pub(crate) struct Filters<'a> {
    pub excludes: &'a Excludes,
    pub filter: &'a LocalSourceFilterOptions,
    /// What each node records (restic's `--with-atime`).
    pub save: &'a LocalSourceSaveOptions,
}

impl PlannedReadSource {
    /// `sources` must not contain one another; they are walked in path order, which is
    /// the order the archiver needs.
    pub(crate) fn new(
        sources: &[PlannedSource],
        substitutes: &[umbra_core::Substitute],
        omit: &[PathBuf],
        filters: &Filters<'_>,
        retries: u32,
        chunking: &dyn Fn(&Path) -> Chunking,
        monitor: Arc<dyn Monitor>,
    ) -> umbra_core::Result<(Self, Arc<ReadLog>)> {
        for counter in [
            &crate::progress::BACKUP_FILES.total,
            &crate::progress::BACKUP_FILES.done,
        ] {
            counter.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        let mut walked = Vec::with_capacity(sources.len());
        for (report_index, plan) in sources.iter().enumerate() {
            // Files cloned as they are read must be on the clones' filesystem: like a
            // clone tree, the walk does not enter other filesystems below the source.
            let mut filter = filters.filter.clone();
            filter.one_file_system |= plan.clone_on_read.is_some();
            let local =
                LocalSource::new(*filters.save, filters.excludes, &filter, &[&plan.read_from])
                    .map_err(rustic("cannot prepare reading the sources"))?;
            walked.push(Walked {
                plan: plan.clone(),
                report_index,
                local,
            });
        }
        walked.sort_by(|a, b| a.plan.path.cmp(&b.plan.path));
        let files = monitor.start_task(ProgressKind::Count, "files");
        let log = Arc::new(ReadLog {
            reports: Mutex::new(vec![SourceReport::default(); sources.len()]),
            retries,
            bytes_read: AtomicU64::new(0),
            direct_reads: std::sync::atomic::AtomicBool::new(false),
            read_pace: std::sync::OnceLock::new(),
            monitor,
            files,
            chunking: sources.iter().map(|s| chunking(&s.path)).collect(),
            large_fixed: sources.iter().map(|_| Default::default()).collect(),
            bytes_reused: AtomicU64::new(0),
            base_costs: Mutex::new(HashMap::new()),
            small_leased: AtomicU64::new(0),
            small_cloned: AtomicU64::new(0),
            settle_waits: settle::WaitBudget::new(settle::BACKUP_BUDGET),
            settle_margins: sources
                .iter()
                .map(|s| {
                    let live = s.method == umbra_core::Method::Direct
                        && s.expected == umbra_core::ConsistencyLevel::DirectUnchanged
                        && s.clone_on_read.is_none();
                    live.then(|| settle::fine_margin(&s.read_from))
                })
                .collect(),
        });
        Ok((
            Self {
                sources: walked,
                log: Arc::clone(&log),
                substitutes: substitutes.to_vec(),
                omit: omit.to_vec(),
            },
            log,
        ))
    }
}

/// `path` under `from`, re-rooted under `to`.
fn reroot(path: &Path, from: &Path, to: &Path) -> PathBuf {
    match path.strip_prefix(from) {
        Ok(rel) if rel.as_os_str().is_empty() => to.to_path_buf(),
        Ok(rel) => to.join(rel),
        Err(_) => path.to_path_buf(),
    }
}

pub(crate) type EntryIter =
    Box<dyn Iterator<Item = RusticResult<ReadSourceEntry<PlannedOpen>>> + Send>;

impl ReadSource for PlannedReadSource {
    type Open = PlannedOpen;
    type Iter = EntryIter;

    fn size(&self) -> RusticResult<Option<u64>> {
        let (mut total, mut files) = (0, 0);
        for s in &self.sources {
            let (size, n) = s.local.size_and_files();
            total += size;
            files += n;
        }
        crate::progress::BACKUP_FILES
            .total
            .store(files, std::sync::atomic::Ordering::Relaxed);
        Ok(Some(total))
    }

    fn entries(&self) -> Self::Iter {
        let mut iters: Vec<EntryIter> = Vec::with_capacity(self.sources.len());
        // Every parent of a source, and the source folder itself, with their own
        // metadata (the walker skips its root; the archiver would make the rest up).
        let mut parents_done = std::collections::HashSet::new();
        for s in &self.sources {
            let mut parents: Vec<ReadSourceEntry<PlannedOpen>> = Vec::new();
            let mut ancestors: Vec<&Path> = s.plan.path.ancestors().collect();
            ancestors.reverse();
            for dir in ancestors {
                if dir.parent().is_none() || !parents_done.insert(dir.to_path_buf()) {
                    continue;
                }
                let source_root = dir == s.plan.path;
                if let Some(mut e) = crate::nodes::dir_entry(dir) {
                    if source_root {
                        // The folder as read (a volume snapshot holds its own copy), stored
                        // under its own name.
                        if let Some(read) =
                            crate::nodes::dir_entry::<PlannedOpen>(&s.plan.read_from)
                        {
                            if s.plan.identity_from.is_none() {
                                e.node.meta = read.node.meta;
                            }
                        }
                    }
                    parents.push(e);
                }
            }
            iters.push(Box::new(parents.into_iter().map(Ok)));
            let plan = s.plan.clone();
            let idx = s.report_index;
            let log = Arc::clone(&self.log);
            let extras = match crate::substitute::entries_for(&plan, idx, &self.substitutes, &log) {
                Ok(x) => x,
                Err(e) => {
                    log.unreadable(idx, plan.path.clone(), e.message().to_string());
                    Vec::new()
                }
            };
            let omit: Vec<PathBuf> = self
                .omit
                .iter()
                .filter(|p| p.starts_with(&plan.path))
                .cloned()
                .collect();
            let log2 = Arc::clone(&log);
            let walk: EntryIter = Box::new(
                s.local
                    .entries()
                    .filter_map(move |item| map_entry(item, &plan, idx, &log2))
                    .inspect(|item| {
                        if item.as_ref().is_ok_and(|e| !e.node.is_dir()) {
                            crate::progress::BACKUP_FILES
                                .done
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }),
            );
            iters.push(Box::new(crate::substitute::Merged {
                walk,
                extras: extras.into(),
                omit,
                pending: None,
            }));
        }
        Box::new(iters.into_iter().flatten())
    }
}

pub(crate) fn map_entry(
    item: RusticResult<ReadSourceEntry<impl Sized>>,
    plan: &PlannedSource,
    idx: usize,
    log: &Arc<ReadLog>,
) -> Option<RusticResult<ReadSourceEntry<PlannedOpen>>> {
    match item {
        Err(err) => {
            // The walker could not read a directory entry: it vanished (deleted while we
            // walked), or it cannot be read (permissions, I/O).
            let (path, io) = crate::nodes::walk_error(&err);
            let path = path.map_or_else(
                || plan.path.clone(),
                |p| reroot(&p, &plan.read_from, &plan.path),
            );
            match io {
                Some(e) if e.kind() == std::io::ErrorKind::NotFound => log.vanished(idx, path),
                Some(e) => log.unreadable(idx, path, e.to_string()),
                None => {
                    let text = err.display_log();
                    let first = text.lines().next().unwrap_or(&text).to_string();
                    log.unreadable(idx, path, first);
                }
            }
            None
        }
        Ok(mut entry) => {
            let read_path = entry.path;
            let named = reroot(&read_path, &plan.read_from, &plan.path);
            // Change detection compares what is read with the file it is read from: take
            // its identity before a clone's node is given the live file's identity.
            let expected = Expected::of(&entry.node);
            if let Some(live_root) = &plan.identity_from {
                crate::nodes::keep_identity(
                    &mut entry.node,
                    &reroot(&read_path, &plan.read_from, live_root),
                );
            }
            if !entry.node.is_dir() {
                log.files.increment(1);
            }
            let live_path = plan
                .identity_from
                .as_ref()
                .map(|live_root| reroot(&read_path, &plan.read_from, live_root));
            let base_path = plan
                .base
                .as_ref()
                .map(|base| reroot(&read_path, &plan.read_from, &base.read_from));
            let clone = plan.clone_on_read.as_ref().map(|dir| open::CloneTo {
                dir: dir.clone(),
                named: reroot(&read_path, &plan.read_from, dir),
            });
            let open = entry.open.map(|_| PlannedOpen {
                expected,
                live_path,
                clone,
                base_path,
                mtime: entry.node.meta.mtime,
                drop_pages: plan.method.is_volume_snapshot(),
                settle: log.settle_margins.get(idx).copied().flatten(),
                read_path,
                named_path: named.clone(),
                source: idx,
                log: Arc::clone(log),
            });
            Some(Ok(ReadSourceEntry {
                path: named,
                node: entry.node,
                open,
            }))
        }
    }
}

mod direct;
mod gapped;
mod open;
mod reader;
mod settle;
pub(crate) use open::{Expected, PlannedOpen};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reroot_maps_the_read_location_back_to_the_named_path() {
        let from = Path::new("/mnt/.umbra-snap/data");
        let to = Path::new("/srv/data");
        assert_eq!(
            reroot(Path::new("/mnt/.umbra-snap/data/a/b"), from, to),
            to.join("a/b")
        );
        assert_eq!(reroot(from, from, to), to);
        assert_eq!(
            reroot(Path::new("/elsewhere"), from, to),
            Path::new("/elsewhere")
        );
    }
}
