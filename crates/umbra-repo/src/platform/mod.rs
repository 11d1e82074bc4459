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

/// A time as the system calls take it: whole seconds rounded down, and the nanoseconds
/// after them (always 0 to 999,999,999).
///
/// `jiff` splits a time before 1970 towards zero instead (-0.25 s is 0 s and -250 ms), and
/// `utimensat` refuses negative nanoseconds: a file from 1969 could not be restored.
pub(crate) fn unix_time(t: jiff::Timestamp) -> (i64, i64) {
    let (sec, nsec) = (t.as_second(), i64::from(t.subsec_nanosecond()));
    if nsec < 0 {
        (sec - 1, nsec + 1_000_000_000)
    } else {
        (sec, nsec)
    }
}

#[cfg(test)]
mod tests {
    use super::unix_time;

    #[test]
    fn times_before_1970_keep_their_nanoseconds_positive() {
        let at = |s, ns| jiff::Timestamp::new(s, ns).expect("a valid time");
        assert_eq!(unix_time(at(1, 5)), (1, 5));
        assert_eq!(unix_time(at(0, 0)), (0, 0));
        // 1969-07-20T20:17:40.123456789Z, as stat(2) gives it.
        let moon = "1969-07-20T20:17:40.123456789Z".parse().expect("a time");
        assert_eq!(unix_time(moon), (-14_182_940, 123_456_789));
        assert_eq!(unix_time(at(0, -250_000_000)), (-1, 750_000_000));
        assert_eq!(unix_time(at(-3, 0)), (-3, 0));
    }
}
