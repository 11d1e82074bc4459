//! A btrfs file's extents read from its subvolume's own tree (`BTRFS_IOC_TREE_SEARCH_V2`),
//! for files in a read-only snapshot.
//!
//! Why not `FIEMAP` there: btrfs's `FIEMAP` works out, for every extent, whether another
//! tree shares it (a walk of the extent's back references), and umbra never uses that
//! flag. With a kept base and a new snapshot beside the live database, every extent of a
//! table is shared, and those walks were 5% of a night's backup's CPU samples beside
//! pgbench (docs/BENCHMARKS.md, 2026-12-04); they grow with every further snapshot that
//! shares the extents (an hourly snapshot tool keeps dozens). The tree search reads the
//! file's `EXTENT_DATA` items and nothing else: the same addresses `FIEMAP` gives (the
//! extent's start plus the item's offset into it), with no back references.
//!
//! Only for files that cannot have unwritten data: `FIEMAP_FLAG_SYNC` writes a file's
//! dirty pages out before mapping it, a tree search sees only what is already in the
//! tree. A file in a read-only subvolume (the subvolume's own flag, not a read-only
//! mount's) has none. Anything else, a search the kernel refuses (not root, not btrfs) or
//! an item this code does not know, falls back to `FIEMAP`. `tests/kept_base_reads.rs`
//! checks that both give the same map of what backs every byte.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use super::Extent;

/// `_IOWR(0x94, 17, struct btrfs_ioctl_search_args_v2)` (a 112-byte header).
const BTRFS_IOC_TREE_SEARCH_V2: libc::c_ulong = 0xC070_9411;
/// The key type of a file's extent items.
const EXTENT_DATA_KEY: u32 = 108;
/// `struct btrfs_ioctl_search_key` and `buf_size`, before the results.
const HEADER: usize = 112;
/// Room for results per call: about 1,200 extent items.
const RESULTS: usize = 64 << 10;
/// `struct btrfs_ioctl_search_header`: transid, objectid, offset, type, len.
const ITEM_HEADER: usize = 32;
/// `struct btrfs_file_extent_item` with the fields of an extent outside the tree.
const ITEM_FULL: usize = 53;
const TYPE_INLINE: u8 = 0;
const TYPE_REG: u8 = 1;
const TYPE_PREALLOC: u8 = 2;
/// `_IOR(0x94, 60, struct btrfs_ioctl_get_subvol_info_args)` (504 bytes).
const BTRFS_IOC_GET_SUBVOL_INFO: libc::c_ulong = 0x81F8_943C;
const SUBVOL_INFO: usize = 504;
/// Where that struct holds the subvolume's root item flags (after treeid, the name,
/// parent_id, dirid and generation).
const SUBVOL_FLAGS: usize = 288;
/// `BTRFS_ROOT_SUBVOL_RDONLY`.
const ROOT_SUBVOL_RDONLY: u64 = 1;

/// The extents of `file` whose items start in `starts` (to its end when that is
/// `u64::MAX`), sorted by logical offset; `None` when the tree cannot be read here (then
/// `FIEMAP` is asked). Whether the file may have data not yet in the tree is
/// [`read_only`]'s to say first.
pub(super) fn extents_between(file: &File, starts: Range<u64>) -> Option<Vec<Extent>> {
    let (from, to) = (starts.start, starts.end.checked_sub(1)?);
    let ino = file.metadata().ok()?.ino();
    let mut args = vec![0u64; (HEADER + RESULTS) / 8];
    let mut out = Vec::new();
    let mut next = from;
    loop {
        args[..HEADER / 8].fill(0);
        // tree_id 0: the subvolume the file is in.
        args[1] = ino; // min_objectid
        args[2] = ino; // max_objectid
        args[3] = next; // min_offset
        args[4] = to; // max_offset
        args[6] = u64::MAX; // max_transid
        args[7] = u64::from(EXTENT_DATA_KEY) | (u64::from(EXTENT_DATA_KEY) << 32); // types
        args[8] = u64::from(u32::MAX); // nr_items: as many as fit
        args[13] = RESULTS as u64; // buf_size

        // SAFETY: `args` is a writable, aligned `struct btrfs_ioctl_search_args_v2` with
        // `buf_size` bytes of room after its header, and the descriptor is open.
        let rc = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                BTRFS_IOC_TREE_SEARCH_V2 as _,
                args.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return None;
        }
        let found = (args[8] & u64::from(u32::MAX)) as usize;
        if found == 0 {
            return Some(out);
        }
        // SAFETY: a view of the results' initialized words as bytes, of the same length.
        let bytes: &[u8] = unsafe {
            std::slice::from_raw_parts(args[HEADER / 8..].as_ptr().cast::<u8>(), RESULTS)
        };
        let mut at = 0;
        let mut last = next;
        for _ in 0..found {
            let head = bytes.get(at..at + ITEM_HEADER)?;
            let objectid = u64::from_ne_bytes(head[8..16].try_into().ok()?);
            let offset = u64::from_ne_bytes(head[16..24].try_into().ok()?);
            let kind = u32::from_ne_bytes(head[24..28].try_into().ok()?);
            let len = u32::from_ne_bytes(head[28..32].try_into().ok()?) as usize;
            let item = bytes.get(at + ITEM_HEADER..at + ITEM_HEADER + len)?;
            at += ITEM_HEADER + len;
            if objectid != ino || kind != EXTENT_DATA_KEY || offset < next || offset > to {
                return None;
            }
            if let Some(e) = extent_of(offset, item)? {
                out.push(e);
            }
            last = offset;
        }
        if last == u64::MAX || last >= to {
            return Some(out);
        }
        next = last + 1;
    }
}

/// Whether `file` cannot have data that is not yet in its subvolume's tree: its
/// subvolume is read-only (`BTRFS_IOC_GET_SUBVOL_INFO`, asked of any file in it, root or
/// not). The subvolume's own flag, not the mount's: a writable subvolume seen through a
/// read-only mount (which refuses writes with `EROFS` like a read-only subvolume) can still
/// be written elsewhere, and its dirty pages are not yet in the tree.
pub(super) fn read_only(file: &File) -> bool {
    let mut info = vec![0u64; SUBVOL_INFO / 8];
    // SAFETY: `info` is a writable, aligned `struct btrfs_ioctl_get_subvol_info_args`,
    // and the descriptor is open.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            BTRFS_IOC_GET_SUBVOL_INFO as _,
            info.as_mut_ptr(),
        )
    };
    // Success is not always 0: kernel 6.18 answers 1 with the struct filled in.
    rc >= 0 && info[SUBVOL_FLAGS / 8] & ROOT_SUBVOL_RDONLY != 0
}

/// The extent an `EXTENT_DATA` item at file offset `offset` describes: `Some(None)` for
/// a hole, `None` for an item this code does not know.
fn extent_of(offset: u64, item: &[u8]) -> Option<Option<Extent>> {
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(item.get(at..at + 8)?.try_into().ok()?))
    };
    let ram_bytes = u64_at(8)?;
    let encoded = *item.get(16)? != 0 || *item.get(17)? != 0 || item.get(18..20)? != [0, 0];
    match *item.get(20)? {
        // Data kept in the tree itself: no address vouches for it.
        TYPE_INLINE => Some(Some(Extent {
            logical: offset,
            physical: 0,
            length: ram_bytes,
            unwritten: false,
            vouched: false,
        })),
        kind @ (TYPE_REG | TYPE_PREALLOC) if item.len() >= ITEM_FULL => {
            let (disk_bytenr, extent_offset, num_bytes) = (u64_at(21)?, u64_at(37)?, u64_at(45)?);
            if disk_bytenr == 0 {
                return Some(None);
            }
            Some(Some(Extent {
                logical: offset,
                // Where FIEMAP says the range starts: an encoded extent's own start.
                physical: if encoded {
                    disk_bytenr
                } else {
                    disk_bytenr.checked_add(extent_offset)?
                },
                length: num_bytes,
                unwritten: kind == TYPE_PREALLOC,
                vouched: !encoded,
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where an inline extent's data starts in its item.
    const ITEM_INLINE_DATA: usize = 21;

    fn item(kind: u8, compression: u8, disk: u64, offset: u64, bytes: u64) -> Vec<u8> {
        let mut v = vec![0u8; ITEM_FULL];
        v[8..16].copy_from_slice(&bytes.to_le_bytes());
        v[16] = compression;
        v[20] = kind;
        v[21..29].copy_from_slice(&disk.to_le_bytes());
        v[37..45].copy_from_slice(&offset.to_le_bytes());
        v[45..53].copy_from_slice(&bytes.to_le_bytes());
        v
    }

    #[test]
    fn items_become_the_extents_fiemap_describes() {
        let reg = extent_of(8192, &item(TYPE_REG, 0, 1 << 20, 4096, 12288))
            .expect("known")
            .expect("data");
        assert_eq!(
            (
                reg.logical,
                reg.physical,
                reg.length,
                reg.unwritten,
                reg.vouched
            ),
            (8192, (1 << 20) + 4096, 12288, false, true)
        );
        let pre = extent_of(0, &item(TYPE_PREALLOC, 0, 1 << 20, 0, 4096))
            .expect("known")
            .expect("data");
        assert!(pre.unwritten && pre.vouched);
        let zstd = extent_of(0, &item(TYPE_REG, 3, 1 << 20, 4096, 4096))
            .expect("known")
            .expect("data");
        assert!(!zstd.vouched);
        assert_eq!(extent_of(0, &item(TYPE_REG, 0, 0, 0, 4096)), Some(None));
        let mut inline = item(TYPE_INLINE, 0, 0, 0, 700);
        inline.resize(ITEM_INLINE_DATA + 700, 0);
        let inline = extent_of(0, &inline).expect("known").expect("data");
        assert!(!inline.vouched && inline.length == 700);
        assert_eq!(extent_of(0, &item(7, 0, 1, 0, 1)), None);
        assert_eq!(extent_of(0, &item(TYPE_REG, 0, 1, 0, 1)[..30]), None);
    }
}
