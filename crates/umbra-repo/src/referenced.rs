//! The blobs the snapshots refer to: every tree reachable from their roots and every
//! data blob of their files. `check --check-unused` compares them with the index;
//! `stats --mode raw-data` counts and sizes them.

use std::collections::HashSet;

use rustic_core::repofile::{NodeType, SnapshotFile};
use rustic_core::{DataId, IndexedTree, Repository, TreeId};

/// What [`referenced_blobs`] found.
#[derive(Debug, Default)]
pub(crate) struct Referenced {
    pub(crate) trees: HashSet<TreeId>,
    pub(crate) data: HashSet<DataId>,
    /// The first tree that could not be read (its blobs are not counted); the caller
    /// decides whether that is an error.
    pub(crate) unreadable: Option<Box<rustic_core::RusticError>>,
}

/// Walks the trees of `snaps`, each tree once.
pub(crate) fn referenced_blobs<S: IndexedTree>(
    repo: &Repository<S>,
    snaps: &[SnapshotFile],
) -> Referenced {
    let mut found = Referenced::default();
    let mut pending: Vec<TreeId> = snaps.iter().map(|s| s.tree).collect();
    while let Some(id) = pending.pop() {
        if !found.trees.insert(id) {
            continue;
        }
        let tree = match repo.get_tree(&id) {
            Ok(tree) => tree,
            Err(e) => {
                found.unreadable.get_or_insert(e);
                continue;
            }
        };
        for node in tree.nodes {
            match node.node_type {
                NodeType::Dir => pending.extend(node.subtree),
                NodeType::File => found.data.extend(node.content.into_iter().flatten()),
                _ => {}
            }
        }
    }
    found
}
