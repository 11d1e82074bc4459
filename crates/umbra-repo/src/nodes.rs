//! Nodes umbra makes itself, and the metadata they carry.
//!
//! A restore can only give back what the snapshot recorded. Two kinds of entries do not
//! come from rustic_core's walker with their true metadata:
//! - **The source folder and its parents.** The walker skips the root of each walk, and
//!   the archiver makes up `0755 root 0001-01-01` directories for every parent of a
//!   source. restic lstat's each one; so do we ([`dir_entry`]), so that `/srv/a/src`
//!   restores as `nobody:nogroup 0700` with its mtime, by umbra and by restic.
//! - **Substitutes** (a quiescer's staged copy: SQLite's online backup, PostgreSQL's
//!   `backup_label` and WAL). The staged file is umbra's, owned by root; the snapshot
//!   must hold the owner and mode of what it stands for ([`stand_in_for`]), or a restored
//!   PostgreSQL refuses to start.
//! - **Reflink clones** are new inodes: a clone's node takes its live file's identity
//!   ([`keep_identity`]) so that the next backup still finds its parent.
//!
//! It also names the entry behind a walker error ([`walk_error`]): a vanished entry is
//! told apart from an unreadable one, with its path.

use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{ReadSourceEntry, RusticError};

use crate::platform::MetadataExt;
use crate::restore::go_mode;

fn timestamp(secs: i64, nsecs: i64) -> Option<Timestamp> {
    Timestamp::new(secs, i32::try_from(nsecs).unwrap_or(0)).ok()
}

/// The name of user `uid`, if the system knows one.
pub(crate) fn user_name(uid: u32) -> Option<String> {
    crate::platform::user_name(uid)
}

/// The name of group `gid`, if the system knows one.
pub(crate) fn group_name(gid: u32) -> Option<String> {
    crate::platform::group_name(gid)
}

/// The name of the user umbra runs as (its effective uid), as restic records it in
/// snapshots, keys and locks; the uid in digits when the system has no name for it.
#[must_use]
pub fn current_user() -> String {
    crate::platform::current_user_name()
        .unwrap_or_else(|| crate::platform::effective_uid().to_string())
}

/// Key options that record who made a key, where and when (restic's `key list` shows
/// them).
pub(crate) fn key_options() -> rustic_core::KeyOptions {
    let mut opts = rustic_core::KeyOptions::default();
    opts.hostname = Some(gethostname::gethostname().to_string_lossy().into_owned());
    opts.username = Some(current_user());
    opts.with_created = true;
    opts
}

/// Sets owner, group (ids and names) and permission bits of `meta` from `m`, keeping
/// the file type bits `meta` has.
fn take_ownership(meta: &mut Metadata, m: &fs::Metadata, mode_mask: u32) {
    meta.uid = Some(m.uid());
    meta.gid = Some(m.gid());
    meta.user = user_name(m.uid());
    meta.group = group_name(m.gid());
    let perm_bits = go_mode(m.mode() & mode_mask & 0o7777);
    let type_bits = meta.mode.unwrap_or(0) & !(0o777 | (1 << 23) | (1 << 22) | (1 << 20));
    meta.mode = Some(type_bits | perm_bits);
}

/// A directory entry for `path` with its own metadata, as the archiver stores it.
pub(crate) fn dir_entry<O>(path: &Path) -> Option<ReadSourceEntry<O>> {
    let m = fs::symlink_metadata(path).ok()?;
    if !m.is_dir() {
        return None;
    }
    let mut meta = Metadata {
        mode: Some(go_mode(m.mode())),
        mtime: timestamp(m.mtime(), m.mtime_nsec()),
        atime: timestamp(m.atime(), m.atime_nsec()),
        ctime: timestamp(m.ctime(), m.ctime_nsec()),
        inode: m.ino(),
        device_id: m.dev(),
        links: m.nlink(),
        ..Metadata::default()
    };
    take_ownership(&mut meta, &m, 0o7777);
    let name = path.file_name()?;
    Some(ReadSourceEntry {
        path: path.to_path_buf(),
        node: Node::new_node(name, NodeType::Dir, meta),
        open: None,
    })
}

/// Gives a staged copy the owner, group and mode of the live file it stands for; a file
/// with no live counterpart (`backup_label`, a new WAL segment) takes the owner and group
/// of its nearest existing directory, and that directory's mode without execute bits.
pub(crate) fn stand_in_for(node: &mut Node, live: &Path) {
    if let Ok(m) = fs::symlink_metadata(live) {
        take_ownership(&mut node.meta, &m, 0o7777);
        return;
    }
    let mut dir = live.parent();
    while let Some(d) = dir {
        if let Ok(m) = fs::symlink_metadata(d) {
            let mask = if node.is_dir() { 0o7777 } else { 0o666 };
            take_ownership(&mut node.meta, &m, mask);
            return;
        }
        dir = d.parent();
    }
}

/// The path and the I/O error behind a walker error, found in its chain of causes (the
/// `ignore` crate's error, wrapped by rustic_core).
pub(crate) fn walk_error(err: &RusticError) -> (Option<PathBuf>, Option<std::io::Error>) {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(walk) = e.downcast_ref::<ignore::Error>() {
            let mut path = None;
            let mut inner = walk;
            loop {
                match inner {
                    ignore::Error::WithPath { path: p, err } => {
                        path.get_or_insert_with(|| p.clone());
                        inner = err;
                    }
                    ignore::Error::WithDepth { err, .. }
                    | ignore::Error::WithLineNumber { err, .. } => {
                        inner = err;
                    }
                    _ => break,
                }
            }
            let io = walk
                .io_error()
                .map(|e| std::io::Error::new(e.kind(), e.to_string()));
            return (path, io);
        }
        cur = e.source();
    }
    (None, None)
}

/// Gives a node read from a clone the identity of its live file, if that is still the
/// same file (same size and mtime; the clone copied both).
pub(crate) fn keep_identity(node: &mut Node, live: &Path) {
    let Ok(m) = std::fs::symlink_metadata(live) else {
        return;
    };
    let now = crate::source::Expected::of_metadata(&m);
    let same_type = node.is_dir() == m.is_dir() && node.is_symlink() == m.file_type().is_symlink();
    // Directories carry no content; a symlink's content is its target (its clone has a
    // new mtime); a file is the same when size and mtime are (the clone copied both).
    let same_content = if node.is_dir() {
        true
    } else if node.is_symlink() {
        std::fs::read_link(live)
            .ok()
            .as_deref()
            .map(Path::as_os_str)
            == node_link_target(node).as_deref().map(std::ffi::OsStr::new)
    } else {
        node.meta.size == now.size && node.meta.mtime == now.mtime
    };
    if same_type && same_content {
        node.meta.inode = m.ino();
        node.meta.device_id = m.dev();
        node.meta.ctime = now.ctime;
        node.meta.links = m.nlink();
        if !node.is_file() {
            node.meta.mtime = now.mtime;
        }
    }
}

fn node_link_target(node: &Node) -> Option<String> {
    match &node.node_type {
        rustic_core::repofile::NodeType::Symlink { .. } => {
            Some(node.node_type.to_link().to_string_lossy().into_owned())
        }
        _ => None,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_directory_entry_carries_its_owner_mode_and_time() {
        let dir = std::env::temp_dir().join(format!("umbra-nodes-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o750))
            .expect("chmod");
        let e: ReadSourceEntry<()> = dir_entry(&dir).expect("a directory");
        assert_eq!(e.node.meta.mode.map(|m| m & 0o777), Some(0o750));
        assert!(
            e.node.meta.mode.is_some_and(|m| m & (1 << 31) != 0),
            "dir bit"
        );
        assert!(e.node.meta.mtime.is_some());
        assert_eq!(
            e.node.meta.uid,
            Some(fs::metadata(&dir).expect("stat").uid())
        );
        let _ = fs::remove_dir(&dir);
    }

    #[test]
    fn a_new_file_takes_its_directory_owner_and_no_execute_bits() {
        let dir = std::env::temp_dir().join(format!("umbra-stand-in-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("chmod");
        let mut node = Node::new_node(
            std::ffi::OsStr::new("backup_label"),
            NodeType::File,
            Metadata {
                mode: Some(0o644),
                ..Metadata::default()
            },
        );
        stand_in_for(&mut node, &dir.join("backup_label"));
        assert_eq!(node.meta.mode, Some(0o600));
        let _ = fs::remove_dir(&dir);
    }
}
