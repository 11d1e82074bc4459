//! `umbra mount`: a repository's snapshots as a read-only filesystem, laid out as restic's
//! mount lays them out (`ids/`, `snapshots/`, `hosts/`, `tags/`, each with `latest`), so
//! that a restic user finds files where they expect them and can copy out one file with
//! `cp`, compare versions with `diff -r`, or open an old database file in place.
//!
//! This crate only speaks FUSE; it reads through `umbra_repo::view` and reports through a
//! [`Monitor`]. It is Linux-only, and the one crate that depends on `fuser`.
//!
//! The mount is a guard: it is released when [`serve`] returns (after `umount`, or when
//! `stop` says so), and on SIGINT/SIGTERM through the interrupt registry, so no dead mount
//! ("Transport endpoint is not connected") is left behind by umbra itself.

mod fs;
mod inodes;

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fuser::MountOption;
use umbra_core::{ErrorKind, Monitor, Result, UmbraError};
use umbra_repo::view::RepoView;

/// Mounts `view` at `mountpoint`, calls `ready` with the number of snapshots once the
/// filesystem is mounted, and serves it until it is unmounted (`umount DIR`,
/// `fusermount3 -u DIR`) or `stop()` returns true (polled every 100 ms). Unmounts before
/// returning.
pub fn serve(
    view: RepoView,
    mountpoint: &Path,
    monitor: Arc<dyn Monitor>,
    ready: impl FnOnce(usize),
    stop: impl Fn() -> bool,
) -> Result<()> {
    // A dead mount left at this place by a killed umbra would make the mount point
    // unusable ("Transport endpoint is not connected").
    let _ = release_dead_mounts();
    check_mountpoint(mountpoint)?;
    let inodes = inodes::Inodes::new(&view);
    let snapshots = view.snapshots().len();
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let fs = fs::SnapshotFs {
        view,
        inodes,
        monitor: Arc::clone(&monitor),
        uid,
        gid,
    };
    let options = [
        MountOption::RO,
        MountOption::FSName("umbra".into()),
        MountOption::Subtype("umbra".into()),
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::DefaultPermissions,
    ];
    let session = fuser::spawn_mount2(fs, mountpoint, &options).map_err(|e| {
        UmbraError::io("cannot mount", mountpoint, e).with_hint(
            "umbra mount needs /dev/fuse; as a user other than root it also needs \
             `fusermount3` (Debian: `apt install fuse3`).",
        )
    })?;
    let path = mountpoint.to_path_buf();
    let _registration = umbra_core::interrupt::on_interrupt(
        format!("the mount at {}", mountpoint.display()),
        move || unmount(&path),
    );
    ready(snapshots);
    while !session.guard.is_finished() && !stop() {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Dropping the session unmounts (if still mounted) and ends its thread.
    session.join();
    Ok(())
}

/// Releases umbra mounts whose umbra process is gone (killed with SIGKILL, or crashed):
/// their directory answers "Transport endpoint is not connected". Mounts of running umbra
/// processes answer normally and are left alone. Returns the mount points released.
#[must_use]
pub fn release_dead_mounts() -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut released = Vec::new();
    for line in info.lines() {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER"
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        // Mounted with mount(2) the type is `fuse` and the source `umbra` (our FSName);
        // through fusermount3 the type is `fuse.umbra`.
        let mut fields = right.split(' ');
        let (fstype, source) = (fields.next(), fields.next());
        if fstype != Some("fuse.umbra") && !(fstype == Some("fuse") && source == Some("umbra")) {
            continue;
        }
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let path = PathBuf::from(unescape(point));
        if release_if_dead(&path) {
            released.push(path);
        }
    }
    released
}

/// Unmounts the mount at `path` if it is dead; returns whether it was.
///
/// Every `umbra backup`, `mount` and `cleanup` releases dead mounts, so two of them may
/// race: one releases a dead mount and mounts a live one at the same place while another,
/// which saw the dead mount a moment before, unmounts "the mount at `path`", which is the
/// live one by then (seen once in the mount tests: a fresh mount gone under its test). So
/// the mount found dead is held open (`O_PATH`, which asks nothing of the filesystem), and
/// that very mount is unmounted, through `/proc/self/fd`, never whatever `path` leads to.
fn release_if_dead(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid path; the descriptor is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        // Not reachable to hold: unmount by name if the name itself says it is dead.
        let dead = std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOTCONN);
        if dead {
            unmount(path);
        }
        return dead;
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let held = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let dead = std::fs::metadata(&held)
        .err()
        .and_then(|e| e.raw_os_error())
        == Some(libc::ENOTCONN);
    if dead && !detach(&held) {
        // Without root: fusermount3 knows only names.
        unmount(path);
    }
    dead
}

/// `umount2(MNT_DETACH)` of exactly the mount `path` names; false if refused.
fn detach(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) == 0 }
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(u8::is_ascii_digit)
        {
            let n = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(n);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_mountpoint(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| {
        UmbraError::io("cannot use the mount point", path, e)
            .with_hint("Create the directory first: `mkdir DIR`.")
    })?;
    if !meta.is_dir() {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            format!("the mount point {} is not a directory", path.display()),
        ));
    }
    Ok(())
}

/// Unmounts `path` lazily: umount2(MNT_DETACH) as root, `fusermount3 -uz` otherwise.
fn unmount(path: &Path) {
    if detach(path) {
        return;
    }
    for bin in ["fusermount3", "fusermount"] {
        let ok = std::process::Command::new(bin)
            .arg("-uz")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape("/tmp/a\\040b\\011c"), "/tmp/a b\tc");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/end\\04"), "/end\\04");
    }
}
