//! Point-in-time sources: take a snapshot of each source's volume, present it for
//! reading, and always release it.
//!
//! - [`provider`]: the trait each method implements, one file per method ([`btrfs`],
//!   [`lvm`], [`zfs`], [`reflink`], [`direct`]).
//! - [`planner`]: chooses a method per source from the mount table and the policy
//!   (`--open-files auto|required|off`, `--snapshot METHOD`), and says why.
//! - [`set`]: the snapshot set, a guard that takes all snapshots back to back and
//!   releases them on drop, on a signal, or (through the [`registry`]) at the next run
//!   after a crash.
//! - [`base`]: snapshots kept after a successful backup as the base of the next one, so
//!   that only the changed extents of large files are read.
//! - [`mounts`]: the mount table.

pub mod base;
#[cfg(unix)]
pub mod btrfs;
pub mod direct;
pub mod lvm;
pub mod mounts;
pub mod planner;
pub mod provider;
#[cfg(unix)]
pub mod reflink;
pub mod registry;
pub mod set;
pub mod vss;
pub mod zfs;

use std::path::Path;

use umbra_core::{ErrorKind, Result, UmbraError};

pub use planner::{OpenFiles, Planner, SourceChoice};
pub use set::SnapshotSet;

/// Bind-mounts `from` read-only onto `to`.
#[cfg(unix)]
pub(crate) fn bind_mount_read_only(from: &Path, to: &Path) -> Result<()> {
    let (f, t) = (from.to_string_lossy(), to.to_string_lossy());
    provider::run("mount", &["--bind", &f, &t])?;
    // A bind mount takes the source's flags; read-only needs a remount.
    provider::run("mount", &["-o", "remount,bind,ro", &t]).map(|_| ())
}

/// Unmounts every mount under umbra's mount directory whose source `matches`, deepest
/// first. Releasing a snapshot starts with this: a mount may exist that no record names
/// (a `mount` command still running when umbra was killed finished afterwards).
pub(crate) fn unmount_sources(matches: impl Fn(&str) -> bool) -> Result<()> {
    let table = mounts::MountTable::read()?;
    let mut points: Vec<&Path> = table
        .mounts()
        .iter()
        .filter(|m| m.mount_point.starts_with(lvm::MOUNT_BASE) && matches(&m.source))
        .map(|m| m.mount_point.as_path())
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for p in points {
        unmount(p)?;
    }
    Ok(())
}

/// Unmounts `path`; succeeds if nothing is mounted there. A mount still in use (a
/// reader interrupted by a signal still has files open on it) is detached lazily: it
/// disappears from the tree at once, and the kernel finishes when the last file closes.
pub(crate) fn unmount(path: &Path) -> Result<()> {
    let mounted = mounts::MountTable::read()?.is_mount_point(path);
    if !mounted {
        return Ok(());
    }
    let p = path.to_string_lossy();
    if provider::run("umount", &[&p]).is_ok() {
        return Ok(());
    }
    provider::run("umount", &["-l", &p]).map(|_| ()).map_err(|e| {
        UmbraError::new(ErrorKind::Io, format!("cannot unmount {}: {}", path.display(), e.message()))
            .with_hint("A process may still use it: `fuser -vm PATH` shows which. Then run `umbra cleanup`.")
    })
}
