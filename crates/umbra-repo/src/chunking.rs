//! How each file is cut into chunks (issue #22).
//!
//! restic's content-defined chunking (512 KiB to 8 MiB, about 1 MiB on average) finds the
//! same data again after an insertion, which is what ordinary files need. Database files
//! and VM images are different: they are rewritten in place, a few 4-8 KiB pages at a
//! time, and every scattered write dirties the megabyte around it. A 1% scattered change
//! then stores 97% of the file again. Small fixed-size chunks fit that write pattern:
//! with 64 KiB chunks, 1% of 4 KiB blocks rewritten dirties 1 - 0.99^16 = 15% of them.
//!
//! The repository stays restic's: blob sizes are the writer's choice, and restic reads,
//! checks and restores fixed-size blobs like any other.
//!
//! The policy is chosen per source ([`Chunking`]) and, for `auto`, per file ([`decide`]).
//! A file's choice must be stable from one backup to the next, or the policy changing its
//! mind would store the file twice: a file whose stored content is already cut in fixed
//! chunks keeps that size, and one cut by content stays so unless it is rewritten in place.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use rustic_core::repofile::Node;
use rustic_core::DataId;
use umbra_core::{ErrorKind, Result, UmbraError};

/// The default fixed chunk size: the largest power of two that keeps a 1% scattered
/// rewrite of 4 KiB blocks under 20% of the file (64 KiB: 15%; 128 KiB: 28%). The index
/// cost it brings is measured in docs/BENCHMARKS.md.
pub const DEFAULT_FIXED: usize = 64 << 10;

/// `auto` considers fixed-size chunks for files of at least this size. Below it, a file
/// has at most eight content-defined chunks and little to gain.
pub const LARGE_FILE: u64 = 8 << 20;

/// restic's smallest content-defined chunk: a chunk shorter than this that is not a
/// file's last can only have been cut at a fixed size.
const CDC_MIN: u64 = 512 << 10;

const FIXED_MIN: usize = 4 << 10;
const FIXED_MAX: usize = 4 << 20;

/// A source's chunking policy, as the job file's `chunking` key and `--chunking` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chunking {
    /// Content-defined chunks for ordinary files, fixed-size chunks for large files that
    /// are rewritten in place (databases and VM images).
    #[default]
    Auto,
    /// restic's content-defined chunking for every file.
    Content,
    /// Fixed-size chunks of this many bytes for every file.
    Fixed(usize),
}

impl fmt::Display for Chunking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Content => f.write_str("content"),
            Self::Fixed(size) if size % (1 << 20) == 0 => write!(f, "fixed:{}MiB", size >> 20),
            Self::Fixed(size) => write!(f, "fixed:{}KiB", size >> 10),
        }
    }
}

impl FromStr for Chunking {
    type Err = UmbraError;

    fn from_str(text: &str) -> Result<Self> {
        let hint = "Write `auto`, `content`, `fixed` (64 KiB chunks) or `fixed:SIZE` with a \
                    multiple of 4 KiB from 4KiB to 4MiB, such as `fixed:64KiB`.";
        let bad = |why: &str| {
            UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{text}` is not a chunking policy: {why}"),
            )
            .with_hint(hint)
        };
        match text.trim() {
            "auto" => return Ok(Self::Auto),
            "content" => return Ok(Self::Content),
            "fixed" => return Ok(Self::Fixed(DEFAULT_FIXED)),
            _ => {}
        }
        let Some(size) = text.trim().strip_prefix("fixed:") else {
            return Err(bad("unknown policy"));
        };
        let size = crate::backup::parse_size(size).map_err(|_| bad("the size is not a size"))?;
        let size = usize::try_from(size).map_err(|_| bad("the size is too large"))?;
        if !(FIXED_MIN..=FIXED_MAX).contains(&size) || size % FIXED_MIN != 0 {
            return Err(bad("the size is out of range"));
        }
        Ok(Self::Fixed(size))
    }
}

/// What the policy knows about one file when it is opened.
pub(crate) struct FileFacts<'a> {
    /// Where the file is read (a snapshot's copy, or the live file).
    pub read_path: &'a Path,
    /// The path the repository stores.
    pub named_path: &'a Path,
    pub size: u64,
    /// The file's inode, as the live file has it (a clone's own inode is not the file's).
    pub inode: u64,
    pub mtime: Option<jiff::Timestamp>,
}

/// How a file's stored content was cut, judged from its blob lengths.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    Fixed(usize),
    Content,
    /// One blob, or blobs the index does not know: either way.
    Unknown,
}

/// Reads the cut of `content` from the lengths of its blobs.
pub(crate) fn stored_cut(
    content: &[DataId],
    data_length: &dyn Fn(&DataId) -> Option<u32>,
) -> Stored {
    let Some((last, rest)) = content.split_last() else {
        return Stored::Unknown;
    };
    let Some(first) = rest.first() else {
        return Stored::Unknown;
    };
    let (Some(size), Some(last_len)) = (data_length(first), data_length(last)) else {
        return Stored::Unknown;
    };
    let size = u64::from(size);
    let uniform = rest
        .iter()
        .all(|id| data_length(id).map(u64::from) == Some(size));
    let plausible = size % FIXED_MIN as u64 == 0
        && size <= FIXED_MAX as u64
        && u64::from(last_len) <= size
        && (size < CDC_MIN || rest.len() >= 2);
    if uniform && plausible {
        usize::try_from(size).map_or(Stored::Content, Stored::Fixed)
    } else {
        Stored::Content
    }
}

/// The fixed chunk size for one file, or `None` for content-defined chunks.
pub(crate) fn decide(
    policy: Chunking,
    file: &FileFacts<'_>,
    prior: Option<&Node>,
    data_length: &dyn Fn(&DataId) -> Option<u32>,
) -> Option<usize> {
    match policy {
        Chunking::Content => None,
        Chunking::Fixed(size) => Some(size),
        Chunking::Auto => {
            let stored = prior
                .and_then(|p| p.content.as_deref())
                .map_or(Stored::Unknown, |c| stored_cut(c, data_length));
            match stored {
                Stored::Fixed(size) => Some(size),
                _ if file.size < LARGE_FILE => None,
                Stored::Content => (rewritten_in_place(file, prior) || is_in_place_format(file))
                    .then_some(DEFAULT_FIXED),
                Stored::Unknown => is_in_place_format(file).then_some(DEFAULT_FIXED),
            }
        }
    }
}

/// The same inode with a new mtime: the file was written in place since the last backup
/// (a file replaced by rename has a new inode).
fn rewritten_in_place(file: &FileFacts<'_>, prior: Option<&Node>) -> bool {
    prior.is_some_and(|p| {
        p.meta.inode != 0 && p.meta.inode == file.inode && p.meta.mtime != file.mtime
    })
}

/// File name endings of formats that are written in place.
const IN_PLACE_NAMES: &[&str] = &[
    ".sqlite", ".sqlite3", ".db", ".ibd", ".myd", ".mdb", ".ldf", ".ndf", ".qcow2", ".qcow",
    ".img", ".raw", ".vmdk", ".vdi", ".vhd", ".vhdx", ".hdd",
];

/// Magic numbers of formats that are written in place, at offset 0.
const IN_PLACE_MAGIC: &[&[u8]] = &[
    b"SQLite format 3\0",
    b"QFI\xfb",    // qcow2
    b"KDMV",       // VMDK sparse extent
    b"vhdxfile",   // VHDX
    b"conectix",   // VHD (dynamic disks carry the footer at the start too)
    b"<<< Oracle", // VDI
];

/// A database file or VM image, known by its name, its first bytes, or its place in a
/// PostgreSQL or MySQL data directory.
fn is_in_place_format(file: &FileFacts<'_>) -> bool {
    let name = file
        .named_path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if IN_PLACE_NAMES.iter().any(|end| name.ends_with(end))
        || name.starts_with("ibdata")
        || name.starts_with("ib_logfile")
    {
        return true;
    }
    if in_postgres_data_dir(file.read_path) {
        return true;
    }
    let mut head = [0u8; 16];
    let read = crate::platform::open_for_backup(file.read_path)
        .and_then(|f| f.take(16).read(&mut head))
        .unwrap_or(0);
    IN_PLACE_MAGIC
        .iter()
        .any(|magic| read >= magic.len() && head.starts_with(magic))
}

/// A file of a PostgreSQL cluster: `base/DB/FILE` (each database directory holds a
/// `PG_VERSION`), or `global/FILE` and `pg_wal/FILE` under the data directory.
fn in_postgres_data_dir(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .take(3)
        .any(|dir| dir.join("PG_VERSION").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print() {
        assert_eq!("auto".parse::<Chunking>().ok(), Some(Chunking::Auto));
        assert_eq!("content".parse::<Chunking>().ok(), Some(Chunking::Content));
        assert_eq!(
            "fixed".parse::<Chunking>().ok(),
            Some(Chunking::Fixed(DEFAULT_FIXED))
        );
        assert_eq!(
            "fixed:128KiB".parse::<Chunking>().ok(),
            Some(Chunking::Fixed(128 << 10))
        );
        assert_eq!(Chunking::Fixed(1 << 20).to_string(), "fixed:1MiB");
        assert_eq!(Chunking::Fixed(64 << 10).to_string(), "fixed:64KiB");
        for bad in ["fixed:1000", "fixed:8MiB", "fixed:2K", "rabin", "fixed:x"] {
            let err = bad.parse::<Chunking>().err().map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains(bad)), "{bad}");
        }
    }

    #[test]
    fn the_stored_cut_is_read_from_blob_lengths() {
        let ids: Vec<DataId> = (0u8..4)
            .map(|i| DataId::from(rustic_core::Id::new([i; 32])))
            .collect();
        let lengths = |sizes: [u32; 4]| {
            move |id: &DataId| {
                (0u8..4)
                    .find(|i| *id == DataId::from(rustic_core::Id::new([*i; 32])))
                    .map(|i| sizes[usize::from(i)])
            }
        };
        let k64 = 64 << 10;
        assert_eq!(
            stored_cut(&ids, &lengths([k64, k64, k64, 100])),
            Stored::Fixed(64 << 10)
        );
        assert_eq!(
            stored_cut(&ids[..2], &lengths([k64, 100, 0, 0])),
            Stored::Fixed(64 << 10)
        );
        // Content-defined chunks: different sizes, or one large pair.
        assert_eq!(
            stored_cut(&ids, &lengths([900_000, 1_300_000, 700_000, 5])),
            Stored::Content
        );
        assert_eq!(
            stored_cut(&ids[..2], &lengths([1 << 20, 5, 0, 0])),
            Stored::Content
        );
        assert_eq!(
            stored_cut(&ids[..1], &lengths([5, 0, 0, 0])),
            Stored::Unknown
        );
    }
}
