//! A second copy: copying snapshots from one repository into another (restic's `copy`).
//!
//! Only the blobs the destination lacks are copied, re-encrypted with its key; the
//! snapshots keep their time, paths, host, tags and consistency record, and remember the
//! snapshot they were copied from (`original`).
//!
//! Copying twice must not copy twice. rustic_core decides "already there" by the
//! snapshot's time alone, which would skip a different snapshot taken at the same instant
//! (two hosts backing up into one repository), and comparing snapshot ids would copy again
//! every snapshot whose JSON another program encodes differently (restic's
//! `copy-unstable-json`). So umbra compares what a snapshot *is*, as restic does: a
//! destination snapshot that was copied from it (`original`), or one with the same time,
//! tree, paths, host, user and tags.

use rustic_core::repofile::SnapshotFile;
use serde::Serialize;
use umbra_core::{Event, Result};

use crate::error::rustic;
use crate::repo::Repo;

/// What `copy` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyOutcome {
    /// Short ids (in the source) of the snapshots copied.
    pub copied: Vec<String>,
    /// Short ids of the snapshots the destination already had.
    pub already_there: Vec<String>,
}

/// Whether `copy` is the destination's copy of `snap`.
fn same_snapshot(snap: &SnapshotFile, copy: &SnapshotFile) -> bool {
    let original = snap.original.unwrap_or(snap.id);
    copy.original == Some(original)
        || copy.id == snap.id
        || (copy.time.timestamp() == snap.time.timestamp()
            && copy.tree == snap.tree
            && copy.paths == snap.paths
            && copy.hostname == snap.hostname
            && copy.username == snap.username
            && copy.uid == snap.uid
            && copy.gid == snap.gid
            && copy.tags == snap.tags)
}

impl Repo {
    /// Copies the snapshots `specs` names (every snapshot when empty) from `self` into
    /// `dest`, leaving out those `dest` already has. `dest` must be locked for writing.
    ///
    /// Durability: blobs are written and indexed before any snapshot file, so an
    /// interrupted copy leaves unreferenced packs (`prune` removes them), never a
    /// snapshot whose data is missing.
    pub fn copy_to(self, dest: Repo, specs: &[String]) -> Result<CopyOutcome> {
        let wanted: Vec<SnapshotFile> = if specs.is_empty() {
            self.readable_snapshots()?
        } else {
            let mut v = Vec::new();
            for spec in specs {
                let snap = self.find(spec)?;
                if !v.iter().any(|s: &SnapshotFile| s.id == snap.id) {
                    v.push(snap);
                }
            }
            v
        };
        let present = dest.readable_snapshots()?;
        let mut outcome = CopyOutcome::default();
        let mut to_copy = Vec::new();
        for snap in wanted {
            let short = snap.id.to_hex()[..8].to_string();
            if present.iter().any(|p| same_snapshot(&snap, p)) {
                outcome.already_there.push(short);
            } else {
                outcome.copied.push(short);
                let mut snap = snap;
                snap.original.get_or_insert(snap.id);
                to_copy.push(snap);
            }
        }
        if to_copy.is_empty() {
            return Ok(outcome);
        }
        let monitor = std::sync::Arc::clone(&self.monitor);
        let Repo {
            inner,
            lock: src_lock,
            ..
        } = self;
        let Repo {
            inner: dest_inner,
            lock: dest_lock,
            ..
        } = dest;
        let source = inner
            .to_indexed()
            .map_err(rustic("cannot read the source repository's index"))?;
        let target = dest_inner
            .to_indexed_ids()
            .map_err(rustic("cannot read the destination repository's index"))?;
        source
            .copy(&target, &to_copy)
            .map_err(rustic("cannot copy the snapshots"))?;
        drop(dest_lock);
        drop(src_lock);
        for id in &outcome.copied {
            monitor.event(Event::Info {
                message: format!("copied snapshot {id}"),
            });
        }
        Ok(outcome)
    }
}
