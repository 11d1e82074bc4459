//! Unix: std's extension traits and libc, as they are.

use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

pub(crate) use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};

use std::ffi::CString;

use rustic_core::repofile::{Metadata, Node};

use super::Advice;

/// Opens a source file to back it up, on Linux without touching its access time.
///
/// Reading a file moves its access time (under `relatime`, when it is older than the
/// modification or a day old), and some applications read it: a mail reader tells new mail
/// in an mbox by it, a temp cleaner what nobody used. A backup must leave them unknowing, as
/// restic and borg do with `O_NOATIME`. The kernel grants that flag only to the file's owner
/// or a process with `CAP_FOWNER`; for anyone else the file is opened as it always was.
pub(crate) fn open_for_backup(path: &std::path::Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        let noatime = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOATIME)
            .open(path);
        match noatime {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            opened => return opened,
        }
    }
    File::open(path)
}

/// `open` flag: fail instead of following a symlink in the last component.
pub(crate) const O_NOFOLLOW: i32 = libc::O_NOFOLLOW;

pub(crate) fn cpath(path: &Path) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// A read-ahead or cache hint for `len` bytes from `start` (`len` 0: to the end). Hints
/// that fail cost nothing.
pub(crate) fn advise(file: &File, start: u64, len: u64, advice: Advice) {
    let advice = match advice {
        Advice::Random => libc::POSIX_FADV_RANDOM,
        Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
        Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
    };
    let (Ok(start), Ok(len)) = (libc::off_t::try_from(start), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: an open descriptor; the kernel checks the range.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), start, len, advice) };
}

/// `EINVAL`: among others, the error of a direct read the filesystem does not take.
pub(crate) const EINVAL: i32 = libc::EINVAL;

/// Turns reading around the page cache (`O_DIRECT`) on or off for an open file; false
/// where the filesystem has no direct I/O or the flag could not be changed.
#[cfg(target_os = "linux")]
pub(crate) fn set_direct(file: &File, on: bool) -> bool {
    let fd = file.as_raw_fd();
    // SAFETY: an open descriptor; F_GETFL and F_SETFL read and set its status flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return false;
        }
        let flags = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        libc::fcntl(fd, libc::F_SETFL, flags) == 0
    }
}

/// Reading around the cache is Linux's `O_DIRECT`; elsewhere files are read as they are.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_direct(_file: &File, _on: bool) -> bool {
    false
}

/// Sets an open file's access and modification times (seconds, nanoseconds).
pub(crate) fn set_file_times(file: &File, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    let ts = |(sec, nsec): (i64, i64)| libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: nsec as libc::c_long,
    };
    let times = [ts(atime), ts(mtime)];
    // SAFETY: an open descriptor and two timespecs.
    if unsafe { libc::futimens(file.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the directory `path` writable by its owner when that is this process and it is
/// not writable now; returns the mode it had, to be given back. `None` when nothing was
/// changed (already writable, another's, or the change refused: the write that needs it
/// then fails with its own error).
pub(crate) fn open_up_own_dir(path: &Path) -> Option<u32> {
    let c = cpath(path).ok()?;
    // SAFETY: a valid path; `faccessat` only reads it.
    let writable = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    } == 0;
    if writable {
        return None;
    }
    let meta = std::fs::symlink_metadata(path).ok()?;
    // SAFETY: geteuid cannot fail.
    if !meta.is_dir() || meta.uid() != unsafe { libc::geteuid() } {
        return None;
    }
    let mode = meta.mode() & 0o7777;
    set_dir_mode(path, mode | 0o300).ok()?;
    Some(mode)
}

/// Sets a directory's permission bits.
pub(crate) fn set_dir_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Bytes available to an unprivileged writer on the file system holding `path`.
pub(crate) fn free_space(path: &Path) -> io::Result<u64> {
    let c = cpath(path)?;
    // SAFETY: zeroed is a valid statvfs; `c` is a valid path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

/// The tick of the clock a local filesystem stamps writes with (the kernel's coarse
/// clock: 4 ms at 250 Hz), if the filesystem holding `path` is a local one whose stamps
/// come from this machine's clock. `None` for a network or FUSE filesystem (a server's
/// clock and tick), or where either cannot be told.
#[cfg(target_os = "linux")]
pub(crate) fn local_stamp_tick(path: &Path) -> Option<std::time::Duration> {
    // Stamped by another machine or process: NFS, SMB/CIFS (two), FUSE, Ceph, 9P, AFS.
    const REMOTE: [u64; 7] = [
        0x6969,
        0xfe53_4d42,
        0xff53_4d42,
        0x6573_5546,
        0x00c3_6400,
        0x0102_1997,
        0x5346_414f,
    ];
    let c = cpath(path).ok()?;
    // SAFETY: zeroed is a valid statfs; `c` is a valid path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // `f_type` is a signed word on some targets: the magic is its low 32 bits.
    #[allow(clippy::unnecessary_cast)]
    let kind = st.f_type as u64 & 0xffff_ffff;
    if REMOTE.contains(&kind) {
        return None;
    }
    // SAFETY: zeroed is a valid timespec, filled in by the call.
    let mut res: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::clock_getres(libc::CLOCK_REALTIME_COARSE, &mut res) } != 0 {
        return None;
    }
    let nanos = u64::try_from(res.tv_nsec).ok()?;
    let secs = u64::try_from(res.tv_sec).ok()?;
    Some(std::time::Duration::from_secs(secs) + std::time::Duration::from_nanos(nanos))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn local_stamp_tick(_path: &Path) -> Option<std::time::Duration> {
    None
}

/// This process's id, user id and group id.
pub(crate) fn process_ids() -> (u32, u32, u32) {
    // SAFETY: cannot fail.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
    (pid as u32, uid, gid)
}

/// Did this error come from a read-only file system?
pub(crate) fn is_read_only_fs(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EROFS)
}

/// Did this error come from a full disk?
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == io::ErrorKind::StorageFull
}

/// The name of user `uid`, if it has one.
pub(crate) fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: zeroed is a valid passwd.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: valid buffers of the given length.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points into `buf`, NUL-terminated.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// The name of group `gid`, if it has one.
pub(crate) fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: zeroed is a valid group.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: valid buffers of the given length.
    let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success gr_name points into `buf`, NUL-terminated.
    let name = unsafe { std::ffi::CStr::from_ptr(grp.gr_name) };
    Some(name.to_string_lossy().into_owned())
}

/// The effective user's id.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

/// The name of the user umbra runs as (its effective uid), if the system has one.
pub(crate) fn current_user_name() -> Option<String> {
    user_name(effective_uid())
}

/// Creates the symlink `at` pointing to `target`.
pub(crate) fn make_symlink(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// Creates a device (`kind` S_IFBLK or S_IFCHR), fifo or socket node at `path`, mode 0600.
pub(crate) fn make_special(path: &Path, kind: u32, dev: u64) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid NUL-terminated path.
    let rc = unsafe { libc::mknod(c.as_ptr(), kind | 0o600, dev as libc::dev_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The time of a node as `timespec`, or `UTIME_OMIT`.
fn timespec(t: Option<jiff::Timestamp>) -> libc::timespec {
    match t {
        Some(t) => {
            let (sec, nsec) = super::unix_time(t);
            libc::timespec {
                tv_sec: sec as libc::time_t,
                tv_nsec: nsec as libc::c_long,
            }
        }
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    }
}

/// Sets owner (as root), permissions, extended attributes and times of `path`, in that
/// order (chown clears setuid bits, and every change but the last touches times).
/// Returns a description of each part that failed.
pub(crate) fn set_metadata(path: &Path, node: &Node, as_root: bool) -> Vec<String> {
    let mut failed = Vec::new();
    let meta: &Metadata = &node.meta;
    let Ok(c) = cpath(path) else {
        return vec!["the path contains a NUL byte".into()];
    };
    if as_root && (meta.uid.is_some() || meta.gid.is_some()) {
        if let Err(e) = std::os::unix::fs::lchown(path, meta.uid, meta.gid) {
            failed.push(format!("owner {:?}:{:?}: {e}", meta.uid, meta.gid));
        }
    }
    if !node.is_symlink() {
        if let Some(mode) = meta.mode {
            use std::os::unix::fs::PermissionsExt;
            let perm = crate::restore::target::unix_permissions(mode);
            if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm)) {
                failed.push(format!("mode {perm:o}: {e}"));
            }
        }
    }
    for xattr in &meta.extended_attributes {
        let value = xattr.value.as_deref().unwrap_or_default();
        let Ok(name) = CString::new(xattr.name.as_bytes()) else {
            continue;
        };
        // SAFETY: valid C strings and a buffer of the given length.
        let rc = unsafe {
            libc::lsetxattr(
                c.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            failed.push(format!(
                "extended attribute {}: {}",
                xattr.name,
                io::Error::last_os_error()
            ));
        }
    }
    if meta.mtime.is_some() || meta.atime.is_some() {
        let times = [timespec(meta.atime.or(meta.mtime)), timespec(meta.mtime)];
        // SAFETY: `c` is a valid path and `times` two valid timespecs.
        let rc = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            failed.push(format!("times: {}", io::Error::last_os_error()));
        }
    }
    failed
}
