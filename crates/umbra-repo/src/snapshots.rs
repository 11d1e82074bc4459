//! Listing and finding snapshots, in umbra's own terms.

use std::path::PathBuf;

use rustic_core::repofile::SnapshotFile;
use serde::Serialize;
use umbra_core::{ConsistencyRecord, ErrorKind, Result, UmbraError};

use crate::error::from_rustic;
use crate::repo::Repo;

/// One snapshot, as umbra shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    /// The full id (64 hex digits).
    pub id: String,
    /// The first 8 hex digits, as tables show it.
    pub short_id: String,
    /// RFC 3339 time of the backup.
    pub time: String,
    pub hostname: String,
    pub username: String,
    pub tags: Vec<String>,
    pub paths: Vec<PathBuf>,
    pub parent: Option<String>,
    pub tree: String,
    /// What wrote it: umbra, restic or rustic with its version.
    pub program: String,
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    /// umbra's consistency record; `None` for snapshots written by other programs.
    pub consistency: Option<ConsistencyRecord>,
}

impl SnapshotInfo {
    pub(crate) fn from_file(snap: &SnapshotFile) -> Self {
        let id = snap.id.to_hex().to_string();
        Self {
            short_id: id.chars().take(8).collect(),
            id,
            time: snap.time.timestamp().to_string(),
            hostname: snap.hostname.clone(),
            username: snap.username.clone(),
            tags: snap.tags.iter().cloned().collect(),
            paths: snap.paths.iter().map(PathBuf::from).collect(),
            parent: snap.parent.map(|p| p.to_hex().to_string()),
            tree: snap.tree.to_hex().to_string(),
            program: snap.program_version.clone(),
            files: snap.summary.as_ref().map(|s| s.total_files_processed),
            bytes: snap.summary.as_ref().map(|s| s.total_bytes_processed),
            consistency: snap
                .description
                .as_deref()
                .and_then(ConsistencyRecord::from_description),
        }
    }
}

impl Repo {
    /// All snapshots, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut snaps = self
            .inner
            .get_all_snapshots()
            .map_err(|e| from_rustic("cannot read the snapshots", e))?;
        snaps.sort_by(|a, b| a.time.cmp(&b.time));
        Ok(snaps.iter().map(SnapshotInfo::from_file).collect())
    }

    /// Finds one snapshot by id prefix, `latest` or `latest~N`.
    pub fn snapshot(&self, spec: &str) -> Result<SnapshotInfo> {
        self.find(spec).map(|s| SnapshotInfo::from_file(&s))
    }

    pub(crate) fn find(&self, spec: &str) -> Result<SnapshotFile> {
        if spec.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                "empty snapshot id",
            ));
        }
        self.inner
            .get_snapshot_from_str(spec, |_| true)
            .map_err(|e| {
                let err = from_rustic(&format!("no snapshot matches `{spec}`"), e);
                // An unknown id is a user's typo, not an I/O fault.
                UmbraError::new(ErrorKind::NotFound, err.message().to_string()).with_source(err)
            })
    }
}
