//! `tag`: adding, removing or setting a snapshot's tags (restic's `tag`).
//!
//! A snapshot file is named by its content's hash, so changing a tag writes a new
//! snapshot file and removes the old one, as restic does; the new one names the old in
//! `original`. The new files are written before the old ones are removed: an
//! interruption leaves both (the next `tag` or `forget` tidies), never neither.

use rustic_core::repofile::{SnapshotFile, StringList};
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::rustic;
use crate::repo::Repo;

/// What to do with the tags.
#[derive(Debug, Clone, Default)]
pub struct TagChange {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// Replace all tags with these (`--set`; empty list: remove every tag).
    pub set: Option<Vec<String>>,
}

fn lists(tags: &[String]) -> Vec<StringList> {
    tags.iter().filter_map(|t| t.parse().ok()).collect()
}

impl Repo {
    /// Changes the tags of the snapshots `specs` names (every snapshot when empty).
    /// Returns the short ids of the snapshots that changed (their old ids).
    pub fn tag(&self, specs: &[String], change: &TagChange) -> Result<Vec<String>> {
        if change.add.is_empty() && change.remove.is_empty() && change.set.is_none() {
            return Err(
                UmbraError::new(ErrorKind::InvalidInput, "no tag change given")
                    .with_hint("Give --add TAG, --remove TAG or --set TAG (repeatable)."),
            );
        }
        let snaps: Vec<SnapshotFile> = if specs.is_empty() {
            self.readable_snapshots()?
        } else {
            specs.iter().map(|s| self.find(s)).collect::<Result<_>>()?
        };
        let mut changed = Vec::new();
        let mut old_ids = Vec::new();
        for snap in snaps {
            let mut new = snap.clone();
            let mut differs = false;
            if let Some(set) = &change.set {
                differs |= new.set_tags(lists(set));
            }
            differs |= new.add_tags(lists(&change.add));
            differs |= new.remove_tags(&lists(&change.remove));
            if differs && !old_ids.contains(&snap.id) {
                new.original.get_or_insert(snap.id);
                old_ids.push(snap.id);
                changed.push(new);
            }
        }
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        self.inner
            .save_snapshots(changed)
            .map_err(rustic("cannot write the retagged snapshots"))?;
        self.inner
            .delete_snapshots(&old_ids)
            .map_err(rustic("cannot remove the snapshots that were retagged"))?;
        Ok(old_ids
            .iter()
            .map(|id| id.to_hex()[..8].to_string())
            .collect())
    }
}
