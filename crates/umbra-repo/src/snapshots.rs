//! Listing and finding snapshots, in umbra's own terms.

use std::path::PathBuf;

use rustic_core::repofile::{SnapshotFile, SnapshotId};
use serde::Serialize;
use umbra_core::{ConsistencyRecord, ErrorKind, Event, Result, UmbraError};

use crate::error::from_rustic;
use crate::repo::Repo;

/// restic's snapshot filter (`--host`, `--tag`, `--path`): a snapshot passes when its host
/// is one of `hosts`, it has every tag of at least one of `tags` (each `a,b`), and it has
/// every one of `paths`. An empty part lets everything through.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    pub hosts: Vec<String>,
    pub tags: Vec<String>,
    pub paths: Vec<PathBuf>,
}

impl SnapshotFilter {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.tags.is_empty() && self.paths.is_empty()
    }

    #[must_use]
    pub fn matches(&self, s: &SnapshotInfo) -> bool {
        let host = self.hosts.is_empty() || self.hosts.contains(&s.hostname);
        let tags = self.tags.is_empty()
            || self.tags.iter().any(|list| {
                list.split(',')
                    .filter(|t| !t.is_empty())
                    .all(|t| s.tags.iter().any(|have| have == t))
            });
        let paths = self.paths.iter().all(|p| s.paths.contains(p));
        host && tags && paths
    }
}

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
    /// All readable snapshots, oldest first. A damaged snapshot file is named in a
    /// warning and left out; it never hides the others.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        Ok(self
            .readable_snapshots()?
            .iter()
            .map(SnapshotInfo::from_file)
            .collect())
    }

    /// Finds one snapshot by id prefix, `latest` or `latest~N`.
    pub fn snapshot(&self, spec: &str) -> Result<SnapshotInfo> {
        self.find(spec).map(|s| SnapshotInfo::from_file(&s))
    }

    /// The ids of all snapshot files, unread (one listing of the repository's
    /// `snapshots/`): a cheap way to see whether the snapshots changed.
    pub fn snapshot_file_ids(&self) -> Result<Vec<String>> {
        // A local repository that went away lists as empty; say it is gone instead.
        if self.location.local_path().is_some() && !self.location.exists() {
            return Err(UmbraError::new(
                ErrorKind::RepositoryMissing,
                format!(
                    "the repository at {} cannot be reached: its config file is gone",
                    self.location
                ),
            )
            .with_hint("Check that its disk is mounted and the path is right."));
        }
        let mut ids: Vec<String> = self
            .snapshot_ids()?
            .iter()
            .map(|id| id.to_hex().to_string())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn snapshot_ids(&self) -> Result<Vec<SnapshotId>> {
        Ok(self
            .inner
            .list::<SnapshotId>()
            .map_err(|e| from_rustic("cannot list the snapshots", e))?
            .collect())
    }

    fn read_snapshot(&self, id: SnapshotId) -> std::result::Result<SnapshotFile, UmbraError> {
        let mut snap = self
            .inner
            .get_file::<SnapshotFile>(&id)
            .map_err(|e| damaged_snapshot(id, &e))?;
        snap.id = id;
        let _ = snap.original.get_or_insert(id);
        Ok(snap)
    }

    /// Every snapshot file that can be read and passes the repository's filter, oldest
    /// first; the unreadable ones are named.
    pub(crate) fn readable_snapshots(&self) -> Result<Vec<SnapshotFile>> {
        let (mut snaps, damaged) = self.snapshots_and_damage()?;
        if !self.filter.is_empty() {
            snaps.retain(|s| self.filter.matches(&SnapshotInfo::from_file(s)));
        }
        for e in damaged {
            self.monitor.event(Event::Damage {
                message: format!("{}; it is left out. {}", e.message(), e.hint()),
            });
        }
        Ok(snaps)
    }

    /// The readable snapshots (oldest first), and an error for each one that is not.
    pub(crate) fn snapshots_and_damage(&self) -> Result<(Vec<SnapshotFile>, Vec<UmbraError>)> {
        let mut snaps = Vec::new();
        let mut damaged = Vec::new();
        for id in self.snapshot_ids()? {
            match self.read_snapshot(id) {
                Ok(s) => snaps.push(s),
                Err(e) => damaged.push(e),
            }
        }
        snaps.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        Ok((snaps, damaged))
    }

    /// The snapshot `spec` names (`latest`, `latest~N`, an id or a prefix of one).
    pub(crate) fn find(&self, spec: &str) -> Result<SnapshotFile> {
        if spec.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                "empty snapshot id",
            ));
        }
        if let Some(back) = spec.strip_prefix("latest") {
            let n: usize = match back.strip_prefix('~') {
                None if back.is_empty() => 0,
                Some(n) => n.parse().map_err(|_| {
                    UmbraError::new(
                        ErrorKind::InvalidInput,
                        format!("`{spec}` is not `latest` or `latest~N`"),
                    )
                })?,
                None => {
                    return Err(UmbraError::new(
                        ErrorKind::InvalidInput,
                        format!("`{spec}` is not `latest` or `latest~N`"),
                    ))
                }
            };
            let snaps = self.readable_snapshots()?;
            return snaps.into_iter().rev().nth(n).ok_or_else(|| {
                UmbraError::new(
                    ErrorKind::NotFound,
                    if self.filter.is_empty() {
                        format!(
                            "no snapshot matches `{spec}`: the repository has fewer readable snapshots"
                        )
                    } else {
                        format!("no snapshot matches `{spec}` among those --host/--tag/--path choose")
                    },
                )
            });
        }
        let lower = spec.to_ascii_lowercase();
        let matching: Vec<SnapshotId> = self
            .snapshot_ids()?
            .into_iter()
            .filter(|id| id.to_hex().as_str().starts_with(&lower))
            .collect();
        match matching.as_slice() {
            [] => Err(UmbraError::new(
                ErrorKind::NotFound,
                format!("no snapshot matches `{spec}`"),
            )),
            [id] => self.read_snapshot(*id),
            _ => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{spec}` matches {} snapshots", matching.len()),
            )
            .with_hint("Give more digits of the id (`umbra snapshots` lists them).")),
        }
    }
}

fn damaged_snapshot(id: SnapshotId, err: &rustic_core::RusticError) -> UmbraError {
    let log = err.display_log();
    let cause = if log.contains("related to cryptographic operations") {
        "it fails its authentication check (the file was changed or truncated)"
    } else if log.contains("related to input/output") || log.contains("related to the backend") {
        "it cannot be read from the storage"
    } else {
        "its content is not a valid snapshot"
    };
    UmbraError::new(
        ErrorKind::RepositoryDamaged,
        format!(
            "snapshot file snapshots/{} is damaged: {cause}",
            id.to_hex().as_str()
        ),
    )
    .with_hint(
        "That snapshot is lost unless another copy of the repository has it; the data it \
         references stays until `umbra prune`. Remove the damaged file from the repository's \
         snapshots/ folder once you have kept a copy of it.",
    )
}
