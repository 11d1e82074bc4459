//! `stats`: what the snapshots hold and what the repository stores for them, counted as
//! restic 0.14 counts, so that the figures of the two tools can be compared.
//!
//! - `restore-size`: every entry of every chosen snapshot (directories too), and the size a
//!   restore would write (a hard-linked file counted once per snapshot).
//! - `raw-data`: the distinct blobs (trees and data) the chosen snapshots refer to, and
//!   their stored size (compressed and encrypted, as in the packs), plus their size
//!   before compression.
//! - `files-by-contents`: entries counted once per distinct content (restic counts every
//!   entry by its list of data blobs, so directories, symlinks and empty files are one
//!   entry together), with the size of the first one met.
//! - `blobs-per-file`: for each entry with a distinct content, the distinct data blobs of
//!   each path, with their size before compression; files counted once per path.

use std::collections::{HashMap, HashSet};

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
    FilesByContents,
    BlobsPerFile,
    RawData,
}

impl StatsMode {
    /// restic's `--mode` names.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "restore-size" => Ok(Self::RestoreSize),
            "files-by-contents" => Ok(Self::FilesByContents),
            "blobs-per-file" => Ok(Self::BlobsPerFile),
            "raw-data" => Ok(Self::RawData),
            other => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{other}` is not a stats mode"),
            )
            .with_hint("Use --mode restore-size (the default), files-by-contents, blobs-per-file or raw-data.")),
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
            StatsMode::FilesByContents | StatsMode::BlobsPerFile => {
                let mut contents: HashSet<Vec<rustic_core::DataId>> = HashSet::new();
                let mut per_path: HashMap<std::path::PathBuf, HashSet<rustic_core::DataId>> =
                    HashMap::new();
                let mut blobs = 0u64;
                for snap in &snaps {
                    let root = node_at(&repo, snap, "")?;
                    for item in repo
                        .ls(&root, &LsOptions::default())
                        .map_err(rustic("cannot read the snapshot's tree"))?
                    {
                        let (path, node) =
                            item.map_err(|e| from_rustic("cannot read the snapshot's tree", e))?;
                        let content = node.content.clone().unwrap_or_default();
                        if !contents.insert(content.clone()) {
                            continue;
                        }
                        if mode == StatsMode::FilesByContents {
                            stats.total_file_count += 1;
                            stats.total_size += node.meta.size;
                            continue;
                        }
                        for id in content {
                            if !per_path.contains_key(&path) {
                                stats.total_file_count += 1;
                            }
                            if per_path.entry(path.clone()).or_default().insert(id) {
                                let entry = repo
                                    .get_index_entry(&id)
                                    .map_err(|e| from_rustic("cannot find a blob", e))?;
                                stats.total_size += u64::from(entry.location.data_length());
                                blobs += 1;
                            }
                        }
                    }
                }
                if mode == StatsMode::BlobsPerFile {
                    // restic leaves the field out when it is 0.
                    stats.total_blob_count = (blobs > 0).then_some(blobs);
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
