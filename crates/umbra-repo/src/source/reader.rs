//! What the archiver reads a file's content from, once the file is open (see [`super::open`]
//! for how it is opened and cut).
//!
//! Every reader lists its file among those being read (restic's `current_files` in the
//! `--json` status) until the archiver drops it: the listing is a guard the reader holds,
//! so a file that fails to open, or whose read ends early, leaves the list all the same.

use std::io::{Cursor, Read};

use super::direct::DirectFile;
use super::gapped::GappedReader;
use super::open::{drop_pages, Expected, PlannedOpen};
use crate::progress::InProgress;

/// A file's content for the archiver, and its place in the list of files being read.
pub(crate) struct FileReader {
    content: Content,
    _listed: InProgress,
}

impl FileReader {
    pub(super) fn new(content: Content, listed: InProgress) -> Self {
        Self {
            content,
            _listed: listed,
        }
    }
}

/// A file's content: read whole (small files), streamed, or streamed with the reused
/// chunks left out.
pub(super) enum Content {
    Memory(Cursor<Vec<u8>>),
    Stream(CheckedReader),
    Gapped(GappedReader),
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.content {
            Content::Memory(c) => c.read(buf),
            Content::Stream(r) => r.read(buf),
            Content::Gapped(r) => r.read(buf),
        }
    }
}

/// Streams a large file, never past its walked size, and at its end checks that it did
/// not change meanwhile.
pub(crate) struct CheckedReader {
    pub(super) file: DirectFile,
    pub(super) open: PlannedOpen,
    /// Bytes still to deliver before the walked size is reached.
    pub(super) remaining: u64,
    pub(super) checked: bool,
    /// Whether a write during the read shows in the file's times: false for a file still
    /// being written in the tick its read began in (see [`super::settle`]).
    pub(super) quiet: bool,
}

impl CheckedReader {
    fn check(&mut self, shrank: bool) {
        if self.checked {
            return;
        }
        self.checked = true;
        if self.open.drop_pages && !self.file.is_direct() {
            drop_pages(self.file.file());
        }
        let changed = shrank
            || !self.quiet
            || match self.file.file().metadata() {
                Ok(m) => self.open.expected.differs_from(&Expected::of_metadata(&m)),
                Err(_) => true,
            };
        if changed {
            self.open
                .log
                .changed(self.open.source, self.open.named_path.clone());
        }
    }
}

impl Read for CheckedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            self.check(false);
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        match self.file.read(&mut buf[..want]) {
            Ok(0) => {
                // The file ended before its walked size: it shrank while we read it.
                self.check(true);
                Ok(0)
            }
            Ok(n) => {
                self.remaining -= n as u64;
                self.open.log.count_read(n as u64);
                Ok(n)
            }
            Err(err) => {
                self.open.log.unreadable(
                    self.open.source,
                    self.open.named_path.clone(),
                    err.to_string(),
                );
                Err(err)
            }
        }
    }
}
