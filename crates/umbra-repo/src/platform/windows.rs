//! Windows: the Unix shapes rebuilt from what `std` and the Win32 API give.
//!
//! What Windows lacks is answered plainly, never faked into something a restore would
//! trust: there are no owners or groups here (uid and gid 0, no names), no inode or device
//! numbers through stable `std` (0, so hard links are not detected and change detection
//! rests on size and times), and no read-ahead hints (ignored). Modes are synthesised as
//! Go's `os.Stat` does on Windows, which is what restic records: directories and symlinks
//! 0777, files 0666, or 0444 when read-only.

use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::os::windows::fs::MetadataExt as _;
use std::path::Path;

use rustic_core::repofile::Node;

use super::{Advice, S_IFDIR, S_IFLNK, S_IFREG};

/// `FILE_FLAG_OPEN_REPARSE_POINT`: open a symlink (reparse point) itself, never its
/// target; the counterpart of `O_NOFOLLOW`.
pub(crate) const O_NOFOLLOW: i32 = 0x0020_0000;
const FILE_ATTRIBUTE_READONLY: u32 = 0x1;
const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x10;
/// Seconds between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const EPOCH_DIFF: i64 = 11_644_473_600;

/// `st_mode`, times and ids in Unix's shape.
pub(crate) trait MetadataExt {
    fn mode(&self) -> u32;
    fn uid(&self) -> u32;
    fn gid(&self) -> u32;
    fn mtime(&self) -> i64;
    fn mtime_nsec(&self) -> i64;
    fn atime(&self) -> i64;
    fn atime_nsec(&self) -> i64;
    fn ctime(&self) -> i64;
    fn ctime_nsec(&self) -> i64;
    fn ino(&self) -> u64;
    fn dev(&self) -> u64;
    fn nlink(&self) -> u64;
}

fn filetime_secs(ft: u64) -> i64 {
    (ft / 10_000_000) as i64 - EPOCH_DIFF
}

fn filetime_nsec(ft: u64) -> i64 {
    ((ft % 10_000_000) * 100) as i64
}

impl MetadataExt for Metadata {
    fn mode(&self) -> u32 {
        let attrs = self.file_attributes();
        if attrs & FILE_ATTRIBUTE_REPARSE_POINT != 0 && self.file_type().is_symlink() {
            S_IFLNK | 0o777
        } else if attrs & FILE_ATTRIBUTE_DIRECTORY != 0 {
            S_IFDIR | 0o777
        } else if attrs & FILE_ATTRIBUTE_READONLY != 0 {
            S_IFREG | 0o444
        } else {
            S_IFREG | 0o666
        }
    }
    fn uid(&self) -> u32 {
        0
    }
    fn gid(&self) -> u32 {
        0
    }
    fn mtime(&self) -> i64 {
        filetime_secs(self.last_write_time())
    }
    fn mtime_nsec(&self) -> i64 {
        filetime_nsec(self.last_write_time())
    }
    fn atime(&self) -> i64 {
        filetime_secs(self.last_access_time())
    }
    fn atime_nsec(&self) -> i64 {
        filetime_nsec(self.last_access_time())
    }
    // restic on Windows records the last write time as the change time, too.
    fn ctime(&self) -> i64 {
        self.mtime()
    }
    fn ctime_nsec(&self) -> i64 {
        self.mtime_nsec()
    }
    fn ino(&self) -> u64 {
        0
    }
    fn dev(&self) -> u64 {
        0
    }
    fn nlink(&self) -> u64 {
        1
    }
}

/// Opens a source file to back it up: sharing reading, writing and deleting with the
/// applications that have it open (std's default), and with backup semantics, so that an
/// elevated umbra (which holds `SeBackupPrivilege`) reads what the file's ACL would deny.
/// A file another process holds without sharing still fails, with a sharing violation.
pub(crate) fn open_for_backup(path: &Path) -> io::Result<File> {
    /// `FILE_FLAG_BACKUP_SEMANTICS`
    const BACKUP_SEMANTICS: u32 = 0x0200_0000;
    let mut options = OpenOptions::new();
    options.read(true);
    std::os::windows::fs::OpenOptionsExt::custom_flags(&mut options, BACKUP_SEMANTICS);
    options.open(path)
}

/// `mode` and `custom_flags` as on Unix; modes are ignored (files take the folder's ACL).
pub(crate) trait OpenOptionsExt {
    fn mode(&mut self, mode: u32) -> &mut Self;
    fn custom_flags(&mut self, flags: i32) -> &mut Self;
}

impl OpenOptionsExt for OpenOptions {
    fn mode(&mut self, _mode: u32) -> &mut Self {
        self
    }
    fn custom_flags(&mut self, flags: i32) -> &mut Self {
        std::os::windows::fs::OpenOptionsExt::custom_flags(self, flags as u32)
    }
}

/// `mode` as on Unix; ignored.
pub(crate) trait DirBuilderExt {
    fn mode(&mut self, mode: u32) -> &mut Self;
}

impl DirBuilderExt for DirBuilder {
    fn mode(&mut self, _mode: u32) -> &mut Self {
        self
    }
}

/// Positional reads and writes, as on Unix (Windows' moves the file pointer too, which
/// no caller relies on).
pub(crate) trait FileExt {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;
    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl FileExt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_write(self, buf, offset)
    }
}

/// No read-ahead hints on Windows.
pub(crate) fn advise(_file: &File, _start: u64, _len: u64, _advice: Advice) {}

/// `EINVAL` (never seen here: files are not read around the cache on Windows).
pub(crate) const EINVAL: i32 = 22;

/// Reading around the cache is Linux's `O_DIRECT`; here files are read as they are.
pub(crate) fn set_direct(_file: &File, _on: bool) -> bool {
    false
}

fn system_time(sec: i64, nsec: i64) -> std::time::SystemTime {
    let base = std::time::UNIX_EPOCH;
    let nanos = std::time::Duration::from_nanos(nsec.clamp(0, 999_999_999) as u64);
    if sec >= 0 {
        base + std::time::Duration::from_secs(sec as u64) + nanos
    } else {
        base - std::time::Duration::from_secs(sec.unsigned_abs()) + nanos
    }
}

/// Sets an open file's access and modification times (seconds, nanoseconds).
pub(crate) fn set_file_times(file: &File, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    let times = std::fs::FileTimes::new()
        .set_accessed(system_time(atime.0, atime.1))
        .set_modified(system_time(mtime.0, mtime.1));
    file.set_times(times)
}

/// Sets the times of the file, directory or symlink at `path` (without following it).
pub(crate) fn set_path_times(path: &Path, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    use std::os::windows::fs::OpenOptionsExt as WindowsOpen;
    /// `FILE_WRITE_ATTRIBUTES`
    const WRITE_ATTRIBUTES: u32 = 0x100;
    /// `FILE_FLAG_BACKUP_SEMANTICS`, needed to open a directory.
    const BACKUP_SEMANTICS: u32 = 0x0200_0000;
    let mut options = OpenOptions::new();
    WindowsOpen::access_mode(&mut options, WRITE_ATTRIBUTES);
    WindowsOpen::custom_flags(&mut options, BACKUP_SEMANTICS | O_NOFOLLOW as u32);
    let file = options.open(path)?;
    set_file_times(&file, atime, mtime)
}

/// Windows stamps from a clock whose tick is not asked for here: the plain margin applies.
pub(crate) fn local_stamp_tick(_path: &Path) -> Option<std::time::Duration> {
    None
}

/// Windows ignores a directory's read-only attribute for what is created in it: nothing
/// to open up.
pub(crate) fn open_up_own_dir(_path: &Path) -> Option<u32> {
    None
}

pub(crate) fn set_dir_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Bytes available to this user on the volume holding `path`.
pub(crate) fn free_space(path: &Path) -> io::Result<u64> {
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut available = 0u64;
    // SAFETY: a NUL-terminated wide path and a valid out pointer; the others may be null.
    let ok = unsafe {
        windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut available,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(available)
}

/// This process's id; Windows has no numeric user or group ids (0).
pub(crate) fn process_ids() -> (u32, u32, u32) {
    (std::process::id(), 0, 0)
}

/// Did this error come from a write-protected volume?
pub(crate) fn is_read_only_fs(e: &io::Error) -> bool {
    // ERROR_WRITE_PROTECT
    e.raw_os_error() == Some(19)
}

/// Did this error come from a full disk?
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    // ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL
    matches!(e.raw_os_error(), Some(39 | 112)) || e.kind() == io::ErrorKind::StorageFull
}

/// Windows users have SIDs, not numeric ids: no name for a uid.
pub(crate) fn user_name(_uid: u32) -> Option<String> {
    None
}

/// Windows groups have SIDs, not numeric ids: no name for a gid.
pub(crate) fn group_name(_gid: u32) -> Option<String> {
    None
}

/// The user umbra runs as, by name (`USERNAME`), for snapshots, keys and locks.
pub(crate) fn current_user_name() -> Option<String> {
    std::env::var("USERNAME").ok().filter(|u| !u.is_empty())
}

/// No numeric user id on Windows.
pub(crate) fn effective_uid() -> u32 {
    0
}

/// Creates the symlink `at` pointing to `target`: a directory link when `target` (taken
/// relative to `at`'s folder) is a directory now, a file link otherwise. Windows allows
/// this to administrators and in developer mode.
pub(crate) fn make_symlink(target: &Path, at: &Path) -> io::Result<()> {
    let resolved = at
        .parent()
        .map_or_else(|| target.to_path_buf(), |p| p.join(target));
    if resolved.is_dir() {
        std::os::windows::fs::symlink_dir(target, at)
    } else {
        std::os::windows::fs::symlink_file(target, at)
    }
}

/// Windows has no device, fifo or socket nodes.
pub(crate) fn make_special(_path: &Path, _kind: u32, _dev: u64) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "device, fifo and socket entries cannot be created on Windows",
    ))
}

/// Sets the times and the read-only attribute (a mode without any write bit) of `path`,
/// in that order. Owners, groups and extended attributes recorded on Unix have no
/// Windows counterpart here and are left out. Returns a description of each part that
/// failed.
pub(crate) fn set_metadata(path: &Path, node: &Node, _as_root: bool) -> Vec<String> {
    let mut failed = Vec::new();
    let meta = &node.meta;
    if let Some(mtime) = meta.mtime {
        let atime = meta.atime.unwrap_or(mtime);
        if let Err(e) = set_path_times(path, super::unix_time(atime), super::unix_time(mtime)) {
            failed.push(format!("times: {e}"));
        }
    }
    if node.is_file() {
        if let Some(mode) = meta.mode {
            let read_only = mode & 0o222 == 0;
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.permissions().readonly() != read_only => {
                    let mut perm = m.permissions();
                    perm.set_readonly(read_only);
                    if let Err(e) = std::fs::set_permissions(path, perm) {
                        failed.push(format!("read-only attribute: {e}"));
                    }
                }
                Ok(_) => {}
                Err(e) => failed.push(format!("attributes: {e}")),
            }
        }
    }
    failed
}
