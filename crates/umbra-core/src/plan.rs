//! The source plan: for each source, what the user named and where umbra reads it from.
//!
//! The two differ as soon as a volume snapshot is involved: the user names `/srv/pgdata`,
//! umbra reads `/srv/.umbra-snap-…/pgdata`. The repository always stores the path the user
//! named. If it stored the read path, every run would have a new path, the next backup
//! would find no parent, and every file would be read again (the trap of restic issue
//! 555). Keeping both in one value makes that mistake hard to write.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::consistency::ConsistencyLevel;

/// How a source is made to stand still while it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Live files, read in place, with change detection.
    Direct,
    /// A read-only btrfs subvolume snapshot.
    Btrfs,
    /// An LVM snapshot (classic copy-on-write or thin), mounted read-only.
    Lvm,
    /// A ZFS snapshot.
    Zfs,
    /// Per-file FICLONE copies on a reflink-capable filesystem.
    Reflink,
    /// A Volume Shadow Copy (Windows): one snapshot set across the sources' volumes.
    Vss,
    /// Not a file at all: a stream read once from standard input or a command's output
    /// (`backup --stdin`, `--stdin-from-command`). No snapshot is taken; there is nothing
    /// to take one of.
    Stream,
}

impl Method {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Btrfs => "btrfs",
            Self::Lvm => "lvm",
            Self::Zfs => "zfs",
            Self::Reflink => "reflink",
            Self::Vss => "vss",
            Self::Stream => "stream",
        }
    }

    /// True for methods that capture a whole volume at one instant (btrfs, LVM, ZFS,
    /// VSS): only these can hold an application's frozen state together with every other
    /// file.
    #[must_use]
    pub fn is_volume_snapshot(self) -> bool {
        matches!(self, Self::Btrfs | Self::Lvm | Self::Zfs | Self::Vss)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One source of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSource {
    /// The absolute path the user named. This is what the repository stores.
    pub path: PathBuf,
    /// Where the data is read from: the same as `path` for a direct read, or the place a
    /// snapshot presents the same tree.
    pub read_from: PathBuf,
    /// How the source is frozen.
    pub method: Method,
    /// The best level this method can give. The level actually recorded may be lower, for
    /// example when a direct read sees a file change.
    pub expected: ConsistencyLevel,
    /// For snapshots that give files new identities (reflink clones): the live tree whose
    /// inode and ctime unchanged files keep, so that the next backup finds its parent.
    pub identity_from: Option<PathBuf>,
    /// For reflink sources cloned file by file: `read_from` is the live tree, and each file
    /// is cloned into this directory (on the same filesystem) at the moment it is opened,
    /// then read from its clone. Small files' clones are unnamed and vanish when closed;
    /// large files' are named after their path below this directory, which can then be
    /// kept as the base of the next backup.
    pub clone_on_read: Option<PathBuf>,
    /// How long creating this source's snapshot took, in milliseconds.
    pub snapshot_ms: Option<u64>,
    /// When the snapshot was asked for: what it shows is from this moment or later. `None`
    /// for a direct read, whose moment is when its reading begins.
    pub taken_at: Option<std::time::SystemTime>,
    /// The snapshot kept from this source's last successful backup, if any.
    pub base: Option<BaseSnapshot>,
}

/// A volume snapshot or clone tree of a source, kept after a successful backup as the base
/// of the next one (issue #22). For a large file cut in fixed-size chunks, the extents it
/// still shares with the new snapshot are unchanged: their chunks are taken from the
/// parent snapshot's content list instead of being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseSnapshot {
    /// Where the base presents the source, as `read_from` did for that backup.
    pub read_from: PathBuf,
    /// The repository snapshot that backup saved: the parent whose content lists describe
    /// the base's files.
    pub snapshot_id: String,
}

impl PlannedSource {
    /// A source read in place, with change detection.
    #[must_use]
    pub fn direct(path: PathBuf) -> Self {
        Self {
            read_from: path.clone(),
            path,
            method: Method::Direct,
            expected: ConsistencyLevel::DirectUnchanged,
            identity_from: None,
            clone_on_read: None,
            snapshot_ms: None,
            taken_at: None,
            base: None,
        }
    }
}

/// All the sources of one backup, in the order the user gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePlan {
    pub sources: Vec<PlannedSource>,
    /// Milliseconds between the start of the first and the end of the last snapshot.
    pub snapshot_set_spread_ms: Option<u64>,
    /// The applications frozen while the snapshot set was taken.
    pub quiesced: Vec<crate::consistency::QuiesceRecord>,
    /// Files stored from elsewhere: a consistent copy a quiescer made (a SQLite online
    /// backup) in place of the live file, or a file the live tree lacks (a PostgreSQL
    /// `backup_label`).
    pub substitutes: Vec<Substitute>,
    /// Named paths left out of the backup, because a substitute makes them wrong (the
    /// live `-wal` of a SQLite database whose copy is stored instead).
    pub omit: Vec<PathBuf>,
}

/// A file stored under `named` with the content and metadata of `staged`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitute {
    pub named: PathBuf,
    pub staged: PathBuf,
}
