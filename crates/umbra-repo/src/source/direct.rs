//! Reading a volume snapshot's large files around the page cache (`O_DIRECT`), at low
//! priority.
//!
//! Why: a snapshot's pages serve nobody after the backup, yet a buffered read puts every
//! one of them in the page cache (allocating, readahead, then `DONTNEED` to drop them
//! again), and that kernel work runs at the priority of nobody in particular, on the
//! CPUs the applications need. Measured beside pgbench (docs/BENCHMARKS.md, 2026-12-02):
//! reading the same 1.76 GB of a btrfs snapshot at nice 19 in the idle I/O class, in the
//! same 3.2-3.7 s, left PostgreSQL 0.24 and 0.39 of its TPS buffered and 0.53 and 0.68
//! direct. Direct reads also leave the applications' cached pages where they are.
//!
//! How: the file's descriptor gets `O_DIRECT` (`fcntl`), and it is read in blocks of
//! [`BLOCK`] bytes into a buffer aligned to [`ALIGN`], from offset 0 on, so every read
//! is aligned; the last one ends short at the end of the file. Where the filesystem has
//! no direct I/O (`fcntl` fails) or a read is refused (`EINVAL`: an alignment the
//! filesystem wants larger than 4 KiB), the file is read buffered from where it was,
//! as any other: direct reading is an economy, never a condition of the backup.
//!
//! Only volume snapshots: they are read-only and nobody writes them, so nothing in the
//! page cache is newer than the disk. A live file read directly would first have its
//! dirty pages written back (the kernel keeps direct reads coherent that way), which
//! is a cost put on the application.

use std::fs::File;
use std::io::{self, Read};

/// The size of one direct read: one request in flight per reader.
pub(crate) const BLOCK: usize = 1 << 20;
/// The alignment of buffer, offset and length that direct I/O asks for (the page size,
/// which covers the logical block size of the disks we meet).
pub(crate) const ALIGN: usize = 4096;

/// A buffer of `BLOCK + ALIGN` bytes for direct reads, and the offset in it at which an
/// aligned block of [`BLOCK`] bytes starts.
///
/// Written through, not zeroed: a zeroed allocation this large comes as pages not yet
/// mapped, and btrfs answers a direct read into a buffer it would have to fault in by
/// reading buffered (the test `files_read_from_a_volume_snapshot_leave_the_page_cache`
/// found the first 2 MiB of each file cached).
pub(crate) fn aligned_block() -> (Vec<u8>, usize) {
    let storage = vec![0x55u8; BLOCK + ALIGN];
    let offset = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
    (storage, offset)
}

/// A file read in aligned blocks around the page cache, or buffered where that fails.
pub(crate) struct DirectFile {
    file: File,
    /// `BLOCK + ALIGN` bytes; the block used starts at `offset`, which aligns it.
    storage: Vec<u8>,
    offset: usize,
    /// The unread part of the block, `start..end` (relative to `offset`).
    start: usize,
    end: usize,
    /// Whether reads still go around the cache.
    direct: bool,
}

impl DirectFile {
    /// `file` read directly from its current position (which must be 0, or aligned), or
    /// buffered where the filesystem has no direct I/O.
    pub(crate) fn new(file: File) -> Self {
        let direct = crate::platform::set_direct(&file, true);
        let (storage, offset) = if direct {
            aligned_block()
        } else {
            (Vec::new(), 0)
        };
        Self {
            file,
            storage,
            offset,
            start: 0,
            end: 0,
            direct,
        }
    }

    /// `file` read as any other, through the page cache.
    pub(crate) fn buffered(file: File) -> Self {
        Self {
            file,
            storage: Vec::new(),
            offset: 0,
            start: 0,
            end: 0,
            direct: false,
        }
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Whether reads still go around the page cache.
    pub(crate) fn is_direct(&self) -> bool {
        self.direct
    }

    /// Reads the next block; 0 at the end of the file. On `EINVAL`, direct reading is
    /// turned off for the rest of this file (the position is unchanged by a failed read).
    fn fill(&mut self) -> io::Result<usize> {
        let block = &mut self.storage[self.offset..self.offset + BLOCK];
        loop {
            match self.file.read(block) {
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(crate::platform::EINVAL) => {
                    self.direct = false;
                    crate::platform::set_direct(&self.file, false);
                    return Ok(0);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Read for DirectFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.direct {
            return self.file.read(out);
        }
        if self.start == self.end && self.fill()? == 0 {
            // The end of the file, or direct reading just turned off: read buffered.
            return if self.direct {
                Ok(0)
            } else {
                self.file.read(out)
            };
        }
        let n = out.len().min(self.end - self.start);
        let from = self.offset + self.start;
        out[..n].copy_from_slice(&self.storage[from..from + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    /// Removes its directory when dropped.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str, bytes: &[u8]) -> (Scratch, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("umbra-direct-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join(name);
        let dir = Scratch(dir);
        let mut f = File::create(&path).expect("create");
        f.write_all(bytes).expect("write");
        f.sync_all().expect("sync");
        (dir, path)
    }

    /// Reads `r` to its end in pieces of `piece` bytes.
    fn read_in(r: &mut impl Read, piece: usize) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = vec![0u8; piece];
        loop {
            let n = r.read(&mut buf).expect("read");
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn a_file_read_around_the_cache_gives_its_bytes_in_any_piece_size() {
        // Not a multiple of the alignment or of the block; more than two blocks.
        let bytes = content(2 * BLOCK + 12_345);
        let (_dir, path) = scratch("whole", &bytes);
        for piece in [1, 4096, 4099, 300_000, BLOCK, 3 * BLOCK] {
            let mut r = DirectFile::new(File::open(&path).expect("open"));
            let direct = r.is_direct();
            assert_eq!(read_in(&mut r, piece), bytes, "piece {piece}");
            if !direct {
                // CI's temporary directory is on a filesystem with direct I/O: there, a
                // buffered read means the direct path was never taken.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{} was read buffered: no direct I/O there?",
                    path.display()
                );
                eprintln!(
                    "NOT CHECKED: the filesystem of {} has no direct I/O; read buffered",
                    path.display()
                );
            }
        }
        let (_dir, empty) = scratch("empty", &[]);
        let mut r = DirectFile::new(File::open(&empty).expect("open"));
        assert!(read_in(&mut r, 4096).is_empty());
    }

    #[test]
    fn a_direct_read_the_filesystem_refuses_goes_on_buffered_from_where_it_was() {
        let bytes = content(BLOCK + 777);
        let (_dir, path) = scratch("refused", &bytes);
        let mut file = File::open(&path).expect("open");
        // An unaligned position: a direct read from it is refused with EINVAL.
        file.seek(SeekFrom::Start(1)).expect("seek");
        let mut r = DirectFile::new(file);
        let was_direct = r.is_direct();
        assert_eq!(read_in(&mut r, 5000), bytes[1..]);
        assert!(!r.is_direct(), "still direct after a refused read");
        if !was_direct {
            eprintln!("NOT CHECKED: no direct I/O here, so no refused read to go on from");
        }
    }
}
