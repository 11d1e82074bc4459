//! What the filesystem can vouch for: byte ranges of a file that are the same physical
//! data as the same ranges of its copy in a kept base snapshot (issue #22).
//!
//! On btrfs (subvolume snapshots) and on XFS and btrfs (reflink clones), a snapshot shares
//! every extent of the file with the live file until the live file is written; a write
//! goes to a new extent (copy-on-write). So a logical range that maps to the same physical
//! address, with the same state, in the base and in the new snapshot holds the same bytes,
//! and a range that is a hole in both holds zeros in both. `FIEMAP` tells both (and, in a
//! read-only btrfs snapshot, the subvolume's own tree tells it faster: `btrfs_tree`).
//!
//! Anything the filesystem cannot vouch for is read: extents whose physical address does
//! not identify their bytes (compressed or otherwise encoded, inline, tail-packed, not
//! aligned, encrypted, delayed allocation or unknown location), and any range where the
//! two maps differ. A filesystem without `FIEMAP` vouches for nothing, and neither does
//! Windows (no kept bases there).
// The FIEMAP structures are Linux's; on Windows only the comparison logic is built.
#![cfg_attr(windows, allow(dead_code))]

use std::fs::File;
use std::ops::Range;
use std::path::Path;

use crate::platform::MetadataExt;

#[cfg(all(target_os = "linux", target_endian = "little"))]
mod btrfs_tree;

/// `_IOWR('f', 11, struct fiemap)`.
#[cfg(unix)]
const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
const FIEMAP_FLAG_SYNC: u32 = 0x1;
const EXTENT_LAST: u32 = 0x1;
const EXTENT_UNWRITTEN: u32 = 0x800;
/// UNKNOWN, DELALLOC, ENCODED, DATA_ENCRYPTED, NOT_ALIGNED, DATA_INLINE, DATA_TAIL.
const EXTENT_UNVOUCHED: u32 = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400;
/// Extents asked for per call.
const BATCH: usize = 512;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FiemapExtent {
    logical: u64,
    physical: u64,
    length: u64,
    reserved64: [u64; 2],
    flags: u32,
    reserved: [u32; 3],
}

#[repr(C)]
struct Fiemap {
    start: u64,
    length: u64,
    flags: u32,
    mapped_extents: u32,
    extent_count: u32,
    reserved: u32,
    extents: [FiemapExtent; BATCH],
}

/// One extent of a file: logical range, physical start, and whether its address vouches
/// for its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    pub logical: u64,
    pub physical: u64,
    pub length: u64,
    pub unwritten: bool,
    pub vouched: bool,
}

/// The extents of `file` (sorted by logical offset), or `None` when the filesystem does
/// not answer `FIEMAP`. A file in a read-only btrfs subvolume (a kept base, a new
/// snapshot) is mapped from the subvolume's tree instead (`btrfs_tree`: the same
/// addresses without `FIEMAP`'s walk of every extent's back references).
///
/// A large file is mapped in [`PARTS`] parts at once: on a cold cache, mapping a
/// fragmented file is a chain of small metadata reads, one after the other (a 1 GiB table
/// with 43,000 extents: 90 ms), which parts asked for side by side overlap.
pub(crate) fn extents(file: &File) -> Option<Vec<Extent>> {
    let len = file.metadata().ok()?.len();
    #[cfg(all(target_os = "linux", target_endian = "little"))]
    if btrfs_tree::read_only(file) {
        if let Some(map) = from_btrfs_tree(file, len) {
            return Some(map);
        }
    }
    if len < PART_MIN * PARTS as u64 {
        return extents_in(file, 0..u64::MAX);
    }
    let parts = in_parts(len, |range| extents_in(file, range));
    let mut out: Vec<Extent> = Vec::new();
    for map in parts {
        for (i, e) in map?.into_iter().enumerate() {
            let Some(last) = out.last_mut() else {
                out.push(e);
                continue;
            };
            if end_of(last) > e.logical {
                // An extent across a boundary, in both parts' answers (btrfs, XFS): the
                // same extent, or the answers cannot be trusted.
                let offset = e.logical.checked_sub(last.logical)?;
                if last.physical.checked_add(offset)? != e.physical
                    || (last.unwritten, last.vouched) != (e.unwritten, e.vouched)
                {
                    return None;
                }
                last.length = last.length.max(end_of(&e) - last.logical);
            } else if i == 0
                && end_of(last) == e.logical
                && last.physical.checked_add(last.length) == Some(e.physical)
                && (last.unwritten, last.vouched) == (e.unwritten, e.vouched)
            {
                // An extent cut at the boundary (ext4 answers only inside the range).
                last.length += e.length;
            } else {
                out.push(e);
            }
        }
    }
    Some(out)
}

/// The extents of `file` (`len` bytes long) from its btrfs subvolume's tree, a large
/// file in [`PARTS`] parts at once, as `FIEMAP` is; `None` when the tree cannot be read.
/// Each item is in exactly one part (the one its start falls in), so the parts' answers
/// follow each other.
#[cfg(all(target_os = "linux", target_endian = "little"))]
fn from_btrfs_tree(file: &File, len: u64) -> Option<Vec<Extent>> {
    if len < PART_MIN * PARTS as u64 {
        return btrfs_tree::extents_between(file, 0..u64::MAX);
    }
    let parts = in_parts(len, |range| btrfs_tree::extents_between(file, range));
    let mut out = Vec::new();
    for map in parts {
        out.extend(map?);
    }
    Some(out)
}

/// `map` asked for each of [`PARTS`] equal parts of `[0, len)` at once (the last part's
/// end is `u64::MAX`): the answers in the parts' order.
fn in_parts(
    len: u64,
    map: impl Fn(Range<u64>) -> Option<Vec<Extent>> + Sync,
) -> Vec<Option<Vec<Extent>>> {
    let part = len.div_ceil(PARTS as u64);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..PARTS as u64)
            .map(|k| {
                let end = if k + 1 == PARTS as u64 {
                    u64::MAX
                } else {
                    (k + 1) * part
                };
                let map = &map;
                s.spawn(move || map(k * part..end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    })
}

/// Parts a large file is mapped in at once.
const PARTS: usize = 4;
/// Smallest part worth a thread of its own.
const PART_MIN: u64 = 4 << 20;

/// The extents of `file` that overlap `range`, sorted by logical offset.
#[cfg(windows)]
fn extents_in(_file: &File, _range: Range<u64>) -> Option<Vec<Extent>> {
    None
}

#[cfg(unix)]
fn extents_in(file: &File, range: Range<u64>) -> Option<Vec<Extent>> {
    use std::os::fd::AsRawFd;
    let mut out = Vec::new();
    let mut start = range.start;
    loop {
        let mut map = Box::new(Fiemap {
            start,
            length: range.end - start,
            flags: FIEMAP_FLAG_SYNC,
            mapped_extents: 0,
            extent_count: BATCH as u32,
            reserved: 0,
            extents: [FiemapExtent::default(); BATCH],
        });
        // SAFETY: `map` is a valid, writable `struct fiemap` with room for `extent_count`
        // extents, and the descriptor is open.
        let rc = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                FS_IOC_FIEMAP as _,
                std::ptr::addr_of_mut!(*map),
            )
        };
        if rc != 0 {
            return None;
        }
        let n = (map.mapped_extents as usize).min(BATCH);
        if n == 0 {
            return Some(out);
        }
        let mut last = false;
        for e in &map.extents[..n] {
            out.push(Extent {
                logical: e.logical,
                physical: e.physical,
                length: e.length,
                unwritten: e.flags & EXTENT_UNWRITTEN != 0,
                vouched: e.flags & EXTENT_UNVOUCHED == 0,
            });
            last |= e.flags & EXTENT_LAST != 0;
        }
        let end = map.extents[n - 1].logical + map.extents[n - 1].length;
        if last || end <= start || end >= range.end {
            return Some(out);
        }
        start = end;
    }
}

/// What backs the bytes of the file at `path`, as each of the two sources of extent maps
/// says: the btrfs subvolume tree's answer (only for a file in a read-only subvolume)
/// and `FIEMAP`'s, each `None` where that source does not answer. One line per run of
/// bytes backed alike, up to the file's length: `0..8192 at 22020096`, `8192..12288
/// hole`, `12288..16384 unvouched` (an address that does not vouch for its bytes),
/// `at ... unwritten`. Only for the test that the two agree (`testing::extent_backing`):
/// the comparison that decides which bytes are not read must not depend on the source.
#[must_use]
pub(crate) fn backing_by_each_source(path: &Path) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let Ok(file) = File::open(path) else {
        return (None, None);
    };
    let len = file.metadata().map_or(0, |m| m.len());
    #[cfg(all(target_os = "linux", target_endian = "little"))]
    let tree = if btrfs_tree::read_only(&file) {
        from_btrfs_tree(&file, len)
    } else {
        None
    };
    #[cfg(not(all(target_os = "linux", target_endian = "little")))]
    let tree = None;
    let fiemap = extents_in(&file, 0..u64::MAX);
    let render = |map: Vec<Extent>| {
        let mut runs: Vec<(Range<u64>, Backing)> = Vec::new();
        let (mut i, mut at) = (0, 0);
        while at < len {
            while map.get(i).is_some_and(|e| end_of(e) <= at) {
                i += 1;
            }
            let (backing, next) = backing(map.get(i), at);
            let end = next.min(len);
            let continues = runs.last().is_some_and(|(r, b)| match (b, &backing) {
                (Backing::At(p, u), Backing::At(q, v)) => u == v && p + (r.end - r.start) == *q,
                (b, c) => b == c,
            });
            match runs.last_mut() {
                Some((r, _)) if continues => r.end = end,
                _ => runs.push((at..end, backing)),
            }
            at = end;
        }
        runs.into_iter()
            .map(|(r, b)| match b {
                Backing::Hole => format!("{r:?} hole"),
                Backing::Unvouched => format!("{r:?} unvouched"),
                Backing::At(p, false) => format!("{r:?} at {p}"),
                Backing::At(p, true) => format!("{r:?} at {p} unwritten"),
            })
            .collect()
    };
    (tree.map(render), fiemap.map(render))
}

/// What backs one byte offset of a file.
#[derive(Debug, PartialEq, Eq)]
enum Backing {
    Hole,
    /// Physical address of the byte, and whether it is unwritten (reads as zeros).
    At(u64, bool),
    Unvouched,
}

/// The ranges of `[0, len)` that `a` and `b` (two files' extents, each sorted by logical
/// offset and not overlapping) provably hold the same bytes in, sorted and merged.
///
/// One sweep over both maps, piece by piece between the points where either changes: a
/// fragmented file has tens of thousands of extents (sorting their cut points cost 40 ms
/// for a 1 GiB table).
pub(crate) fn same_ranges(a: &[Extent], b: &[Extent], len: u64) -> Vec<Range<u64>> {
    let mut out: Vec<Range<u64>> = Vec::new();
    let (mut i, mut j, mut at) = (0, 0, 0);
    while at < len {
        while a.get(i).is_some_and(|e| end_of(e) <= at) {
            i += 1;
        }
        while b.get(j).is_some_and(|e| end_of(e) <= at) {
            j += 1;
        }
        let (in_a, a_next) = backing(a.get(i), at);
        let (in_b, b_next) = backing(b.get(j), at);
        let end = a_next.min(b_next).min(len);
        let same = match (in_a, in_b) {
            (Backing::Hole, Backing::Hole) => true,
            (Backing::At(p, u), Backing::At(q, v)) => p == q && u == v,
            _ => false,
        };
        if same {
            match out.last_mut() {
                Some(last) if last.end == at => last.end = end,
                _ => out.push(at..end),
            }
        }
        at = end;
    }
    out
}

fn end_of(e: &Extent) -> u64 {
    e.logical.saturating_add(e.length)
}

/// What backs byte `at` of a file, given the first extent not ending at or before it,
/// and the offset where that changes.
fn backing(next: Option<&Extent>, at: u64) -> (Backing, u64) {
    match next {
        Some(e) if e.logical <= at => {
            let backing = if e.vouched {
                Backing::At(e.physical + (at - e.logical), e.unwritten)
            } else {
                Backing::Unvouched
            };
            (backing, end_of(e))
        }
        Some(e) => (Backing::Hole, e.logical),
        None => (Backing::Hole, u64::MAX),
    }
}

/// What the filesystem says about a large file and its copy in a kept base.
pub(crate) struct Compared {
    /// The ranges of `[0, len)` in which the new file holds the base's bytes.
    pub same: Vec<Range<u64>>,
    /// What the base's copy holds of its own (see [`kept_base_cost`]), known here so that
    /// the cost report after the backup need not ask the filesystem again.
    pub base_cost: u64,
}

/// Compares the file at `new` with the file at `base`, the first `len` bytes; `None`
/// when the filesystem cannot tell. Both maps are asked for at once: on a fragmented file
/// (a database table: 43,000 extents for 1 GiB) each takes a tenth of a second of reading
/// metadata.
pub(crate) fn compare(base: &Path, new: &File, len: u64) -> Option<Compared> {
    let base = File::open(base).ok()?;
    let (base_map, new_map) = std::thread::scope(|s| {
        let base_map = s.spawn(|| extents(&base));
        let new_map = extents(new);
        (base_map.join().ok().flatten(), new_map)
    });
    let (base_map, new_map) = (base_map?, new_map?);
    // Beyond the shorter file, the two cannot be compared.
    let len = len.min(base.metadata().map_or(0, |m| m.len()));
    let same = same_ranges(&base_map, &new_map, len);
    let base_cost = cost(&base_map, &new_map);
    Some(Compared { same, base_cost })
}

/// Bytes that the files under `base` (a kept base) hold and the files under `now` (the
/// same tree, taken later) no longer share: at least what keeping the base costs. (On
/// btrfs a partly rewritten extent stays allocated whole while any part of it is used, so
/// the real cost can be higher.) Symlinks are not followed and mount points below `base`
/// are not entered. `known` holds the cost of files the backup already compared (by their
/// path under `base`), which are not asked of the filesystem again.
///
/// A file that has not been written since the base (see [`unwritten_since`]) shares all
/// of its extents with it and costs nothing, without being opened or mapped: in a tree of
/// 25,000 files of which 24 changed, mapping every file twice made this report 50,000
/// opens and `FIEMAP` calls, more system time than the backup's own reading.
#[must_use]
pub fn kept_base_cost<S: std::hash::BuildHasher>(
    base: &Path,
    now: &Path,
    known: &std::collections::HashMap<std::path::PathBuf, u64, S>,
) -> u64 {
    // The base's file (`meta` its metadata) against its counterpart in `now`.
    let file_cost = |meta: &std::fs::Metadata, base: &Path, now: &Path| {
        if unwritten_since(meta, now) {
            return 0;
        }
        known
            .get(base)
            .copied()
            .unwrap_or_else(|| file_cost(base, now))
    };
    let Ok(top) = std::fs::symlink_metadata(base) else {
        return 0;
    };
    if top.is_file() {
        return file_cost(&top, base, now);
    }
    let mut total = 0;
    let mut dirs = vec![std::path::PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(base.join(&rel)) else {
            continue;
        };
        for entry in entries.filter_map(std::result::Result::ok) {
            let Ok(meta) = entry.metadata() else { continue };
            let child = rel.join(entry.file_name());
            if meta.dev() != top.dev() {
                continue;
            }
            if meta.is_dir() {
                dirs.push(child);
            } else if meta.is_file() {
                total += file_cost(&meta, &base.join(&child), &now.join(&child));
            }
        }
    }
    total
}

/// Whether the file at `now` is the file a kept base's copy (`base`, its metadata) was
/// taken of, not written since: the same inode, size, modification and change time. A
/// snapshot keeps inode numbers and times (btrfs), every write moves the change time,
/// and so does setting the modification time back; a file written since, or another in
/// its place, differs in one of them. Not seen: a deduplication tool (`FIDEDUPERANGE`)
/// that moves a file's extents without writing it, which the report then leaves out. A
/// reflink base's copies are files of their own (other inode numbers): never the same.
fn unwritten_since(base: &std::fs::Metadata, now: &Path) -> bool {
    std::fs::symlink_metadata(now).is_ok_and(|now| {
        base.ino() != 0
            && now.is_file()
            && now.ino() == base.ino()
            && now.len() == base.len()
            && (now.mtime(), now.mtime_nsec()) == (base.mtime(), base.mtime_nsec())
            && (now.ctime(), now.ctime_nsec()) == (base.ctime(), base.ctime_nsec())
    })
}

/// Allocated bytes of `base` outside the ranges it provably shares with `now`.
fn file_cost(base: &Path, now: &Path) -> u64 {
    let Some(map) = File::open(base).ok().and_then(|f| extents(&f)) else {
        return 0;
    };
    let now_map = File::open(now)
        .ok()
        .and_then(|f| extents(&f))
        .unwrap_or_default();
    cost(&map, &now_map)
}

/// Allocated bytes of the file mapped by `base` outside the ranges it provably shares
/// with the file mapped by `now`.
fn cost(base: &[Extent], now: &[Extent]) -> u64 {
    let len = base.iter().map(|e| e.logical + e.length).max().unwrap_or(0);
    let same = same_ranges(base, now, len);
    base.iter()
        .filter(|e| !e.unwritten)
        .map(|e| {
            let (start, end) = (e.logical, e.logical + e.length);
            // `same` is sorted and merged: only the ranges from the first one ending after
            // `start` up to the first one starting at or after `end` overlap.
            let first = same.partition_point(|r| r.end <= start);
            let shared: u64 = same[first..]
                .iter()
                .take_while(|r| r.start < end)
                .map(|r| r.end.min(end).saturating_sub(r.start.max(start)))
                .sum();
            e.length - shared.min(e.length)
        })
        .sum()
}

#[cfg(test)]
mod tests;
