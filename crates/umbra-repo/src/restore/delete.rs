//! `--delete`: what the target has and the snapshot does not.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;

use rustic_core::repofile::Node;

use super::target::Target;
use super::{Action, RestoreOutcome};

/// Removes, from every restored directory, the entries the snapshot does not have there.
pub(super) fn delete_extra(
    target: &Target,
    entries: &[(PathBuf, Node)],
    actions: &[Action],
    outcome: &mut RestoreOutcome,
) {
    let mut children: BTreeMap<PathBuf, HashSet<OsString>> = BTreeMap::new();
    children.insert(PathBuf::new(), HashSet::new());
    for ((rel, node), action) in entries.iter().zip(actions) {
        if let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) {
            children
                .entry(parent.to_path_buf())
                .or_default()
                .insert(name.to_os_string());
        }
        if node.is_dir() && *action == Action::Dir {
            children.entry(rel.clone()).or_default();
        }
    }
    for (dir, keep) in &children {
        let Ok(names) = target.names_in(dir) else {
            continue;
        };
        for name in names {
            if keep.contains(&name) {
                continue;
            }
            let rel = dir.join(&name);
            match target.remove(&rel) {
                Ok(()) => outcome.deleted.push(rel),
                Err(e) => outcome.problems.push((rel, format!("cannot delete: {e}"))),
            }
        }
    }
}
