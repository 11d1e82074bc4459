//! A read-only view of a repository by path and offset: what `umbra mount` serves.
//!
//! The FUSE code lives in its own crate (`umbra-mount`) and never sees rustic_core; it
//! asks this view for the snapshots, the entries of a directory, and bytes of a file at
//! an offset. The view holds the repository's index in memory (as restic's mount does)
//! and a bounded cache of decrypted blobs (rustic_core's, 32 MiB), so that reading a file
//! in the kernel's 128 KiB requests decrypts each blob once, not once per request.
//!
//! Names follow restic's mount: each snapshot appears under its time
//! (`2016-09-18T16:22:24+00:00`), and snapshots with the same time get `-1`, `-2`, ... so
//! that none hides another (restic's `repo-same-timestamps`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::SystemTime;

use rustic_core::repofile::{BlobType, Node, NodeType};
use rustic_core::{BlobId, DataId, IndexedFullStatus, Repository, TreeId};
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::{from_rustic, rustic};
use crate::lock::LockGuard;
use crate::repo::Repo;
use crate::restore::target::unix_permissions;

/// A directory of a snapshot (opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TreeRef(TreeId);

/// One snapshot, as the view names it.
#[derive(Debug, Clone)]
pub struct ViewSnapshot {
    /// The full id (64 hex digits).
    pub id: String,
    pub short_id: String,
    /// The snapshot's time as restic's mount names it, with `-N` when another snapshot
    /// has the same time.
    pub name: String,
    pub time: SystemTime,
    pub hostname: String,
    pub tags: Vec<String>,
    pub tree: TreeRef,
}

/// The content of a file: its blobs and where each starts in the file.
#[derive(Debug, Clone)]
pub struct FileContent {
    blobs: Vec<(DataId, u64)>,
}

/// What an entry is.
#[derive(Debug, Clone)]
pub enum ViewKind {
    Dir(TreeRef),
    File(FileContent),
    Symlink(OsString),
    /// Devices, fifos and sockets: listed with their metadata, never opened.
    Special,
}

/// One entry of a directory.
#[derive(Debug, Clone)]
pub struct ViewNode {
    pub name: OsString,
    pub kind: ViewKind,
    pub size: u64,
    /// Unix permission bits (with setuid, setgid, sticky).
    pub permissions: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Option<SystemTime>,
    pub atime: Option<SystemTime>,
    pub ctime: Option<SystemTime>,
}

/// The repository, opened for reading by path.
pub struct RepoView {
    repo: Repository<IndexedFullStatus>,
    snapshots: Vec<ViewSnapshot>,
    /// Held for the life of the view.
    _lock: Option<LockGuard>,
}

impl RepoView {
    /// Loads the snapshots and the index of `repo` (opened with the lock the caller
    /// chose; it is held until the view is dropped).
    pub fn open(repo: Repo) -> Result<Self> {
        let mut snaps = repo.readable_snapshots()?;
        snaps.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        let Repo { inner, lock, .. } = repo;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let snapshots = snaps
            .into_iter()
            .map(|s| {
                let base = s.time.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
                let n = seen.entry(base.clone()).or_default();
                let name = if *n == 0 { base } else { format!("{base}-{n}") };
                *n += 1;
                ViewSnapshot {
                    id: s.id.to_hex().to_string(),
                    short_id: s.id.to_hex()[..8].to_string(),
                    name,
                    time: SystemTime::from(s.time.timestamp()),
                    hostname: s.hostname.clone(),
                    tags: s.tags.iter().cloned().collect(),
                    tree: TreeRef(s.tree),
                }
            })
            .collect();
        Ok(Self {
            repo,
            snapshots,
            _lock: lock,
        })
    }

    /// The snapshots, oldest first.
    #[must_use]
    pub fn snapshots(&self) -> &[ViewSnapshot] {
        &self.snapshots
    }

    /// The entries of a directory, in the snapshot's order (by name).
    pub fn list(&self, tree: TreeRef) -> Result<Vec<ViewNode>> {
        let tree = self
            .repo
            .get_tree(&tree.0)
            .map_err(rustic("cannot read a directory of the snapshot"))?;
        tree.nodes.iter().map(|n| self.view_node(n)).collect()
    }

    /// Entries `offset..offset + limit` of a directory, and how many it has: a page of a
    /// huge directory without converting the rest (the web console's listing).
    pub fn list_page(
        &self,
        tree: TreeRef,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<ViewNode>)> {
        let tree = self
            .repo
            .get_tree(&tree.0)
            .map_err(rustic("cannot read a directory of the snapshot"))?;
        let page = tree
            .nodes
            .iter()
            .skip(offset)
            .take(limit)
            .map(|n| self.view_node(n))
            .collect::<Result<_>>()?;
        Ok((tree.nodes.len(), page))
    }

    /// The entry called `name` in a directory, if it has one (converting only that one).
    pub fn child(&self, tree: TreeRef, name: &std::ffi::OsStr) -> Result<Option<ViewNode>> {
        let tree = self
            .repo
            .get_tree(&tree.0)
            .map_err(rustic("cannot read a directory of the snapshot"))?;
        tree.nodes
            .iter()
            .find(|n| n.name() == name)
            .map(|n| self.view_node(n))
            .transpose()
    }

    fn view_node(&self, node: &Node) -> Result<ViewNode> {
        let kind = match &node.node_type {
            NodeType::Dir => match node.subtree {
                Some(id) => ViewKind::Dir(TreeRef(id)),
                None => return Err(damaged(node, "a directory without its tree")),
            },
            NodeType::File => {
                let mut start = 0u64;
                let mut blobs = Vec::new();
                for id in node.content.iter().flatten() {
                    blobs.push((*id, start));
                    let entry = self
                        .repo
                        .get_index_entry(id)
                        .map_err(|e| from_rustic("cannot find a file's data", e))?;
                    start += u64::from(entry.location.data_length());
                }
                ViewKind::File(FileContent { blobs })
            }
            NodeType::Symlink { .. } => {
                ViewKind::Symlink(node.node_type.to_link().as_os_str().to_os_string())
            }
            _ => ViewKind::Special,
        };
        let meta = &node.meta;
        let time = |t: Option<jiff::Timestamp>| t.map(SystemTime::from);
        Ok(ViewNode {
            name: node.name().into_owned(),
            kind,
            size: meta.size,
            permissions: meta.mode.map_or(0o555, unix_permissions),
            uid: meta.uid.unwrap_or(0),
            gid: meta.gid.unwrap_or(0),
            mtime: time(meta.mtime),
            atime: time(meta.atime),
            ctime: time(meta.ctime),
        })
    }

    /// Up to `size` bytes of `file` from `offset` (fewer at its end). Every blob is
    /// decrypted and authenticated; one that fails is an error naming it, and the
    /// kernel reports EIO for that read only.
    pub fn read(&self, file: &FileContent, offset: u64, size: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(size);
        // The first blob that holds `offset`.
        let first = file.blobs.partition_point(|(_, start)| *start <= offset);
        let first = first.saturating_sub(1);
        let mut pos = offset;
        for (id, start) in file.blobs.iter().skip(first) {
            if out.len() >= size {
                break;
            }
            let data = self
                .repo
                .get_blob_cached(&BlobId::from(*id), BlobType::Data)
                .map_err(|e| from_rustic(&format!("cannot read blob {}", &id.to_hex()[..8]), e))?;
            let from = usize::try_from(pos.saturating_sub(*start)).unwrap_or(usize::MAX);
            if from >= data.len() {
                continue;
            }
            let take = (size - out.len()).min(data.len() - from);
            out.extend_from_slice(&data[from..from + take]);
            pos += take as u64;
        }
        Ok(out)
    }
}

fn damaged(node: &Node, what: &str) -> UmbraError {
    UmbraError::new(
        ErrorKind::RepositoryDamaged,
        format!("`{}` is {what}", node.name().to_string_lossy()),
    )
}
