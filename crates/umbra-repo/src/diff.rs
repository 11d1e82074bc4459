//! `diff`: what changed between two snapshots, in restic's letters and with restic's
//! statistics, so that a restic user reads the same answer from either tool.
//!
//! The letters (restic 0.14's `diff`): `+` added, `-` removed, `M` content modified, `T`
//! type changed, `U` metadata only (with `--metadata`), and `?` after `M` when a file's
//! content changed but none of its metadata did: a change no writer makes, so probably
//! bitrot in the source (or a backup made with `--ignore-inode`/`--ignore-ctime`).

use std::collections::HashSet;
use std::path::PathBuf;

use rustic_core::repofile::{Node, NodeType};
use rustic_core::{DataId, IndexedFull, Repository, TreeId};
use serde::Serialize;
use umbra_core::Result;

use crate::browse::{all_nodes, entry, kind_of, node_at, snapshot_part, Entry};
use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// One changed entry: restic's modifier (`+`, `-`, `M`, `M?`, `T`, `TU`, `U`) and the
/// entry as it is in the second snapshot (in the first, when removed).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub modifier: String,
    pub entry: Entry,
}

/// Entries and blobs that one side of a diff has and the other has not (restic's
/// `DiffStat`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DiffCounts {
    pub files: u64,
    pub dirs: u64,
    pub others: u64,
    pub data_blobs: u64,
    pub tree_blobs: u64,
    /// Plaintext bytes of those blobs.
    pub bytes: u64,
}

impl DiffCounts {
    fn count(&mut self, node: &Node) {
        match node.node_type {
            NodeType::File => self.files += 1,
            NodeType::Dir => self.dirs += 1,
            _ => self.others += 1,
        }
    }
}

/// What changed from one snapshot to another.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Diff {
    /// The two snapshots' short ids.
    pub first: String,
    pub second: String,
    pub changes: Vec<Change>,
    /// Files whose content changed (`M`).
    pub changed_files: u64,
    pub added: DiffCounts,
    pub removed: DiffCounts,
}

impl Repo {
    /// What changed from `a` to `b` (each `ID` or `ID:PATH`). `metadata`: also entries
    /// whose metadata alone changed (restic's `--metadata`).
    pub fn diff(self, a: &str, b: &str, metadata: bool) -> Result<Diff> {
        let snap_a = self.find(snapshot_part(a))?;
        let snap_b = self.find(snapshot_part(b))?;
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let root_a = node_at(&repo, &snap_a, a)?;
        let root_b = node_at(&repo, &snap_b, b)?;
        let left = all_nodes(&repo, &root_a)?;
        let right = all_nodes(&repo, &root_b)?;
        let mut diff = diff_sorted(&left, &right, metadata);
        diff.first = snap_a.id.to_hex()[..8].to_string();
        diff.second = snap_b.id.to_hex()[..8].to_string();
        // The blobs each side references, its top tree included; what only one side
        // has was added or removed (restic counts the same).
        let before = blobs(root_a.subtree, &left);
        let after = blobs(root_b.subtree, &right);
        add_blobs(&repo, after.difference(&before), &mut diff.added)?;
        add_blobs(&repo, before.difference(&after), &mut diff.removed)?;
        Ok(diff)
    }
}

/// A referenced blob: a tree or data blob, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Blob {
    Tree(TreeId),
    Data(DataId),
}

fn blobs(root: Option<TreeId>, nodes: &[(PathBuf, Node)]) -> HashSet<Blob> {
    let mut set: HashSet<Blob> = root.into_iter().map(Blob::Tree).collect();
    for (_, node) in nodes {
        set.extend(node.subtree.map(Blob::Tree));
        set.extend(node.content.iter().flatten().copied().map(Blob::Data));
    }
    set
}

fn add_blobs<'a, S: IndexedFull>(
    repo: &Repository<S>,
    blobs: impl Iterator<Item = &'a Blob>,
    counts: &mut DiffCounts,
) -> Result<()> {
    for blob in blobs {
        let (found, id) = match blob {
            Blob::Tree(t) => {
                counts.tree_blobs += 1;
                (repo.get_index_entry(t), t.to_string())
            }
            Blob::Data(d) => {
                counts.data_blobs += 1;
                (repo.get_index_entry(d), d.to_string())
            }
        };
        let entry = found.map_err(|e| from_rustic(&format!("cannot find blob {id}"), e))?;
        counts.bytes += u64::from(entry.location.data_length());
    }
    Ok(())
}

/// restic's modifier for an entry in both snapshots, or `None` when nothing to show.
fn modifier(l: &Node, r: &Node, metadata: bool) -> Option<String> {
    let mut m = String::new();
    if kind_of(l) != kind_of(r) {
        m.push('T');
    }
    let both_files = l.is_file() && r.is_file();
    if both_files && l.content != r.content {
        m.push('M');
        let same_otherwise = Node {
            content: None,
            ..l.clone()
        } == Node {
            content: None,
            ..r.clone()
        };
        if same_otherwise {
            m.push('?');
        }
    } else if metadata && l != r {
        m.push('U');
    }
    (!m.is_empty()).then_some(m)
}

/// Merges two path-sorted node lists into the differences between them.
fn diff_sorted(left: &[(PathBuf, Node)], right: &[(PathBuf, Node)], metadata: bool) -> Diff {
    let (mut i, mut j) = (0, 0);
    let mut diff = Diff::default();
    while i < left.len() || j < right.len() {
        let order = match (left.get(i), right.get(j)) {
            (Some(l), Some(r)) => l.0.cmp(&r.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (modifier, (path, node)) = match order {
            std::cmp::Ordering::Less => {
                i += 1;
                diff.removed.count(&left[i - 1].1);
                (Some("-".to_string()), &left[i - 1])
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                diff.added.count(&right[j - 1].1);
                (Some("+".to_string()), &right[j - 1])
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (
                    modifier(&left[i - 1].1, &right[j - 1].1, metadata),
                    &right[j - 1],
                )
            }
        };
        if let Some(modifier) = modifier {
            if modifier.starts_with('M') {
                diff.changed_files += 1;
            }
            diff.changes.push(Change {
                modifier,
                entry: entry(path.clone(), node),
            });
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustic_core::repofile::Metadata;

    fn file(content: &[u8], mtime_s: i64) -> Node {
        let mut n = Node::new_node(
            std::ffi::OsStr::new("f"),
            NodeType::File,
            Metadata {
                mtime: jiff::Timestamp::new(mtime_s, 0).ok(),
                ..Metadata::default()
            },
        );
        n.content = Some(
            content
                .iter()
                .map(|b| DataId::from(rustic_core::Id::new([*b; 32])))
                .collect(),
        );
        n
    }

    #[test]
    fn letters_are_restics() {
        let m = |l: &Node, r: &Node, md| modifier(l, r, md);
        // Content and time changed: M. Only time: nothing, or U with --metadata.
        assert_eq!(
            m(&file(b"a", 1), &file(b"b", 2), false).as_deref(),
            Some("M")
        );
        assert_eq!(m(&file(b"a", 1), &file(b"a", 2), false), None);
        assert_eq!(
            m(&file(b"a", 1), &file(b"a", 2), true).as_deref(),
            Some("U")
        );
        // Content changed, nothing else: probably bitrot.
        assert_eq!(
            m(&file(b"a", 1), &file(b"b", 1), false).as_deref(),
            Some("M?")
        );
        assert_eq!(m(&file(b"a", 1), &file(b"a", 1), true), None);
        // A file that became a directory.
        let dir = Node::new_node(
            std::ffi::OsStr::new("f"),
            NodeType::Dir,
            Metadata::default(),
        );
        assert_eq!(m(&file(b"a", 1), &dir, false).as_deref(), Some("T"));
        assert_eq!(m(&file(b"a", 1), &dir, true).as_deref(), Some("TU"));
    }
}
