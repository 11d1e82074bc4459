//! reflink: clone every file of the source with FICLONE into a staging tree on the same
//! filesystem (XFS with reflink, btrfs).
//!
//! A clone shares the file's extents, so it costs metadata, not data, and it is taken
//! atomically per file: each file is consistent on its own, but different files are
//! cloned at different moments. Hence the level `file-atomic`; consistency across files
//! needs the applications quiesced while the tree is cloned.
//!
//! Two ways to clone, with the same guarantee per file:
//! - **File by file, as each is read** (the default). Nothing holds applications still,
//!   so no moment is better than another for any file: the reader clones each file at the
//!   moment it opens it, into an unnamed file that vanishes when closed (large files get
//!   a named clone, so that the tree can be kept as the next backup's base). No tree to
//!   build before the read, none to remove after it: on 32,000 small files, the tree cost
//!   a third of the backup's throughput (docs/BENCHMARKS.md).
//! - **The whole tree at once**, inside the snapshot set's window, when quiescers or
//!   `after_snapshot` commands hold applications still around it
//!   ([`SourceInfo::capture_at_once`]): then every file must be captured before they go
//!   on, and the tree is what the rest of this module describes.
//!
//! Clones are new inodes with a new ctime. Left alone, that would make every file look
//! changed to the next backup; so the presented source names the live tree as
//! `identity_from`, and the reader takes inode and ctime from there for files that are
//! still the same (size and mtime, which the clone copies).
//!
//! Clones and their directories get the live tree's modes, times and (as root) owners;
//! only inode, ctime and link count differ, and the reader takes those from the live tree.
//!
//! Works without root, wherever the user can write on the filesystem. The staging tree
//! is `<dir>/.umbra-staging/umbra-<time>-<pid>`, where `<dir>` is the mount point if
//! writable, else the nearest writable directory above the source on the same
//! filesystem. Special files (fifos, sockets, devices) are not cloned; directories below
//! the source that are on another device (mounts, nested subvolumes) are not entered.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use umbra_core::{ConsistencyLevel, ErrorKind, Method, Result, UmbraError};

use crate::provider::{
    named_by_umbra, run_tag, Prepared, Presented, Provider, Recorder, SourceInfo, Support,
};
use crate::registry::Artifact;

pub const STAGING_DIR: &str = ".umbra-staging";
const KIND: &str = "clone-tree";

pub struct Reflink;

fn writable(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: valid C string.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Where the staging tree goes: see the module docs.
fn staging_base(source: &SourceInfo) -> Option<PathBuf> {
    if writable(&source.mount.mount_point) {
        return Some(source.mount.mount_point.clone());
    }
    let dev = std::fs::metadata(&source.real_path).ok()?.dev();
    let mut cur = source.real_path.parent();
    while let Some(dir) = cur {
        if std::fs::metadata(dir).ok()?.dev() != dev {
            return None;
        }
        if writable(dir) {
            return Some(dir.to_path_buf());
        }
        if dir == source.mount.mount_point {
            return None;
        }
        cur = dir.parent();
    }
    None
}

fn clone_file(from: &Path, to: &Path) -> std::io::Result<()> {
    let src = File::open(from)?;
    let dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    umbra_core::reflink::clone_onto(&src, &dst)?;
    let meta = src.metadata()?;
    copy_xattrs(&src, &dst)?;
    copy_attributes(&dst, &meta)
}

/// Copies the extended attributes of `src` onto `dst` (both open files).
fn copy_xattrs(src: &File, dst: &File) -> std::io::Result<()> {
    // Ask for the size first: most files have no extended attributes, and zeroing two
    // 64 KiB buffers for each of them was a measurable part of cloning a tree.
    // SAFETY: a null buffer of length 0 asks for the size; the descriptor is open.
    let size = unsafe { libc::flistxattr(src.as_raw_fd(), std::ptr::null_mut(), 0) };
    if size == 0 {
        return Ok(());
    }
    let mut names = vec![0u8; usize::try_from(size).unwrap_or(0).max(1) + 256];
    // SAFETY: the buffer is valid for its length; the descriptor is open.
    let n = unsafe { libc::flistxattr(src.as_raw_fd(), names.as_mut_ptr().cast(), names.len()) };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        // Filesystems without xattr support have nothing to copy.
        return if err.raw_os_error() == Some(libc::ENOTSUP) {
            Ok(())
        } else {
            Err(err)
        };
    }
    let names = &names[..usize::try_from(n).unwrap_or(0)];
    let mut value = vec![0u8; 64 * 1024];
    for name in names.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let Ok(cname) = CString::new(name) else {
            continue;
        };
        // SAFETY: valid name, buffer and descriptors.
        let len = unsafe {
            libc::fgetxattr(
                src.as_raw_fd(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            continue;
        }
        let len = usize::try_from(len).unwrap_or(0);
        // SAFETY: as above. Attributes we may not set (security.*, without root) are skipped.
        unsafe {
            libc::fsetxattr(
                dst.as_raw_fd(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                len,
                0,
            )
        };
    }
    Ok(())
}

/// Gives `dst` the mode, times and (as root) owner of `meta`.
fn copy_attributes(dst: &File, meta: &std::fs::Metadata) -> std::io::Result<()> {
    // SAFETY: geteuid cannot fail; fchown on an open descriptor.
    if unsafe { libc::geteuid() } == 0
        && unsafe { libc::fchown(dst.as_raw_fd(), meta.uid(), meta.gid()) } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    dst.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    let times = [
        libc::timespec {
            tv_sec: meta.atime(),
            tv_nsec: meta.atime_nsec(),
        },
        libc::timespec {
            tv_sec: meta.mtime(),
            tv_nsec: meta.mtime_nsec(),
        },
    ];
    // SAFETY: valid descriptor and two timespecs.
    if unsafe { libc::futimens(dst.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Probes whether the filesystem under `base` clones: an empty file clones everywhere,
/// so a one-byte file is used.
fn probe(base: &Path) -> std::result::Result<(), String> {
    let dir = base.join(format!("{STAGING_DIR}-probe-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("a"), b"x")?;
        clone_file(&dir.join("a"), &dir.join("b"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(|e| format!("the filesystem does not clone files ({e})"))
}

struct Plan {
    source: PathBuf,
    staging: PathBuf,
    /// Clone the whole tree inside the window, rather than file by file as it is read.
    at_once: bool,
}

impl Provider for Reflink {
    fn method(&self) -> Method {
        Method::Reflink
    }

    fn supports(&self, source: &SourceInfo) -> Support {
        if !["xfs", "btrfs"].contains(&source.mount.fs_type.as_str()) {
            return Support::No(format!(
                "{} does not clone files (only xfs and btrfs do)",
                source.mount.fs_type
            ));
        }
        let Some(base) = staging_base(source) else {
            return Support::No(
                "no directory on the same filesystem is writable for the clones".into(),
            );
        };
        match probe(&base) {
            Ok(()) => Support::Yes,
            Err(why) => Support::No(why),
        }
    }

    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>> {
        let base = staging_base(source).ok_or_else(|| {
            UmbraError::new(
                ErrorKind::SourceUnreadable,
                format!(
                    "no writable directory for reflink clones of {}",
                    source.path.display()
                ),
            )
        })?;
        Ok(Box::new(Plan {
            source: source.real_path.clone(),
            staging: base.join(STAGING_DIR).join(format!("umbra-{}", run_tag())),
            at_once: source.capture_at_once,
        }))
    }

    fn release(&self, artifact: &Artifact) -> Result<()> {
        let path = PathBuf::from(&artifact.target);
        let parent_ok = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == STAGING_DIR);
        if artifact.kind != KIND || !parent_ok || !named_by_umbra(&path, "umbra-") {
            return Err(UmbraError::new(
                ErrorKind::Internal,
                format!("refusing to release {artifact}: not a clone tree of umbra's"),
            ));
        }
        make_removable(&path);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(UmbraError::io("cannot remove the clone tree", &path, e)),
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
        Ok(())
    }
}

impl Prepared for Plan {
    fn take(self: Box<Self>, rec: &mut Recorder<'_>) -> Result<Presented> {
        if let Some(parent) = self.staging.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| UmbraError::io("cannot create the staging directory", parent, e))?;
        }
        rec.record(Artifact::path(KIND, &self.staging))?;
        let meta = std::fs::symlink_metadata(&self.source)
            .map_err(|e| UmbraError::io("cannot inspect", &self.source, e))?;
        if meta.is_dir() && !self.at_once {
            // The reader clones each file into this directory as it opens it.
            std::fs::create_dir(&self.staging)
                .and_then(|()| {
                    std::fs::set_permissions(&self.staging, std::fs::Permissions::from_mode(0o700))
                })
                .map_err(|e| UmbraError::io("cannot create", &self.staging, e))?;
            return Ok(Presented {
                read_from: self.source,
                level: ConsistencyLevel::FileAtomic,
                identity_from: None,
                clone_on_read: Some(self.staging),
            });
        }
        if meta.is_dir() {
            clone_tree(&self.source, &self.staging, meta.dev())?;
        } else {
            std::fs::create_dir(&self.staging)
                .map_err(|e| UmbraError::io("cannot create", &self.staging, e))?;
            let name = self.source.file_name().unwrap_or_default();
            clone_file(&self.source, &self.staging.join(name))
                .map_err(|e| UmbraError::io("cannot clone", &self.source, e))?;
            return Ok(Presented {
                read_from: self.staging.join(name),
                level: ConsistencyLevel::FileAtomic,
                identity_from: Some(self.source.clone()),
                clone_on_read: None,
            });
        }
        Ok(Presented {
            read_from: self.staging,
            level: ConsistencyLevel::FileAtomic,
            identity_from: Some(self.source),
            clone_on_read: None,
        })
    }
}

/// Clones the tree at `from` into `to` (which must not exist), staying on device `dev`.
/// Directories are created 0700 while being filled, then given their live mode and times,
/// deepest first (so that setting a parent's mtime comes after its last change).
fn clone_tree(from: &Path, to: &Path, dev: u64) -> Result<()> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        dirs.push((src.clone(), dst.clone()));
        std::fs::create_dir(&dst).map_err(|e| UmbraError::io("cannot create", &dst, e))?;
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| UmbraError::io("cannot set permissions on", &dst, e))?;
        let entries = match std::fs::read_dir(&src) {
            Ok(e) => e,
            // Unreadable directories are reported by the reader as unreadable in the live
            // tree's terms; here they are simply left empty.
            Err(_) => continue,
        };
        for entry in entries.filter_map(std::result::Result::ok) {
            let (s, d) = (entry.path(), dst.join(entry.file_name()));
            let Ok(meta) = std::fs::symlink_metadata(&s) else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                if meta.dev() == dev {
                    stack.push((s, d));
                }
            } else if ft.is_symlink() {
                if let Ok(target) = std::fs::read_link(&s) {
                    std::os::unix::fs::symlink(target, &d)
                        .map_err(|e| UmbraError::io("cannot create", &d, e))?;
                }
            } else if ft.is_file() {
                files.push((s, d));
            }
        }
    }
    clone_files(&files)?;
    for (src, dst) in dirs.into_iter().rev() {
        let attrs = std::fs::metadata(&src).and_then(|meta| {
            let d = File::open(&dst)?;
            if let Ok(s) = File::open(&src) {
                copy_xattrs(&s, &d)?;
            }
            copy_attributes(&d, &meta)
        });
        attrs.map_err(|e| UmbraError::io("cannot copy the attributes of", &src, e))?;
    }
    Ok(())
}

/// Clones `files` (source, destination), one after the other. (Four threads were
/// measured on btrfs: 6.8 → 6.7 s for 40,000 files; btrfs serialises the clones, so the
/// simple loop stays.)
fn clone_files(files: &[(PathBuf, PathBuf)]) -> Result<()> {
    for (s, d) in files {
        match clone_file(s, d) {
            Ok(()) => {}
            // Vanished, or unreadable: the reader reports it in the live tree's terms.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::EACCES | libc::EPERM)
                ) => {}
            Err(e) => return Err(UmbraError::io("cannot clone", s, e)),
        }
    }
    Ok(())
}

/// Makes every directory below `path` writable by us, so that it can be removed.
fn make_removable(path: &Path) {
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.filter_map(std::result::Result::ok) {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
}
