//! What the filesystem can vouch for: byte ranges of a file that are the same physical
//! data as the same ranges of its copy in a kept base snapshot (issue #22).
//!
//! On btrfs (subvolume snapshots) and on XFS and btrfs (reflink clones), a snapshot shares
//! every extent of the file with the live file until the live file is written; a write
//! goes to a new extent (copy-on-write). So a logical range that maps to the same physical
//! address, with the same state, in the base and in the new snapshot holds the same bytes,
//! and a range that is a hole in both holds zeros in both. `FIEMAP` tells both.
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
/// not answer `FIEMAP`.
///
/// A large file is mapped in [`PARTS`] parts at once: on a cold cache, mapping a
/// fragmented file is a chain of small metadata reads, one after the other (a 1 GiB table
/// with 43,000 extents: 90 ms), which parts asked for side by side overlap.
pub(crate) fn extents(file: &File) -> Option<Vec<Extent>> {
    let len = file.metadata().ok()?.len();
    if len < PART_MIN * PARTS as u64 {
        return extents_in(file, 0..u64::MAX);
    }
    let part = len.div_ceil(PARTS as u64);
    let parts: Vec<Option<Vec<Extent>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PARTS as u64)
            .map(|k| {
                let end = if k + 1 == PARTS as u64 {
                    u64::MAX
                } else {
                    (k + 1) * part
                };
                s.spawn(move || extents_in(file, k * part..end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
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
mod tests {
    use super::*;

    fn ext(logical: u64, physical: u64, length: u64) -> Extent {
        Extent {
            logical,
            physical,
            length,
            unwritten: false,
            vouched: true,
        }
    }

    #[test]
    fn shared_extents_are_the_same_and_rewritten_ones_are_not() {
        // The base: one extent. The new file: the middle 4 KiB moved (copy-on-write).
        let base = [ext(0, 1 << 20, 64 << 10)];
        let new = [
            ext(0, 1 << 20, 8 << 10),
            ext(8 << 10, 9 << 20, 4 << 10),
            ext(12 << 10, (1 << 20) + (12 << 10), 52 << 10),
        ];
        assert_eq!(
            same_ranges(&base, &new, 64 << 10),
            vec![0..(8 << 10), (12 << 10)..(64 << 10)]
        );
    }

    #[test]
    fn holes_in_both_are_the_same_and_encoded_extents_are_never() {
        let mut compressed = ext(0, 1 << 20, 4096);
        compressed.vouched = false;
        let base = [compressed, ext(8192, 5 << 20, 4096)];
        let new = [compressed, ext(8192, 5 << 20, 4096)];
        // [0,4096): unvouched; [4096,8192): a hole in both; [8192,12288): shared.
        assert_eq!(same_ranges(&base, &new, 16384), vec![4096..16384]);
        // A hole against data is a change.
        assert_eq!(
            same_ranges(&base, &[compressed], 16384),
            vec![4096..8192, 12288..16384]
        );
    }

    #[test]
    fn the_same_address_at_another_offset_is_a_change() {
        let base = [ext(0, 1 << 20, 4096), ext(4096, 2 << 20, 4096)];
        let new = [ext(0, 2 << 20, 4096), ext(4096, 1 << 20, 4096)];
        assert!(same_ranges(&base, &new, 8192).is_empty());
    }

    /// A random extent map over `[0, 64)`: extents of 1-8 bytes with gaps, from a few
    /// physical places, some unwritten or unvouched.
    fn random_map(seed: &mut u64) -> Vec<Extent> {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let mut map = Vec::new();
        let mut at = 0;
        while at < 64 {
            at += next() % 3;
            let length = 1 + next() % 8;
            let mut e = ext(at, 1000 * (next() % 3) + at + next() % 2, length);
            e.unwritten = next() % 5 == 0;
            e.vouched = next() % 7 != 0;
            map.push(e);
            at += length;
        }
        map
    }

    #[test]
    fn the_sweep_agrees_with_a_byte_by_byte_comparison() {
        fn at(map: &[Extent], x: u64) -> Option<(Option<(u64, bool)>,)> {
            match map
                .iter()
                .find(|e| e.logical <= x && x < e.logical + e.length)
            {
                None => Some((None,)),
                Some(e) if e.vouched => Some((Some((e.physical + x - e.logical, e.unwritten)),)),
                Some(_) => None,
            }
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let (a, b) = (random_map(&mut seed), random_map(&mut seed));
            let len = 40 + seed % 40;
            let mut want: Vec<Range<u64>> = Vec::new();
            for x in 0..len {
                if at(&a, x).is_some() && at(&a, x) == at(&b, x) {
                    match want.last_mut() {
                        Some(r) if r.end == x => r.end = x + 1,
                        _ => want.push(x..x + 1),
                    }
                }
            }
            assert_eq!(same_ranges(&a, &b, len), want, "{a:?}\n{b:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_mapped_in_parts_has_the_map_it_has_whole() {
        use std::os::unix::fs::FileExt;
        // 32 MiB with data every other 64 KiB and a hole between: 256 extents at least,
        // some of them across the parts' boundaries once merged by the filesystem.
        let dir = std::env::temp_dir().join(format!("umbra-extents-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("f");
        let file = File::create(&path).expect("create");
        file.set_len(32 << 20).expect("len");
        for k in 0..256u64 {
            let len = if k % 7 == 0 { 192 << 10 } else { 64 << 10 };
            file.write_all_at(&vec![k as u8 | 1; len], k * (128 << 10))
                .expect("write");
        }
        file.sync_all().expect("sync");
        let file = File::open(&path).expect("open");
        let whole = extents_in(&file, 0..u64::MAX);
        let _ = std::fs::remove_dir_all(&dir);
        let Some(whole) = whole else {
            eprintln!("SKIPPED: {} does not answer FIEMAP", dir.display());
            return;
        };
        assert!(whole.len() > 8, "{} extents", whole.len());
        let parts = extents(&file).expect("map in parts");
        let differ: Vec<_> = whole
            .iter()
            .zip(&parts)
            .filter(|(a, b)| a != b)
            .take(3)
            .collect();
        assert!(
            differ.is_empty() && whole.len() == parts.len(),
            "{} extents whole, {} in parts; first differences: {differ:?}",
            whole.len(),
            parts.len()
        );
    }
}
