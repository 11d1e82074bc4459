//! The consistency record: what a snapshot can honestly claim about each source.
//!
//! It is stored inside the repository's snapshot, so it travels with the backup and is
//! there when someone restores it years later. Levels only ever go down from what a method
//! promises: a direct read that sees a file change records `changed-while-read`, never
//! `direct-unchanged`. See docs/CONSISTENCY.md for what each level guarantees.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::plan::Method;

/// How consistent the data of one source is, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsistencyLevel {
    /// Applications were brought to a consistent point while the snapshot was taken.
    AppConsistent,
    /// Every writer the job names (a `freeze` quiescer's cgroups) was held still while all
    /// the source's files were captured: one instant across files, even from reflink
    /// clones or several volumes; as consistent as a crash at that instant (what the
    /// writers held only in memory is not in it).
    WritersFrozen,
    /// The whole volume was captured at one instant: crash-consistent across files.
    VolumeSnapshot,
    /// Each file was captured at one instant, but not all files at the same one.
    FileAtomic,
    /// Read live; no file changed while it was read. Files may still disagree with each other.
    DirectUnchanged,
    /// A stream (standard input, a command's output), stored exactly as its writer wrote
    /// it, in one pass: as consistent as that writer made it, which umbra cannot see
    /// (`pg_dump` writes a consistent dump; `cat` of a live file does not).
    Stream,
    /// Read live, and at least one file changed while it was read.
    ChangedWhileRead,
}

impl ConsistencyLevel {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppConsistent => "app-consistent",
            Self::WritersFrozen => "writers-frozen",
            Self::VolumeSnapshot => "volume-snapshot",
            Self::FileAtomic => "file-atomic",
            Self::DirectUnchanged => "direct-unchanged",
            Self::Stream => "stream",
            Self::ChangedWhileRead => "changed-while-read",
        }
    }
}

impl std::fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How close to the moment a snapshot's view was taken a file's time may be before the
/// next backup reads the file again rather than trust that it did not change: a write in
/// the same tick of the filesystem's clock (4 ms for Linux's at 250 Hz, 1 s for ext4's
/// small inodes, 2 s for FAT) keeps the file's times, size and inode. The margin is the
/// coarsest of those plus a second, for a network filesystem's clock slightly off.
pub const RACY_MARGIN_MS: u64 = 3_000;

/// What one source of a snapshot got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceConsistency {
    /// The path as the user named it (and as stored in the repository).
    pub path: PathBuf,
    pub method: Method,
    pub level: ConsistencyLevel,
    /// How long creating the volume snapshot took, in milliseconds, if one was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_ms: Option<u64>,
    /// When the source's view was taken (its snapshot asked for, or its reading begun), in
    /// milliseconds since the Unix epoch: no file time in it is later than this, except for
    /// a write in the same tick of the filesystem's clock. The next backup does not take a
    /// file stamped within [`RACY_MARGIN_MS`] of it as unchanged (docs/CONSISTENCY.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at_unix_ms: Option<u64>,
    /// Files that changed while they were read, stored as read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_while_read: Vec<PathBuf>,
    /// Files and directories that could not be read at all and are missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<PathBuf>,
    /// Files and directories that disappeared while the backup ran (deleted between the
    /// walk and the read): not in the snapshot, and a sign the source changed while read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vanished: Vec<PathBuf>,
    /// Files stored from a copy a quiescer made (a SQLite online backup, PostgreSQL's
    /// backup_label and WAL): each consistent in itself, but taken at another instant than
    /// the rest of the source. They never raise the source's level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<PathBuf>,
}

impl SourceConsistency {
    /// What [`Self::taken_at_unix_ms`] is the moment of, in words: the view's (a snapshot,
    /// clones) or, where files were read live or a stream was read, the reading's start
    /// (each file is then from its own moment, later).
    #[must_use]
    pub fn moment_label(&self) -> &'static str {
        match self.method {
            Method::Direct | Method::Stream => "reading began",
            _ => "view taken",
        }
    }
}

/// One application quiescer's part in a snapshot: what it held still, and for how long.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuiesceRecord {
    /// The name the job gives it.
    pub name: String,
    /// Its type: `command`, and (coming) `sqlite`, `postgres`, `mysql`.
    pub kind: String,
    /// From the start of its freeze to the end of its thaw, in microseconds.
    pub freeze_us: u64,
    /// The paths whose data it made consistent.
    pub covers: Vec<PathBuf>,
    /// What the application reported (a WAL position, a binlog position, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub details: std::collections::BTreeMap<String, String>,
}

/// The record for a whole snapshot, one entry per source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyRecord {
    /// The format version of this record.
    pub version: u32,
    pub sources: Vec<SourceConsistency>,
    /// Milliseconds between the first and last volume snapshot of the set, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_set_spread_ms: Option<u64>,
    /// The applications that were frozen while the snapshot set was taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quiesced: Vec<QuiesceRecord>,
}

/// The key under which the record sits in the snapshot's description, so that a
/// description written by someone else is never mistaken for a record.
const ENVELOPE_KEY: &str = "umbra_consistency";

impl ConsistencyRecord {
    pub const VERSION: u32 = 1;

    /// The worst level among the sources: what the snapshot as a whole can claim.
    #[must_use]
    pub fn overall(&self) -> Option<ConsistencyLevel> {
        self.sources.iter().map(|s| s.level).max()
    }

    /// A short form for tables: the overall level, with the number of changed files.
    #[must_use]
    pub fn short(&self) -> String {
        let Some(level) = self.overall() else {
            return "-".to_string();
        };
        let changed: usize = self
            .sources
            .iter()
            .map(|s| s.changed_while_read.len())
            .sum();
        let unreadable: usize = self.sources.iter().map(|s| s.unreadable.len()).sum();
        let mut short = level.to_string();
        if changed > 0 {
            short.push_str(&format!(" ({changed} changed)"));
        }
        if unreadable > 0 {
            short.push_str(&format!(", incomplete ({unreadable} unreadable)"));
        }
        short
    }

    /// Serialises the record into the text stored in a snapshot's description.
    #[must_use]
    pub fn to_description(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert(
            ENVELOPE_KEY.to_string(),
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null),
        );
        serde_json::Value::Object(map).to_string()
    }

    /// Reads a record back from a snapshot's description; `None` for snapshots that umbra
    /// did not write (restic's, rustic's), or whose record it cannot understand.
    #[must_use]
    pub fn from_description(description: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(description).ok()?;
        let inner = value.get(ENVELOPE_KEY)?.clone();
        serde_json::from_value(inner).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(level: ConsistencyLevel, changed: usize) -> SourceConsistency {
        SourceConsistency {
            path: "/srv".into(),
            method: Method::Direct,
            level,
            snapshot_ms: None,
            taken_at_unix_ms: Some(1_733_300_000_000),
            changed_while_read: (0..changed)
                .map(|i| PathBuf::from(format!("/srv/{i}")))
                .collect(),
            unreadable: vec![],
            vanished: vec![],
            copies: vec![],
        }
    }

    #[test]
    fn overall_is_the_worst_source() {
        let rec = ConsistencyRecord {
            version: 1,
            sources: vec![
                source(ConsistencyLevel::VolumeSnapshot, 0),
                source(ConsistencyLevel::ChangedWhileRead, 2),
            ],
            snapshot_set_spread_ms: None,
            quiesced: Vec::new(),
        };
        assert_eq!(rec.overall(), Some(ConsistencyLevel::ChangedWhileRead));
        assert_eq!(rec.short(), "changed-while-read (2 changed)");
    }

    #[test]
    fn record_round_trips_through_description() {
        let rec = ConsistencyRecord {
            version: 1,
            sources: vec![source(ConsistencyLevel::DirectUnchanged, 0)],
            snapshot_set_spread_ms: Some(12),
            quiesced: Vec::new(),
        };
        let text = rec.to_description();
        assert_eq!(ConsistencyRecord::from_description(&text), Some(rec));
    }

    #[test]
    fn foreign_descriptions_are_not_records() {
        assert_eq!(ConsistencyRecord::from_description("nightly run"), None);
        assert_eq!(ConsistencyRecord::from_description("{\"a\":1}"), None);
    }
}
