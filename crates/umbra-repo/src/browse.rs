//! Looking into snapshots: `ls`, `diff`, `find` and `dump`.

use std::cmp::Ordering;
use std::path::PathBuf;

use rustic_core::repofile::{Node, NodeType, SnapshotFile};
use rustic_core::{IndexedTree, LsOptions, Repository};
use serde::Serialize;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// One entry of a snapshot's tree.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path as stored (the path the user named when backing up).
    pub path: PathBuf,
    /// `file`, `dir`, `symlink`, `dev`, `chardev`, `fifo` or `socket`.
    pub kind: &'static str,
    pub size: u64,
    pub mode: Option<u32>,
    pub mtime: Option<String>,
    /// Access and change times, as restic's `ls --json` gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// A symlink's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Entry {
    /// restic's `ls -l` line: Go's mode string, uid, gid, size, local time, path.
    #[must_use]
    pub fn long_line(&self) -> String {
        let time = self
            .mtime
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let link = self
            .link
            .as_deref()
            .map(|l| format!(" -> {l}"))
            .unwrap_or_default();
        format!(
            "{} {:5} {:5} {:6} {time} {}{link}",
            go_mode_string(self.mode.unwrap_or(0)),
            self.uid.unwrap_or(0),
            self.gid.unwrap_or(0),
            self.size,
            self.path.display()
        )
    }
}

/// Go's `os.FileMode.String()`, which restic prints: one letter per type bit set
/// (`dalTLDpSugct?`, from bit 31 down), `-` when none, then `rwxrwxrwx`.
#[must_use]
pub fn go_mode_string(mode: u32) -> String {
    const TYPES: &[u8] = b"dalTLDpSugct?";
    let mut out: String = TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mode & (1 << (31 - i)) != 0)
        .map(|(_, c)| char::from(*c))
        .collect();
    if out.is_empty() {
        out.push('-');
    }
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        out.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    out
}

fn kind_of(node: &Node) -> &'static str {
    match node.node_type {
        NodeType::File => "file",
        NodeType::Dir => "dir",
        NodeType::Symlink { .. } => "symlink",
        NodeType::Dev { .. } => "dev",
        NodeType::Chardev { .. } => "chardev",
        NodeType::Fifo => "fifo",
        NodeType::Socket => "socket",
    }
}

fn entry(path: PathBuf, node: &Node) -> Entry {
    Entry {
        path: PathBuf::from("/").join(path),
        kind: kind_of(node),
        size: node.meta.size,
        mode: node.meta.mode,
        mtime: node.meta.mtime.map(|t| t.to_string()),
        atime: node.meta.atime.map(|t| t.to_string()),
        ctime: node.meta.ctime.map(|t| t.to_string()),
        uid: node.meta.uid,
        gid: node.meta.gid,
        link: match &node.node_type {
            NodeType::Symlink { .. } => {
                Some(node.node_type.to_link().to_string_lossy().into_owned())
            }
            _ => None,
        },
    }
}

/// How an entry differs between two snapshots (restic's letters).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Change {
    /// `+`: only in the second snapshot.
    Added,
    /// `-`: only in the first snapshot.
    Removed,
    /// `M`: the content differs.
    Modified,
    /// `T`: the type differs (file became a directory, ...).
    TypeChanged,
    /// `U`: only metadata (mode, owner, times) differs.
    Metadata,
}

impl Change {
    #[must_use]
    pub fn letter(self) -> char {
        match self {
            Self::Added => '+',
            Self::Removed => '-',
            Self::Modified => 'M',
            Self::TypeChanged => 'T',
            Self::Metadata => 'U',
        }
    }
}

fn all_nodes<S: IndexedTree>(
    repo: &Repository<S>,
    snap: &SnapshotFile,
    spec: &str,
) -> Result<Vec<(PathBuf, Node)>> {
    let node = node_at(repo, snap, spec)?;
    let streamer = repo
        .ls(&node, &LsOptions::default())
        .map_err(rustic("cannot read the snapshot's tree"))?;
    streamer
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| from_rustic("cannot read the snapshot's tree", e))
}

/// The node at the path part of `spec` (`ID:PATH`; the root without one).
pub(crate) fn node_at<S: IndexedTree>(
    repo: &Repository<S>,
    snap: &SnapshotFile,
    spec: &str,
) -> Result<Node> {
    let path = spec.split_once(':').map_or("", |(_, p)| p);
    repo.node_from_snapshot_and_path(snap, path).map_err(|e| {
        let err = from_rustic(&format!("cannot find `{spec}`"), e);
        UmbraError::new(ErrorKind::NotFound, err.message().to_string())
            .with_hint("Check the path: `umbra ls SNAPSHOT` lists what the snapshot holds.")
            .with_source(err)
    })
}

/// The snapshot part of `spec` (`ID` or `ID:PATH`).
pub(crate) fn snapshot_part(spec: &str) -> &str {
    spec.split_once(':').map_or(spec, |(s, _)| s)
}

impl Repo {
    /// Every entry of `spec` (`ID` or `ID:PATH`), in path order.
    pub fn ls(self, spec: &str) -> Result<Vec<Entry>> {
        let snap = self.find(snapshot_part(spec))?;
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed_ids()
            .map_err(rustic("cannot read the repository's index"))?;
        let prefix = spec.split_once(':').map(|(_, p)| p).unwrap_or("");
        Ok(all_nodes(&repo, &snap, spec)?
            .into_iter()
            .map(|(p, n)| entry(PathBuf::from(prefix.trim_start_matches('/')).join(p), &n))
            .collect())
    }

    /// Entries matching any of `patterns` (globs as restore's `--include` takes them: a
    /// pattern without `/` matches a name at any depth) in the snapshots `specs` names,
    /// or in every snapshot. Returns each snapshot's short id with its matches.
    pub fn find_entries(
        self,
        patterns: &[String],
        specs: &[String],
    ) -> Result<Vec<(String, Vec<Entry>)>> {
        let snaps = if specs.is_empty() {
            self.readable_snapshots()?
        } else {
            specs.iter().map(|s| self.find(s)).collect::<Result<_>>()?
        };
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed_ids()
            .map_err(rustic("cannot read the repository's index"))?;
        let mut opts = LsOptions::default();
        opts.excludes = crate::restore::globs(patterns, &[]);
        let mut found = Vec::new();
        for snap in &snaps {
            let node = node_at(&repo, snap, "")?;
            let entries = repo
                .ls(&node, &opts)
                .map_err(rustic("cannot read the snapshot's tree"))?
                .map(|item| item.map(|(p, n)| entry(p, &n)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| from_rustic("cannot read the snapshot's tree", e))?;
            if !entries.is_empty() {
                found.push((snap.id.to_hex()[..8].to_string(), entries));
            }
        }
        Ok(found)
    }

    /// Writes the content of the file `spec` (`ID:PATH`) to `out`. Every blob is
    /// decrypted and authenticated; a damaged one ends the dump with an error naming it.
    pub fn dump(self, spec: &str, out: &mut impl std::io::Write) -> Result<()> {
        let snap = self.find(snapshot_part(spec))?;
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let node = node_at(&repo, &snap, spec)?;
        if !node.is_file() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{spec}` is a {}, not a file", kind_of(&node)),
            )
            .with_hint("dump writes one file's content; restore a directory with `umbra restore ID --include PATH -t DIR`."));
        }
        repo.dump(&node, out)
            .map_err(|e| from_rustic(&format!("cannot dump `{spec}`"), e))
    }

    /// What changed from snapshot `a` to snapshot `b`.
    pub fn diff(self, a: &str, b: &str) -> Result<Vec<(Change, Entry)>> {
        let snap_a = self.find(snapshot_part(a))?;
        let snap_b = self.find(snapshot_part(b))?;
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed_ids()
            .map_err(rustic("cannot read the repository's index"))?;
        let left = all_nodes(&repo, &snap_a, a)?;
        let right = all_nodes(&repo, &snap_b, b)?;
        Ok(diff_sorted(&left, &right))
    }
}

/// Merges two path-sorted node lists into the differences between them.
fn diff_sorted(left: &[(PathBuf, Node)], right: &[(PathBuf, Node)]) -> Vec<(Change, Entry)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < left.len() || j < right.len() {
        let order = match (left.get(i), right.get(j)) {
            (Some(l), Some(r)) => l.0.cmp(&r.0),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.push((Change::Removed, entry(left[i].0.clone(), &left[i].1)));
                i += 1;
            }
            Ordering::Greater => {
                out.push((Change::Added, entry(right[j].0.clone(), &right[j].1)));
                j += 1;
            }
            Ordering::Equal => {
                let (l, r) = (&left[i].1, &right[j].1);
                let change = if kind_of(l) != kind_of(r) {
                    Some(Change::TypeChanged)
                } else if l.content != r.content || l.node_type != r.node_type {
                    Some(Change::Modified)
                } else if l.meta.mode != r.meta.mode
                    || l.meta.mtime != r.meta.mtime
                    || l.meta.uid != r.meta.uid
                    || l.meta.gid != r.meta.gid
                {
                    // Directories' times change whenever an entry does; report them only
                    // when their mode or owner changed.
                    (!l.is_dir() || l.meta.mode != r.meta.mode || l.meta.uid != r.meta.uid)
                        .then_some(Change::Metadata)
                } else {
                    None
                };
                if let Some(c) = change {
                    out.push((c, entry(right[j].0.clone(), r)));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::go_mode_string;

    #[test]
    fn modes_print_as_go_prints_them() {
        assert_eq!(go_mode_string(0o644), "-rw-r--r--");
        assert_eq!(go_mode_string((1 << 31) | 0o755), "drwxr-xr-x");
        assert_eq!(go_mode_string((1 << 27) | 0o777), "Lrwxrwxrwx");
        assert_eq!(go_mode_string((1 << 26) | (1 << 21) | 0o666), "Dcrw-rw-rw-");
        assert_eq!(go_mode_string((1 << 23) | 0o755), "urwxr-xr-x");
    }
}
