//! The file-system and process calls that differ between Unix and Windows, in one place.
//!
//! Everything else in this crate is written once, against these names: the Unix ones are
//! std's and libc's own (`MetadataExt`, `OpenOptionsExt`, `read_at`, `posix_fadvise`); the
//! Windows ones give the same shape from what Windows has, and say plainly what it lacks
//! (no inode numbers or owners in `std`, no umask, no device nodes, no read-ahead hints).
//! Keeping the split here means that restore, the read source and the lock code carry no
//! `cfg` of their own.

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
pub(crate) use unix::*;
#[cfg(windows)]
pub(crate) use windows::*;

/// File type bits of `st_mode`, as every Unix numbers them (and as the Windows side
/// synthesises them, so that nodes are built the same way on both).
pub(crate) const S_IFMT: u32 = 0o170_000;
pub(crate) const S_IFSOCK: u32 = 0o140_000;
pub(crate) const S_IFLNK: u32 = 0o120_000;
#[cfg_attr(unix, allow(dead_code))]
pub(crate) const S_IFREG: u32 = 0o100_000;
pub(crate) const S_IFBLK: u32 = 0o060_000;
pub(crate) const S_IFDIR: u32 = 0o040_000;
pub(crate) const S_IFCHR: u32 = 0o020_000;
pub(crate) const S_IFIFO: u32 = 0o010_000;
pub(crate) const S_ISUID: u32 = 0o4000;
pub(crate) const S_ISGID: u32 = 0o2000;
pub(crate) const S_ISVTX: u32 = 0o1000;

/// How a file will be read, for [`advise`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Advice {
    Random,
    WillNeed,
    DontNeed,
}
