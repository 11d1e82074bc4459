//! Cloning one file with `FICLONE`: the filesystem primitive behind the reflink method,
//! shared by the provider (which clones a whole tree at once when applications are held
//! still) and the reader (which clones each file at the moment it opens it).
//!
//! A clone shares the file's extents: it costs metadata, not data, and it is taken
//! atomically with respect to writes to the file (XFS and btrfs lock both inodes and flush
//! the source's dirty pages first).
//!
//! Windows has no `FICLONE` (ReFS's block cloning is a different call, not used yet): there
//! both functions answer `Unsupported`, and the planner never picks the reflink method.

#[cfg(windows)]
pub use windows::{clone_onto, unnamed_file};

#[cfg(windows)]
mod windows {
    use std::fs::File;
    use std::path::Path;

    fn unsupported() -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "reflink clones are not available on Windows",
        )
    }

    /// Always `Unsupported` on Windows.
    pub fn clone_onto(_src: &File, _dst: &File) -> std::io::Result<()> {
        Err(unsupported())
    }

    /// Always `Unsupported` on Windows.
    pub fn unnamed_file(_dir: &Path) -> std::io::Result<File> {
        Err(unsupported())
    }
}

#[cfg(unix)]
use std::fs::File;
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
#[cfg(unix)]
use std::os::unix::io::{AsRawFd, FromRawFd};
#[cfg(unix)]
use std::path::Path;

/// `_IOW(0x94, 9, int)`
#[cfg(unix)]
const FICLONE: libc::c_ulong = 0x4004_9409;

/// Makes `dst` (empty, open for writing) share all of `src`'s extents.
#[cfg(unix)]
pub fn clone_onto(src: &File, dst: &File) -> std::io::Result<()> {
    // SAFETY: both descriptors are open for the duration of the call.
    if unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE, src.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// An unnamed file in `dir` (`O_TMPFILE`), open for reading and writing, mode 0600. It
/// has no name to remove: it is freed when closed, and a crash cannot leave it behind.
/// Falls back to a named file that is unlinked at once, where the filesystem has no
/// `O_TMPFILE`.
#[cfg(unix)]
pub fn unnamed_file(dir: &Path) -> std::io::Result<File> {
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: a valid C string; the descriptor returned is owned by the File below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd >= 0 {
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        return Ok(unsafe { File::from_raw_fd(fd) });
    }
    let err = std::io::Error::last_os_error();
    if !matches!(
        err.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
    ) {
        return Err(err);
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}
