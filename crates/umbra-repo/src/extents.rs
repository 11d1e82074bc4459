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
//! two maps differ. A filesystem without `FIEMAP` vouches for nothing.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::path::Path;

/// `_IOWR('f', 11, struct fiemap)`.
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
pub(crate) fn extents(file: &File) -> Option<Vec<Extent>> {
    let mut out = Vec::new();
    let mut start = 0u64;
    loop {
        let mut map = Box::new(Fiemap {
            start,
            length: u64::MAX - start,
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
        if last || end <= start {
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

/// The ranges of `[0, len)` that `a` and `b` (two files' extents) provably hold the same
/// bytes in, sorted and merged.
pub(crate) fn same_ranges(a: &[Extent], b: &[Extent], len: u64) -> Vec<Range<u64>> {
    // Every point where either map changes, then one comparison per piece between them.
    let mut cuts: Vec<u64> = vec![0, len];
    for e in a.iter().chain(b) {
        for x in [e.logical, e.logical.saturating_add(e.length)] {
            if x < len {
                cuts.push(x);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Range<u64>> = Vec::new();
    for piece in cuts.windows(2) {
        let (start, end) = (piece[0], piece[1]);
        let same = match (backing(a, start), backing(b, start)) {
            (Backing::Hole, Backing::Hole) => true,
            (Backing::At(p, u), Backing::At(q, v)) => p == q && u == v,
            _ => false,
        };
        if !same {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => out.push(start..end),
        }
    }
    out
}

fn backing(extents: &[Extent], at: u64) -> Backing {
    // Extents are sorted by logical offset and do not overlap.
    let i = extents.partition_point(|e| e.logical.saturating_add(e.length) <= at);
    match extents.get(i) {
        Some(e) if e.logical <= at => {
            if e.vouched {
                Backing::At(e.physical + (at - e.logical), e.unwritten)
            } else {
                Backing::Unvouched
            }
        }
        _ => Backing::Hole,
    }
}

/// The ranges of `[0, len)` in which the file at `new` holds the same bytes as the file at
/// `base`; empty when the filesystem cannot tell.
pub(crate) fn unchanged_ranges(base: &Path, new: &File, len: u64) -> Vec<Range<u64>> {
    let (Ok(base), Some(new_map)) = (File::open(base), extents(new)) else {
        return Vec::new();
    };
    let Some(base_map) = extents(&base) else {
        return Vec::new();
    };
    // Beyond the shorter file, the two cannot be compared.
    let len = len.min(base.metadata().map_or(0, |m| m.len()));
    same_ranges(&base_map, &new_map, len)
}

/// Bytes that the files under `base` (a kept base) hold and the files under `now` (the
/// same tree, taken later) no longer share: at least what keeping the base costs. (On
/// btrfs a partly rewritten extent stays allocated whole while any part of it is used, so
/// the real cost can be higher.) Symlinks are not followed and mount points below `base`
/// are not entered.
#[must_use]
pub fn kept_base_cost(base: &Path, now: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(top) = std::fs::symlink_metadata(base) else {
        return 0;
    };
    if top.is_file() {
        return file_cost(base, now);
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
                total += file_cost(&base.join(&child), &now.join(&child));
            }
        }
    }
    total
}

/// Allocated bytes of `base` outside the ranges it provably shares with `now`.
fn file_cost(base: &Path, now: &Path) -> u64 {
    let Some(map) = File::open(base).ok().and_then(|f| extents(&f)) else {
        return 0;
    };
    let len = map.iter().map(|e| e.logical + e.length).max().unwrap_or(0);
    let same = File::open(now)
        .ok()
        .and_then(|f| extents(&f))
        .map(|now_map| same_ranges(&map, &now_map, len))
        .unwrap_or_default();
    map.iter()
        .filter(|e| !e.unwritten)
        .map(|e| {
            let (start, end) = (e.logical, e.logical + e.length);
            let shared: u64 = same
                .iter()
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
}
