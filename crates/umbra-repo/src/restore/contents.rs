//! Writing file contents: read each pack once, in ranges, decrypt and verify each blob,
//! and write it into every file that holds it.
//!
//! Why not rustic_core's restorer: it `unwrap()`s every pack read and every decryption, so
//! one damaged pack panics a worker thread and the restore stops half-way, with files left
//! zero-filled and none named. Here a blob that cannot be read is one file's problem:
//! the file is marked damaged with the reason and the bytes it lacks, and everything else
//! is restored.
//!
//! Memory is bounded: each worker holds one pack range ([`MAX_RANGE`]) and the blobs
//! decrypted from it, so a restore uses about `workers × 2 × MAX_RANGE` for data, whatever
//! its size. The plan itself (one entry per distinct blob) grows with the snapshot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustic_core::repofile::PackId;
use rustic_core::{FileType, ReadBackend, WriteBackend};
use sha2::Digest;
use umbra_core::Task;

use crate::crypto::FileCrypto;
use crate::platform::{FileExt, OpenOptionsExt};

/// The largest range of a pack read at once.
const MAX_RANGE: u32 = 16 << 20;
/// Blobs closer than this in a pack are read in one range, the gap read and dropped.
const MAX_GAP: u32 = 256 << 10;

/// A file whose content is being written into a temporary file.
pub(crate) struct FileJob {
    pub(crate) tmp: PathBuf,
    /// Bytes that could not be restored, and why (the first reason).
    pub(crate) damage: Mutex<Option<(u64, String)>>,
}

impl FileJob {
    pub(crate) fn new(tmp: PathBuf) -> Self {
        Self {
            tmp,
            damage: Mutex::new(None),
        }
    }

    pub(crate) fn damage(&self, bytes: u64, reason: &str) {
        if let Ok(mut d) = self.damage.lock() {
            match d.as_mut() {
                Some((missing, _)) => *missing += bytes,
                None => *d = Some((bytes, reason.to_string())),
            }
        }
    }

    pub(crate) fn damaged(&self) -> Option<(u64, String)> {
        self.damage.lock().ok().and_then(|d| d.clone())
    }
}

/// One blob of a pack and where its data goes.
struct BlobUse {
    offset: u32,
    length: u32,
    uncompressed: Option<u32>,
    id: [u8; 32],
    /// (file job, offset in the file)
    dests: Vec<(usize, u64)>,
}

impl BlobUse {
    fn data_length(&self) -> u64 {
        u64::from(self.uncompressed.unwrap_or(self.length.saturating_sub(32)))
    }
}

/// What to read from the repository: per pack, the blobs and their destinations.
#[derive(Default)]
pub(crate) struct ContentPlan {
    packs: HashMap<PackId, HashMap<u32, BlobUse>>,
    pub(crate) bytes: u64,
    /// Of `bytes`, those in blobs of zeros: they are not written (the files stay sparse).
    pub(crate) hole_bytes: u64,
    /// The id of an all-zero blob, by length (computed for the lengths that compress like
    /// zeros only).
    zero_ids: HashMap<u64, [u8; 32]>,
}

/// A stored blob at least this many times smaller than its data may be all zeros; only
/// such blobs are hashed against the zero blob of their length.
const ZERO_RATIO: u64 = 64;

impl ContentPlan {
    /// Adds one blob of file `job`, at `file_offset`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        pack: PackId,
        offset: u32,
        length: u32,
        uncompressed: Option<u32>,
        id: [u8; 32],
        job: usize,
        file_offset: u64,
    ) {
        let blob = self
            .packs
            .entry(pack)
            .or_default()
            .entry(offset)
            .or_insert_with(|| BlobUse {
                offset,
                length,
                uncompressed,
                id,
                dests: Vec::new(),
            });
        let data_length = blob.data_length();
        let maybe_zeros = blob.uncompressed.is_some()
            && u64::from(blob.length).saturating_mul(ZERO_RATIO) < data_length;
        let zeros = maybe_zeros && {
            let zero_id = self.zero_ids.entry(data_length).or_insert_with(|| {
                let len = usize::try_from(data_length).unwrap_or(0);
                sha2::Sha256::digest(vec![0u8; len]).into()
            });
            *zero_id == blob.id
        };
        blob.dests.push((job, file_offset));
        self.bytes += data_length;
        if zeros {
            self.hole_bytes += data_length;
        }
    }
}

/// A fatal write error (full disk, I/O error on the target) stops every worker.
pub(crate) struct Fatal {
    stop: AtomicBool,
    pub(crate) error: Mutex<Option<std::io::Error>>,
}

/// How many packs are read at once: one per core (2 to 8) from a local repository, where
/// reading and decrypting is CPU work; 8 from a remote one, where each read mostly waits
/// for the network (restic restores with 8 workers too). Memory stays bounded by
/// `readers × 2 × MAX_RANGE`.
pub(crate) fn readers(remote: bool) -> usize {
    if remote {
        8
    } else {
        std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .clamp(2, 8)
    }
}

/// Reads every pack of `plan` with `readers` threads and writes the blobs into the jobs'
/// temporary files. Damage is recorded in the jobs; a write error ends the restore
/// (returned).
pub(crate) fn write_contents(
    plan: ContentPlan,
    jobs: &[FileJob],
    backend: &Arc<dyn WriteBackend>,
    crypto: &FileCrypto,
    progress: &dyn Task,
    readers: usize,
) -> Result<(), std::io::Error> {
    progress.set_total(plan.bytes);
    let packs: Vec<(PackId, Vec<BlobUse>)> = plan
        .packs
        .into_iter()
        .map(|(pack, blobs)| {
            let mut blobs: Vec<BlobUse> = blobs.into_values().collect();
            blobs.sort_by_key(|b| b.offset);
            (pack, blobs)
        })
        .collect();
    let next = AtomicUsize::new(0);
    let fatal = Fatal {
        stop: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    std::thread::scope(|s| {
        for _ in 0..readers {
            s.spawn(|| loop {
                if fatal.stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((pack, blobs)) = packs.get(i) else {
                    break;
                };
                restore_pack(pack, blobs, jobs, backend, crypto, progress, &fatal);
            });
        }
    });
    match fatal.error.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Splits a pack's blobs (sorted by offset) into ranges to read at once.
fn ranges(blobs: &[BlobUse]) -> Vec<&[BlobUse]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=blobs.len() {
        let split = i == blobs.len() || {
            let first = &blobs[start];
            let prev = &blobs[i - 1];
            let next = &blobs[i];
            let prev_end = prev.offset.saturating_add(prev.length);
            next.offset.saturating_sub(prev_end) > MAX_GAP
                || next
                    .offset
                    .saturating_add(next.length)
                    .saturating_sub(first.offset)
                    > MAX_RANGE
        };
        if split {
            out.push(&blobs[start..i]);
            start = i;
        }
    }
    out
}

fn restore_pack(
    pack: &PackId,
    blobs: &[BlobUse],
    jobs: &[FileJob],
    backend: &Arc<dyn WriteBackend>,
    crypto: &FileCrypto,
    progress: &dyn Task,
    fatal: &Fatal,
) {
    let pack_name = pack.to_hex().as_str().to_string();
    for range in ranges(blobs) {
        let (Some(first), Some(last)) = (range.first(), range.last()) else {
            continue;
        };
        let start = first.offset;
        let len = last
            .offset
            .saturating_add(last.length)
            .saturating_sub(start);
        let data = match backend.read_partial(FileType::Pack, pack, false, start, len) {
            Ok(d) if d.len() == len as usize => d,
            Ok(d) => {
                let reason = format!(
                    "pack {pack_name} is truncated (read {} of {len} bytes at offset {start})",
                    d.len()
                );
                damage_all(range, jobs, &reason, progress);
                continue;
            }
            Err(e) => {
                let cause = e.display_log();
                let cause = cause.lines().next().unwrap_or_default().to_string();
                let reason = format!("pack {pack_name} cannot be read: {cause}");
                damage_all(range, jobs, &reason, progress);
                continue;
            }
        };
        for blob in range {
            if fatal.stop.load(Ordering::Relaxed) {
                return;
            }
            let at = (blob.offset - start) as usize;
            let stored = &data[at..at + blob.length as usize];
            match crypto.open_blob(stored, blob.uncompressed, &blob.id) {
                Ok(plain) => write_blob(&plain, blob, jobs, fatal),
                Err(damage) => {
                    let reason = format!(
                        "blob {} in pack {pack_name}: {damage}",
                        &hex::encode(blob.id)[..8]
                    );
                    damage_all(std::slice::from_ref(blob), jobs, &reason, progress);
                    continue;
                }
            }
            progress.increment(blob.data_length());
        }
    }
}

fn damage_all(blobs: &[BlobUse], jobs: &[FileJob], reason: &str, progress: &dyn Task) {
    for blob in blobs {
        for (job, _) in &blob.dests {
            if let Some(j) = jobs.get(*job) {
                j.damage(blob.data_length(), reason);
            }
        }
        progress.increment(blob.data_length());
    }
}

fn write_blob(plain: &[u8], blob: &BlobUse, jobs: &[FileJob], fatal: &Fatal) {
    // The temporary files were created at their full length: holes read as zeros, so a
    // blob of zeros needs no write (and the file stays sparse).
    if plain.iter().all(|b| *b == 0) {
        return;
    }
    for (job, offset) in &blob.dests {
        let Some(j) = jobs.get(*job) else { continue };
        let result = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(crate::platform::O_NOFOLLOW)
            .open(&j.tmp)
            .and_then(|f| f.write_all_at(plain, *offset));
        if let Err(e) = result {
            fatal.stop.store(true, Ordering::Relaxed);
            if let Ok(mut slot) = fatal.error.lock() {
                slot.get_or_insert(std::io::Error::new(
                    e.kind(),
                    format!("cannot write {}: {e}", j.tmp.display()),
                ));
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(offset: u32, length: u32) -> BlobUse {
        BlobUse {
            offset,
            length,
            uncompressed: None,
            id: [0; 32],
            dests: Vec::new(),
        }
    }

    #[test]
    fn close_blobs_are_read_together_and_far_ones_apart() {
        let blobs = vec![
            blob(0, 1000),
            blob(1000, 1000),
            blob(2000 + MAX_GAP + 1, 10),
        ];
        let r = ranges(&blobs);
        assert_eq!(r.iter().map(|r| r.len()).collect::<Vec<_>>(), vec![2, 1]);
    }

    #[test]
    fn ranges_never_exceed_the_bound() {
        let blobs: Vec<_> = (0..40).map(|i| blob(i * (1 << 20), 1 << 20)).collect();
        for r in ranges(&blobs) {
            let len = r.last().map_or(0, |l| l.offset + l.length) - r[0].offset;
            assert!(len <= MAX_RANGE);
        }
    }
}
