//! Looking into snapshots: `ls`, `find` and `dump` (`diff` is in `diff.rs`).

use std::path::PathBuf;

use rustic_core::repofile::{Node, NodeType, SnapshotFile};
use rustic_core::{IndexedFull, IndexedTree, LsOptions, Repository};
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
    /// Owner and group names, the device, the number of hard links: what restic's
    /// `find --json` shows beside the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub device_id: u64,
    pub links: u64,
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

pub(crate) fn kind_of(node: &Node) -> &'static str {
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

pub(crate) fn entry(path: PathBuf, node: &Node) -> Entry {
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
        user: node.meta.user.clone(),
        group: node.meta.group.clone(),
        device_id: node.meta.device_id,
        links: node.meta.links,
    }
}

/// Every entry below `node` (a snapshot's root or a directory in it), in path order,
/// with paths relative to it.
pub(crate) fn all_nodes<S: IndexedTree>(
    repo: &Repository<S>,
    node: &Node,
) -> Result<Vec<(PathBuf, Node)>> {
    let streamer = repo
        .ls(node, &LsOptions::default())
        .map_err(rustic("cannot read the snapshot's tree"))?;
    streamer
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| from_rustic("cannot read the snapshot's tree", e))
}

/// What `find` asks of an entry besides matching a pattern (restic's `find` flags).
#[derive(Debug, Clone, Default)]
pub struct FindFilter {
    /// Match the patterns regardless of case.
    pub ignore_case: bool,
    /// Only entries modified at or after this time; an entry without a modification
    /// time is older than any.
    pub oldest: Option<jiff::Timestamp>,
    /// Only entries modified at or before this time.
    pub newest: Option<jiff::Timestamp>,
}

impl FindFilter {
    fn admits(&self, node: &Node) -> bool {
        let mtime = node.meta.mtime;
        self.oldest.is_none_or(|o| mtime.is_some_and(|m| m >= o))
            && self.newest.is_none_or(|n| mtime.is_none_or(|m| m <= n))
    }
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
        let root = node_at(&repo, &snap, spec)?;
        Ok(all_nodes(&repo, &root)?
            .into_iter()
            .map(|(p, n)| entry(PathBuf::from(prefix.trim_start_matches('/')).join(p), &n))
            .collect())
    }

    /// Entries matching any of `patterns` (globs as restore's `--include` takes them: a
    /// pattern without `/` matches a name at any depth) and `filter`, in the snapshots
    /// `specs` names, or in every snapshot. Returns each snapshot's ID with its matches.
    pub fn find_entries(
        self,
        patterns: &[String],
        specs: &[String],
        filter: &FindFilter,
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
        if filter.ignore_case {
            opts.excludes.iglobs = std::mem::take(&mut opts.excludes.globs);
        }
        let mut found = Vec::new();
        for snap in &snaps {
            let node = node_at(&repo, snap, "")?;
            let entries = repo
                .ls(&node, &opts)
                .map_err(rustic("cannot read the snapshot's tree"))?
                .filter(|item| item.as_ref().map_or(true, |(_, n)| filter.admits(n)))
                .map(|item| item.map(|(p, n)| entry(p, &n)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| from_rustic("cannot read the snapshot's tree", e))?;
            if !entries.is_empty() {
                found.push((snap.id.to_hex().to_string(), entries));
            }
        }
        Ok(found)
    }

    /// Writes the content of the file `spec` (`ID:PATH`) to `out`, or a directory as an
    /// `archive`. Every blob is decrypted and authenticated; a damaged one ends the dump
    /// with an error naming it.
    pub fn dump(self, spec: &str, archive: Archive, out: &mut impl std::io::Write) -> Result<()> {
        let snap = self.find(snapshot_part(spec))?;
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let node = node_at(&repo, &snap, spec)?;
        if node.is_dir() {
            return dump_archive(&repo, &node, spec, archive, out);
        }
        if !node.is_file() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{spec}` is a {}, not a file or directory", kind_of(&node)),
            )
            .with_hint("dump writes a file's content, or a directory as a tar or zip archive."));
        }
        repo.dump(&node, out)
            .map_err(|e| from_rustic(&format!("cannot dump `{spec}`"), e))
    }
}

/// What the tar and zip writers share: entries one after the other, then the archive's
/// end. Types restic's dump leaves out (devices, fifos, sockets) are skipped.
pub(crate) trait ArchiveWriter {
    /// Writes `node` under `name` (relative, `/`-separated); for a regular file,
    /// `content` writes its bytes, exactly `node.meta.size` of them.
    fn entry(
        &mut self,
        name: &str,
        node: &Node,
        content: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> std::io::Result<()>;
    /// Ends the archive.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// How `dump` writes a directory (restic's `--archive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    Tar,
    Zip,
}

impl std::str::FromStr for Archive {
    type Err = UmbraError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tar" => Ok(Self::Tar),
            "zip" => Ok(Self::Zip),
            other => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{other}` is not an archive format"),
            )
            .with_hint("Use --archive tar (the default) or --archive zip.")),
        }
    }
}

/// Writes what the directory `dir` holds as an archive, as restic 0.14's `dump` does:
/// each entry named by its path in the snapshot without the leading `/`.
fn dump_archive<S: IndexedFull>(
    repo: &Repository<S>,
    dir: &Node,
    spec: &str,
    archive: Archive,
    out: &mut impl std::io::Write,
) -> Result<()> {
    let base = spec
        .split_once(':')
        .map_or("", |(_, p)| p)
        .trim_matches('/');
    let failed = |e: std::io::Error| {
        UmbraError::new(
            ErrorKind::Io,
            format!("cannot dump `{spec}` as an archive: {e}"),
        )
        .with_source(e)
    };
    let nodes = all_nodes(repo, dir)?;
    let name_of = |path: &std::path::Path| {
        let rel = path.to_string_lossy();
        if base.is_empty() {
            rel.into_owned()
        } else {
            format!("{base}/{rel}")
        }
    };
    let read = |node: &Node, name: &str, w: &mut dyn std::io::Write| {
        let mut w = w;
        repo.dump(node, &mut w).map_err(|e| {
            std::io::Error::other(format!(
                "cannot read `{name}`: {}",
                from_rustic("", e).message()
            ))
        })
    };
    let mut writer: Box<dyn ArchiveWriter + '_> = match archive {
        Archive::Tar => Box::new(crate::tar::TarWriter::new(out)),
        Archive::Zip => Box::new(crate::zip::ZipWriter::new(out)),
    };
    for (path, node) in &nodes {
        let name = name_of(path);
        writer
            .entry(&name, node, &mut |w| read(node, &name, w))
            .map_err(failed)?;
    }
    writer.finish().map_err(failed)?;
    Ok(())
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
