//! Opening one file of a backup: how to cut it, what to read of it, and whether it changed
//! while it was read.
//!
//! Small files are read whole, again while they change ([`RETRY_LIMIT`]); large ones are
//! streamed and checked once at their end. A large file cut in fixed-size chunks from a
//! volume snapshot with a kept base is read in part: the chunks whose bytes the filesystem
//! vouches are the base's (see `extents`) are taken from the parent snapshot instead.
//!
//! A source cloned as it is read (`clone_on_read`) is read from a clone made when the
//! file is opened. The clone cannot change; what can is the live file while it is
//! cloned, so the change check looks at the live file across the clone instead of at the
//! file read across the read.

use std::fs::File;
use std::io::{Cursor, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rustic_core::repofile::Node;
use rustic_core::{
    ChunkPlan, DataId, ErrorKind as RKind, ReadSourceOpen, RusticError, RusticResult,
};
use umbra_core::consistency::RACY_MARGIN_MS;

use super::direct::DirectFile;
use super::gapped::GappedReader;
use super::reader::{CheckedReader, Content, FileReader};
use super::settle::{settle, Settled};
use super::ReadLog;
use crate::chunking::{stored_cut, FileFacts, Stored};
use crate::platform::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use crate::progress::BACKUP_FILES;

/// Files up to this size are read into memory, so that a change while reading can be
/// answered by reading again.
pub(crate) const RETRY_LIMIT: u64 = 8 << 20;

/// The identity of a file when it was walked: if any of it differs after the file was
/// read, the file changed while being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) size: u64,
    pub(crate) mtime: Option<Timestamp>,
    pub(crate) ctime: Option<Timestamp>,
    inode: u64,
}

impl Expected {
    pub(super) fn of(node: &Node) -> Self {
        Self {
            size: node.meta.size,
            mtime: node.meta.mtime,
            ctime: node.meta.ctime,
            inode: node.meta.inode,
        }
    }

    pub(crate) fn of_metadata(m: &std::fs::Metadata) -> Self {
        let ts = |s: i64, ns: i64| Timestamp::new(s, i32::try_from(ns).unwrap_or(0)).ok();
        Self {
            size: m.len(),
            mtime: ts(m.mtime(), m.mtime_nsec()),
            ctime: ts(m.ctime(), m.ctime_nsec()),
            inode: m.ino(),
        }
    }

    /// Compares only what both sides know (a walk may not record ctime or inode).
    pub(super) fn differs_from(&self, now: &Self) -> bool {
        self.size != now.size
            || (self.mtime.is_some() && self.mtime != now.mtime)
            || (self.ctime.is_some() && self.ctime != now.ctime)
            || (self.inode != 0 && self.inode != now.inode)
    }
}

/// Where the clone of a file of a source cloned as it is read goes.
#[derive(Debug)]
pub(crate) struct CloneTo {
    /// The source's clone directory: small files' unnamed clones are made here.
    pub(super) dir: PathBuf,
    /// A large file's named clone: the file's path below `dir` (so that the directory can
    /// be kept as the next backup's base).
    pub(super) named: PathBuf,
}

/// How to open one file of the plan.
#[derive(Debug)]
pub(crate) struct PlannedOpen {
    pub(super) read_path: PathBuf,
    /// For a source cloned as it is read: where this file's clone goes.
    pub(super) clone: Option<CloneTo>,
    /// The live file, for sources read from clones (whose inodes are new).
    pub(super) live_path: Option<PathBuf>,
    /// The same file in the source's kept base snapshot, if the source has one.
    pub(super) base_path: Option<PathBuf>,
    /// The modification time the node records.
    pub(super) mtime: Option<Timestamp>,
    /// Whether to drop a file's cached pages once it is read: a volume snapshot's pages
    /// serve nothing after the backup, so freeing them as the read goes spares the running
    /// applications' cache (621 MB of them for bench/snapshot-cost.sh's set) and the
    /// snapshot's release the work (the btrfs `subvolume delete` after reading 32,000
    /// files: 0.27-0.31 s → 0.16-0.21 s). The backup as a whole was no faster for it
    /// (4 runs each: medians 5.24 s with, 5.15 s without; within the noise).
    pub(super) drop_pages: bool,
    /// For a file read live with nothing holding its writers still: its read waits for a
    /// write just before it to leave the filesystem's tick, by this margin for a time in
    /// fractions of a second (see [`super::settle`]).
    pub(super) settle: Option<Duration>,
    pub(super) named_path: PathBuf,
    pub(super) expected: Expected,
    pub(super) source: usize,
    pub(super) log: Arc<ReadLog>,
}

impl std::fmt::Debug for ReadLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadLog")
    }
}

impl PlannedOpen {
    /// The chunks of this file that are the prior node's, by chunk index: where the prior
    /// node was cut at `size`, describes the base's copy (same length), and the filesystem
    /// vouches that the chunk's bytes are the base's.
    fn reusable_chunks(
        &self,
        base: &std::path::Path,
        prior: &Node,
        size: usize,
        data_length: &dyn Fn(&DataId) -> Option<u32>,
        file: &File,
    ) -> Vec<Option<DataId>> {
        let Some(content) = prior.content.as_deref() else {
            return Vec::new();
        };
        // The prior node must describe the base's file: the same size and modification
        // time (a file that a quiescer's staged copy stood in for, last time, does not).
        let Ok(base_meta) = std::fs::metadata(base) else {
            return Vec::new();
        };
        let base_len = base_meta.len();
        if base_len != prior.meta.size
            || Expected::of_metadata(&base_meta).mtime != prior.meta.mtime
            || stored_cut(content, data_length) != Stored::Fixed(size)
        {
            return Vec::new();
        }
        let Some(compared) = crate::extents::compare(base, file, self.expected.size) else {
            return Vec::new();
        };
        self.log.base_cost(base, compared.base_cost);
        let same = compared.same;
        let new_len = self.expected.size;
        (0..chunk_count(size, new_len))
            .map(|i| {
                let chunk = chunk_range(i, size, new_len);
                let in_base = chunk_range(i, size, base_len);
                let id = content.get(i)?;
                // The same extent of bytes in both, and a chunk the index knows.
                (chunk == in_base
                    && covered(&same, &chunk)
                    && data_length(id).map(u64::from) == Some(chunk.end - chunk.start))
                .then_some(*id)
            })
            .collect()
    }

    /// Opens a large file to read, with the number of bytes to read from it: the file
    /// itself and its walked size, or, for a source cloned as it is read, a clone made
    /// now and all of it (see [`Self::read_small`]).
    fn open_file(&self) -> std::io::Result<(File, u64)> {
        let Some(to) = &self.clone else {
            return Ok((
                crate::platform::open_for_backup(&self.read_path)?,
                self.expected.size,
            ));
        };
        let src = crate::platform::open_for_backup(&self.read_path)?;
        let clone = named_clone(to)?;
        umbra_core::reflink::clone_onto(&src, &clone)?;
        let live = src.metadata()?;
        if !self.same_file(&live) {
            self.log.changed(self.source, self.named_path.clone());
        }
        // A kept base is matched to its snapshot's nodes by size and mtime.
        keep_times(&clone, self.expected.mtime, &live)?;
        let len = clone.metadata()?.len();
        Ok((clone, len))
    }

    /// [`settle`]s `file`, within what is left of the backup's budget for waiting.
    fn settled(&self, file: &File, may_wait: bool) -> std::io::Result<Settled> {
        let fine = self.settle.unwrap_or(super::settle::FINE_MARGIN);
        let settled = settle(file, fine, may_wait && self.log.settle_waits.left())?;
        self.log.settle_waits.spend(settled.waited);
        Ok(settled)
    }

    /// Whether the live file opened is the one walked (not another put in its place).
    fn same_file(&self, live: &std::fs::Metadata) -> bool {
        self.expected.inode == 0 || live.ino() == self.expected.inode
    }

    /// Clones the small file `src` onto this thread's scratch file and reads the clone into
    /// `buf`, at most `max` bytes.
    fn clone_small(
        src: &File,
        dir: &std::path::Path,
        buf: &mut Vec<u8>,
        max: u64,
    ) -> std::io::Result<()> {
        with_scratch(dir, |mut scratch| {
            scratch.set_len(0)?;
            umbra_core::reflink::clone_onto(src, scratch)?;
            std::io::Seek::seek(&mut scratch, std::io::SeekFrom::Start(0))?;
            scratch.take(max).read_to_end(buf)?;
            Ok(())
        })
    }

    /// Reads the small file `src` (of a source cloned as it is read) *without* cloning it,
    /// under a read lease (see [`umbra_core::lease`]): the kernel grants one only while
    /// nobody has the file open for writing, and marks it broken as soon as someone tries,
    /// so a read that ends with the lease unbroken saw the file as it was at one moment,
    /// as a clone would, for a few syscalls instead of a clone (35 µs of kernel time per
    /// file on btrfs). False when there is no lease to take or it broke during the read:
    /// the caller then clones (what `buf` holds then is not to be used).
    fn read_leased(src: &File, buf: &mut Vec<u8>, max: u64) -> std::io::Result<bool> {
        let Some(lease) = umbra_core::lease::ReadLease::take(src) else {
            return Ok(false);
        };
        src.take(max).read_to_end(buf)?;
        Ok(lease.unbroken())
    }

    /// Streams `len` bytes of a large file from `file`; a file read in place is checked at
    /// its end for changes (a clone cannot change).
    fn stream(self, file: File, len: u64) -> Content {
        // A volume snapshot's file (the files whose pages are dropped), when asked (low
        // priority): read around the page cache; see [`super::direct`].
        let file = if self.drop_pages && self.log.reads_snapshots_direct() {
            DirectFile::new(file)
        } else {
            DirectFile::buffered(file)
        };
        // A file written in the tick before its read could change unseen during it.
        let quiet = self.settle.is_none() || self.settled(file.file(), true).is_ok_and(|s| s.quiet);
        Content::Stream(CheckedReader {
            file,
            remaining: len,
            checked: self.clone.is_some(),
            quiet,
            open: self,
        })
    }

    fn unreadable(&self, err: &std::io::Error) -> Box<RusticError> {
        if err.kind() == std::io::ErrorKind::NotFound {
            self.log.vanished(self.source, self.named_path.clone());
        } else {
            self.log
                .unreadable(self.source, self.named_path.clone(), err.to_string());
        }
        RusticError::with_source(
            RKind::InputOutput,
            "cannot read `{path}`",
            std::io::Error::new(err.kind(), err.to_string()),
        )
        .attach_context("path", self.named_path.display().to_string())
    }

    /// Reads a small file whole, again and again while it changes under us; returns the
    /// last content read, and whether it is clean.
    ///
    /// A clone is read once and whole: it holds the file at one moment, the moment it was
    /// cloned, which may come after the walk. Its content is stored as it is (the node
    /// records the bytes stored), with the walk's modification time, which is then no
    /// later than the content's: the next backup sees the file changed and reads it
    /// again. Only a clone of another file put in the walked one's place, or one grown
    /// past what a small file may hold in memory, is not clean.
    fn read_small(&self) -> std::io::Result<(Vec<u8>, bool)> {
        let limit = usize::try_from(self.expected.size).unwrap_or(usize::MAX);
        if let Some(to) = &self.clone {
            let max = self.expected.size.max(RETRY_LIMIT);
            let mut buf = Vec::with_capacity(limit);
            // One open serves the lease, or the clone when there is none.
            let src = crate::platform::open_for_backup(&self.read_path)?;
            let same = self.same_file(&src.metadata()?);
            if Self::read_leased(&src, &mut buf, max + 1)? {
                self.log.count_leased();
            } else {
                buf.clear();
                self.log.count_cloned();
                Self::clone_small(&src, &to.dir, &mut buf, max + 1)?;
            }
            self.log.count_read(buf.len() as u64);
            let whole = buf.len() as u64 <= max;
            buf.truncate(usize::try_from(max).unwrap_or(usize::MAX));
            return Ok((buf, same && whole));
        }
        let mut attempt = 0;
        let began = std::time::Instant::now();
        loop {
            let mut file = crate::platform::open_for_backup(&self.read_path)?;
            // A file written in the tick before its read could change unseen during it: it
            // is waited for, for a few seconds in all (see [`super::settle`]).
            let (seen, quiet) = if self.settle.is_some() {
                let may_wait = began.elapsed() < Duration::from_millis(RACY_MARGIN_MS);
                let settled = self.settled(&file, may_wait)?;
                (settled.seen, settled.quiet)
            } else {
                (file.metadata()?, true)
            };
            let before = Expected::of_metadata(&seen);
            let mut buf = Vec::with_capacity(limit);
            (&mut file)
                .take(self.expected.size + 1)
                .read_to_end(&mut buf)?;
            let after = Expected::of_metadata(&file.metadata()?);
            if self.drop_pages {
                drop_pages(&file);
            }
            self.log.count_read(buf.len() as u64);
            let clean =
                quiet && before == after && after.size == self.expected.size && buf.len() == limit;
            if clean || attempt >= self.log.retries {
                buf.truncate(limit);
                return Ok((buf, clean));
            }
            attempt += 1;
        }
    }
}

impl ReadSourceOpen for PlannedOpen {
    type Reader = FileReader;

    fn open_planned(
        self,
        prior: Option<&Node>,
        data_length: &dyn Fn(&DataId) -> Option<u32>,
    ) -> RusticResult<(Self::Reader, ChunkPlan)> {
        let listed = BACKUP_FILES.start(&self.named_path);
        let (content, plan) = self.content_planned(prior, data_length)?;
        Ok((FileReader::new(content, listed), plan))
    }

    fn open(self) -> RusticResult<Self::Reader> {
        let listed = BACKUP_FILES.start(&self.named_path);
        Ok(FileReader::new(self.content()?, listed))
    }
}

impl PlannedOpen {
    /// The file's content to read, and how to cut it.
    fn content_planned(
        self,
        prior: Option<&Node>,
        data_length: &dyn Fn(&DataId) -> Option<u32>,
    ) -> RusticResult<(Content, ChunkPlan)> {
        let policy = self
            .log
            .chunking
            .get(self.source)
            .copied()
            .unwrap_or_default();
        let inode = self
            .live_path
            .as_ref()
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .map_or(self.expected.inode, |m| m.ino());
        let facts = FileFacts {
            read_path: &self.read_path,
            named_path: &self.named_path,
            size: self.expected.size,
            inode,
            mtime: self.mtime,
        };
        let Some(size) = crate::chunking::decide(policy, &facts, prior, data_length) else {
            return Ok((self.content()?, ChunkPlan::Repository));
        };
        if self.expected.size >= crate::chunking::LARGE_FILE {
            self.log.large_fixed(self.source);
        }
        // One open (for a clone: one clone) serves the extent comparison and the read.
        let (file, reuse) = match (&self.base_path, prior) {
            (Some(base), Some(prior)) if self.expected.size > RETRY_LIMIT => {
                let (file, len) = self.open_file().map_err(|e| self.unreadable(&e))?;
                // A clone that is not the walked size is read whole.
                let reuse = if len == self.expected.size {
                    self.reusable_chunks(base, prior, size, data_length, &file)
                } else {
                    Vec::new()
                };
                (Some((file, len)), reuse)
            }
            _ => (None, Vec::new()),
        };
        let fixed = ChunkPlan::Fixed {
            size,
            reuse: Vec::new(),
        };
        let file = match file {
            Some((file, _)) if reuse.iter().any(Option::is_some) => file,
            Some((file, len)) => return Ok((self.stream(file, len), fixed)),
            None => return Ok((self.content()?, fixed)),
        };
        let reused: u64 = reuse
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| chunk_range(i, size, self.expected.size))
            .map(|r| r.end - r.start)
            .sum();
        self.log.bytes_reused.fetch_add(reused, Ordering::Relaxed);
        let to_read = (0..chunk_count(size, self.expected.size))
            .filter(|i| reuse.get(*i).is_none_or(Option::is_none))
            .map(|i| chunk_range(i, size, self.expected.size))
            .collect();
        let reader = GappedReader::new(file, to_read, self);
        Ok((Content::Gapped(reader), ChunkPlan::Fixed { size, reuse }))
    }

    /// The file's content to read, for the archiver's own cut.
    fn content(self) -> RusticResult<Content> {
        if self.expected.size <= RETRY_LIMIT {
            return match self.read_small() {
                Ok((data, clean)) => {
                    if !clean {
                        self.log.changed(self.source, self.named_path.clone());
                    }
                    Ok(Content::Memory(Cursor::new(data)))
                }
                Err(err) => Err(self.unreadable(&err)),
            };
        }
        match self.open_file() {
            Ok((file, len)) => Ok(self.stream(file, len)),
            Err(err) => Err(self.unreadable(&err)),
        }
    }
}

thread_local! {
    /// This thread's scratch file per clone directory, for small files' clones: emptied
    /// and cloned onto for each file, which is read whole before the next. An unnamed file
    /// (nothing to remove, also after a crash); reusing it halves what a clone costs
    /// (measured on 32,000 files: btrfs 0.47 → 0.26 s, XFS 0.85 → 0.31 s), because no
    /// inode is created and freed per file.
    static SCRATCH: std::cell::RefCell<Vec<(PathBuf, File)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch file for clone directory `dir`.
fn with_scratch<T>(
    dir: &std::path::Path,
    f: impl FnOnce(&File) -> std::io::Result<T>,
) -> std::io::Result<T> {
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        let at = match scratch.iter().position(|(d, _)| d == dir) {
            Some(at) => at,
            None => {
                scratch.push((dir.to_path_buf(), umbra_core::reflink::unnamed_file(dir)?));
                scratch.len() - 1
            }
        };
        f(&scratch[at].1)
    })
}

/// A named, empty file for a large file's clone, with the directories above it below the
/// clone directory. The clone directory itself is not created: once it is released (an
/// interrupt), clones fail instead of leaving a tree behind.
fn named_clone(to: &CloneTo) -> std::io::Result<File> {
    if let Some(rel) = to.named.parent().and_then(|p| p.strip_prefix(&to.dir).ok()) {
        let mut dir = to.dir.clone();
        for part in rel.components() {
            dir.push(part);
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&to.named)
}

/// Asks the kernel to drop `file`'s cached pages (a hint; failures cost nothing).
pub(super) fn drop_pages(file: &File) {
    crate::platform::advise(file, 0, 0, crate::platform::Advice::DontNeed);
}

/// Gives a clone the live file's access time and the walk's modification time (the
/// node's; the live file's own when the walk has none).
fn keep_times(
    file: &File,
    mtime: Option<Timestamp>,
    live: &std::fs::Metadata,
) -> std::io::Result<()> {
    let (sec, nsec) = mtime.map_or(
        (live.mtime(), live.mtime_nsec()),
        crate::platform::unix_time,
    );
    crate::platform::set_file_times(file, (live.atime(), live.atime_nsec()), (sec, nsec))
}

/// The number of chunks of `size` bytes in a file of `len` bytes.
fn chunk_count(size: usize, len: u64) -> usize {
    usize::try_from(len.div_ceil(size as u64)).unwrap_or(usize::MAX)
}

/// The byte range of chunk `i` of a file of `len` bytes.
fn chunk_range(i: usize, size: usize, len: u64) -> Range<u64> {
    let start = (i as u64).saturating_mul(size as u64).min(len);
    start..start.saturating_add(size as u64).min(len)
}

/// Whether `ranges` (sorted, merged) cover `r` whole.
fn covered(ranges: &[Range<u64>], r: &Range<u64>) -> bool {
    let i = ranges.partition_point(|x| x.end <= r.start);
    ranges
        .get(i)
        .is_some_and(|x| x.start <= r.start && x.end >= r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ctime_is_not_a_change() {
        let a = Expected {
            size: 1,
            mtime: None,
            ctime: None,
            inode: 0,
        };
        let b = Expected {
            size: 1,
            mtime: Timestamp::new(5, 0).ok(),
            ctime: None,
            inode: 7,
        };
        assert!(!a.differs_from(&b));
        let c = Expected { size: 2, ..b };
        assert!(b.differs_from(&c));
    }
}
