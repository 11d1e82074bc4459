//! `stats`: what the snapshots hold and what the repository stores for them, counted as
//! restic 0.14 counts, so that the figures of the two tools can be compared.
//!
//! - `restore-size`: every entry of every chosen snapshot (directories too), and the size a
//!   restore would write (a hard-linked file counted once per snapshot).
//! - `raw-data`: the distinct blobs (trees and data) the chosen snapshots refer to, and
//!   their stored size (compressed and encrypted, as in the packs), plus their size
//!   before compression.

use std::collections::HashSet;

use rustic_core::repofile::SnapshotFile;
use rustic_core::LsOptions;
use serde::Serialize;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::browse::node_at;
use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// How to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsMode {
    RestoreSize,
    RawData,
}

impl StatsMode {
    /// restic's `--mode` names.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "restore-size" => Ok(Self::RestoreSize),
            "raw-data" => Ok(Self::RawData),
            other => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{other}` is not a stats mode"),
            )
            .with_hint("Use --mode restore-size (the default) or --mode raw-data.")),
        }
    }
}

/// The figures, with restic's JSON field names.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub total_size: u64,
    pub total_file_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_blob_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_uncompressed_size: Option<u64>,
    pub snapshots_count: u64,
}

impl Repo {
    /// Counts the snapshots `specs` names (every snapshot when empty).
    pub fn stats(self, specs: &[String], mode: StatsMode) -> Result<Stats> {
        let snaps: Vec<SnapshotFile> = if specs.is_empty() {
            self.readable_snapshots()?
        } else {
            specs.iter().map(|s| self.find(s)).collect::<Result<_>>()?
        };
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let mut stats = Stats {
            snapshots_count: snaps.len() as u64,
            ..Stats::default()
        };
        match mode {
            StatsMode::RestoreSize => {
                for snap in &snaps {
                    let root = node_at(&repo, snap, "")?;
                    let mut inodes = HashSet::new();
                    for item in repo
                        .ls(&root, &LsOptions::default())
                        .map_err(rustic("cannot read the snapshot's tree"))?
                    {
                        let (_, node) =
                            item.map_err(|e| from_rustic("cannot read the snapshot's tree", e))?;
                        stats.total_file_count += 1;
                        if node.meta.inode == 0 || inodes.insert(node.meta.inode) {
                            stats.total_size += node.meta.size;
                        }
                    }
                }
            }
            StatsMode::RawData => {
                let referenced = crate::referenced::referenced_blobs(&repo, &snaps);
                if let Some(e) = referenced.unreadable {
                    return Err(from_rustic("cannot read the snapshot's tree", e));
                }
                let (trees, data) = (referenced.trees, referenced.data);
                let (mut stored, mut plain) = (0u64, 0u64);
                for entry in trees
                    .iter()
                    .map(|t| repo.get_index_entry(t))
                    .chain(data.iter().map(|d| repo.get_index_entry(d)))
                {
                    let entry = entry.map_err(|e| from_rustic("cannot find a blob", e))?;
                    stored += u64::from(entry.location.length);
                    plain += u64::from(entry.location.data_length());
                }
                stats.total_size = stored;
                stats.total_blob_count = Some((trees.len() + data.len()) as u64);
                stats.total_uncompressed_size = Some(plain);
            }
        }
        Ok(stats)
    }
}
