//! The restore target: every filesystem operation a restore makes, confined to one
//! directory.
//!
//! The rule is that nothing is ever written outside the target, whatever the target
//! already holds. A target may hold symlinks (left by an earlier restore, or planted):
//! `T/src/dir -> /outside`. Writing `T/src/dir/c` through the OS's path resolution would
//! create `/outside/c`. So:
//! - every directory on the way to an entry is checked with `lstat` (never `stat`) and must
//!   be a real directory; a symlink or file where the snapshot has a directory is removed
//!   and replaced by a directory (or, under `--overwrite never`, the entry is skipped);
//! - the final component is never followed either: files are written to a new temporary
//!   file opened with `O_CREAT|O_EXCL|O_NOFOLLOW` and renamed over the old name (rename
//!   replaces a symlink, it does not write through it), so a file hard-linked to something
//!   outside the target is replaced, not modified;
//! - metadata is set with the `l*`/`AT_SYMLINK_NOFOLLOW` variants.
//!
//! The target directory itself is taken as given (it may be a symlink the user chose).
//! Races with another process changing the target during the restore are not defended
//! against: a target is expected to be owned by the restore.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rustic_core::repofile::{Node, NodeType};

use crate::platform::{
    self, DirBuilderExt, MetadataExt, OpenOptionsExt, O_NOFOLLOW, S_IFBLK, S_IFCHR, S_IFDIR,
    S_IFIFO, S_IFLNK, S_IFMT, S_IFSOCK, S_ISGID, S_ISUID, S_ISVTX,
};

/// Sets what the snapshot recorded of an entry: see the platform's own `set_metadata`.
pub(crate) use crate::platform::set_metadata;

/// What is at a path in the target before the restore touches it.
#[derive(Debug)]
pub(crate) enum Existing {
    Nothing,
    Dir,
    File(fs::Metadata),
    /// A symlink, device, fifo or socket.
    Other(fs::Metadata),
}

/// The result of making sure a directory exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirState {
    /// It was already a directory.
    Existing,
    /// It was created (perhaps after removing what stood in its place).
    Created,
    /// Something else stands there and the overwrite policy keeps it.
    Blocked,
}

/// The restore target directory and what this restore verified in it.
pub(crate) struct Target {
    root: PathBuf,
    /// Relative directories verified to be real directories (not symlinks) in this run.
    dirs: HashSet<PathBuf>,
    /// May existing entries of another type be removed?
    pub(crate) replace: bool,
    pub(crate) dry_run: bool,
    /// Directories of this user's that were not writable, opened up for the restore, with
    /// the mode each had: given back by [`Self::close_up`], or when the target is dropped.
    opened_up: Vec<(PathBuf, u32)>,
}

impl Target {
    pub(crate) fn new(root: PathBuf, replace: bool, dry_run: bool) -> Self {
        let mut dirs = HashSet::new();
        dirs.insert(PathBuf::new());
        let mut target = Self {
            root,
            dirs,
            replace,
            dry_run,
            opened_up: Vec::new(),
        };
        target.open_up(Path::new(""));
        target
    }

    /// Lets this restore write into the existing directory `rel` when it is the user's own
    /// but read-only: an earlier restore of a read-only directory (a snapshot's mode 0555)
    /// must not stop this one from replacing what is in it. Its mode is given back at the
    /// end (and set to the snapshot's for a directory the snapshot has).
    fn open_up(&mut self, rel: &Path) {
        if self.dry_run {
            return;
        }
        let full = self.full(rel);
        if let Some(mode) = platform::open_up_own_dir(&full) {
            self.opened_up.push((full, mode));
        }
    }

    /// Gives every directory opened up by [`Self::open_up`] its mode back, deepest first.
    pub(crate) fn close_up(&mut self) {
        while let Some((dir, mode)) = self.opened_up.pop() {
            let _ = platform::set_dir_mode(&dir, mode);
        }
    }

    pub(crate) fn full(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    pub(crate) fn existing(&self, rel: &Path) -> io::Result<Existing> {
        match fs::symlink_metadata(self.full(rel)) {
            Ok(m) if m.is_dir() => Ok(Existing::Dir),
            Ok(m) if m.is_file() => Ok(Existing::File(m)),
            Ok(m) => Ok(Existing::Other(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Nothing),
            Err(e) => Err(e),
        }
    }

    /// Makes sure every directory above `rel` is a real directory of the target.
    /// Returns false when one is blocked (something else stands there and may not be
    /// replaced).
    pub(crate) fn prepare_parents(&mut self, rel: &Path) -> io::Result<bool> {
        let Some(parent) = rel.parent() else {
            return Ok(true);
        };
        if self.dirs.contains(parent) {
            return Ok(true);
        }
        let mut at = PathBuf::new();
        for c in parent.components() {
            at.push(c);
            if self.dirs.contains(&at) {
                continue;
            }
            if self.ensure_dir(&at)? == DirState::Blocked {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Makes `rel` a real directory; its parents must have been prepared.
    pub(crate) fn ensure_dir(&mut self, rel: &Path) -> io::Result<DirState> {
        let state = match self.existing(rel)? {
            Existing::Dir => {
                self.open_up(rel);
                DirState::Existing
            }
            Existing::Nothing => {
                self.mkdir(rel)?;
                DirState::Created
            }
            Existing::File(_) | Existing::Other(_) if !self.replace => DirState::Blocked,
            Existing::File(_) | Existing::Other(_) => {
                self.remove(rel)?;
                self.mkdir(rel)?;
                DirState::Created
            }
        };
        if state != DirState::Blocked {
            self.dirs.insert(rel.to_path_buf());
        }
        Ok(state)
    }

    fn mkdir(&self, rel: &Path) -> io::Result<()> {
        if self.dry_run {
            return Ok(());
        }
        // 0700 until the snapshot's mode is set at the end: nobody else looks in meanwhile.
        fs::DirBuilder::new().mode(0o700).create(self.full(rel))
    }

    /// Removes whatever is at `rel` (a directory with everything below it). Never follows
    /// a symlink: std's `remove_dir_all` removes links, not what they point to.
    pub(crate) fn remove(&self, rel: &Path) -> io::Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let full = self.full(rel);
        match fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&full),
            Ok(_) => fs::remove_file(&full),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The temporary name a file is written under until it is complete.
    pub(crate) fn temp_for(&self, rel: &Path) -> PathBuf {
        let name = rel
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let mut tmp = std::ffi::OsString::from(".");
        tmp.push(name);
        tmp.push(".umbra-restore");
        self.full(rel).with_file_name(tmp)
    }

    /// Creates an empty temporary file for `rel`, `size` bytes long (sparse).
    pub(crate) fn create_temp(&self, rel: &Path, size: u64) -> io::Result<PathBuf> {
        let tmp = self.temp_for(rel);
        if self.dry_run {
            return Ok(tmp);
        }
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(&tmp)?;
        file.set_len(size)?;
        Ok(tmp)
    }

    /// Moves a completed temporary file to `rel` (replacing a file or symlink there).
    pub(crate) fn commit(&self, tmp: &Path, rel: &Path) -> io::Result<()> {
        if self.dry_run {
            return Ok(());
        }
        fs::rename(tmp, self.full(rel))
    }

    /// Moves a temporary file whose content is incomplete to `NAME.umbra-damaged`.
    pub(crate) fn keep_damaged(&self, tmp: &Path, rel: &Path) -> io::Result<PathBuf> {
        let mut name = rel.as_os_str().to_os_string();
        name.push(".umbra-damaged");
        let rel_damaged = PathBuf::from(name);
        if !self.dry_run {
            self.remove(&rel_damaged)?;
            fs::rename(tmp, self.full(&rel_damaged))?;
        }
        Ok(rel_damaged)
    }

    pub(crate) fn symlink(&self, rel: &Path, node: &Node) -> io::Result<()> {
        if self.dry_run {
            return Ok(());
        }
        platform::make_symlink(node.node_type.to_link(), &self.full(rel))
    }

    /// Creates a device, fifo or socket node.
    pub(crate) fn special(&self, rel: &Path, node: &Node) -> io::Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let (kind, dev) = match node.node_type {
            NodeType::Dev { device } => (S_IFBLK, device),
            NodeType::Chardev { device } => (S_IFCHR, device),
            NodeType::Fifo => (S_IFIFO, 0),
            NodeType::Socket => (S_IFSOCK, 0),
            _ => return Ok(()),
        };
        platform::make_special(&self.full(rel), kind, dev)
    }

    pub(crate) fn hard_link(&self, canonical: &Path, rel: &Path) -> io::Result<()> {
        if self.dry_run {
            return Ok(());
        }
        fs::hard_link(self.full(canonical), self.full(rel))
    }

    /// True when `rel` and `canonical` are already the same file.
    pub(crate) fn same_file(&self, rel: &Path, canonical: &Path) -> bool {
        match (
            fs::symlink_metadata(self.full(rel)),
            fs::symlink_metadata(self.full(canonical)),
        ) {
            (Ok(a), Ok(b)) => a.is_file() && a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// Opens an existing regular file for reading, without following a symlink.
    pub(crate) fn open_existing(&self, rel: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .custom_flags(O_NOFOLLOW)
            .open(self.full(rel))
    }

    /// Names in the target directory `rel` (for `--delete`).
    pub(crate) fn names_in(&self, rel: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        let mut names = Vec::new();
        for e in fs::read_dir(self.full(rel))? {
            names.push(e?.file_name());
        }
        Ok(names)
    }
}

/// A restore that ends early still gives opened-up directories their modes back.
impl Drop for Target {
    fn drop(&mut self) {
        self.close_up();
    }
}

/// The temporary files of a restore that are not in place yet. Dropping it removes them,
/// so a restore that stops early (an error, a full disk, a refused rename) leaves no
/// `.NAME.umbra-restore` behind; a file moved into place is forgotten first.
#[derive(Default)]
pub(crate) struct PendingTemps(HashSet<PathBuf>);

impl PendingTemps {
    pub(crate) fn add(&mut self, tmp: PathBuf) {
        self.0.insert(tmp);
    }

    pub(crate) fn done(&mut self, tmp: &Path) {
        self.0.remove(tmp);
    }
}

impl Drop for PendingTemps {
    fn drop(&mut self) {
        for tmp in &self.0 {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Go's `os.FileMode` bits, as restic stores them, to Unix permission bits.
pub(crate) fn unix_permissions(go_mode: u32) -> u32 {
    let mut mode = go_mode & 0o777;
    if go_mode & (1 << 23) != 0 {
        mode |= 0o4000;
    }
    if go_mode & (1 << 22) != 0 {
        mode |= 0o2000;
    }
    if go_mode & (1 << 20) != 0 {
        mode |= 0o1000;
    }
    mode
}

/// Unix `st_mode` to Go's `os.FileMode`, as restic stores it.
pub(crate) fn go_mode(st_mode: u32) -> u32 {
    let mut go = st_mode & 0o777;
    go |= match st_mode & S_IFMT {
        S_IFDIR => 1 << 31,
        S_IFLNK => 1 << 27,
        S_IFBLK => 1 << 26,
        S_IFCHR => (1 << 26) | (1 << 21),
        S_IFIFO => 1 << 25,
        S_IFSOCK => 1 << 24,
        _ => 0,
    };
    if st_mode & S_ISUID != 0 {
        go |= 1 << 23;
    }
    if st_mode & S_ISGID != 0 {
        go |= 1 << 22;
    }
    if st_mode & S_ISVTX != 0 {
        go |= 1 << 20;
    }
    go
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes_round_trip() {
        for st in [
            S_IFDIR | 0o755,
            crate::platform::S_IFREG | 0o4755,
            crate::platform::S_IFREG | 0o2640,
            S_IFDIR | 0o1777,
        ] {
            assert_eq!(unix_permissions(go_mode(st)), st & 0o7777, "{st:o}");
        }
        assert_eq!(go_mode(S_IFDIR | 0o750), (1 << 31) | 0o750);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_directory_in_the_target_is_replaced_not_followed() {
        let dir = std::env::temp_dir().join(format!("umbra-target-{}", std::process::id()));
        let outside = dir.join("outside");
        let root = dir.join("root");
        fs::create_dir_all(&outside).expect("mkdir");
        fs::create_dir_all(&root).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("d")).expect("symlink");
        let mut t = Target::new(root.clone(), true, false);
        assert!(t.prepare_parents(Path::new("d/file")).expect("prepare"));
        assert!(fs::symlink_metadata(root.join("d"))
            .expect("lstat")
            .is_dir());
        assert!(outside.exists(), "the link's target is left alone");
        let mut keep = Target::new(root.clone(), false, false);
        fs::remove_dir(root.join("d")).expect("rmdir");
        std::os::unix::fs::symlink(&outside, root.join("d")).expect("symlink");
        assert!(!keep.prepare_parents(Path::new("d/file")).expect("prepare"));
        let _ = fs::remove_dir_all(&dir);
    }
}
