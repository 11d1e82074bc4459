//! Restoring a snapshot into a directory.
//!
//! rustic_core restores contents, directories, symlinks, hardlinks, ownership (as root),
//! modes, times, xattrs and sparse files. What we add:
//! - nothing is ever written outside the target: every path the snapshot yields must be a
//!   plain relative path before rustic_core sees it, so a crafted snapshot with `..` or
//!   absolute names fails instead of escaping;
//! - a full disk gives a clear error: rustic_core's writer threads panic on a failed
//!   write, so we catch that and look at the target's free space.

use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};

use rustic_core::repofile::Node;
use rustic_core::{
    ErrorKind as RKind, Excludes, LocalDestination, LsOptions, RestoreOptions, RusticError,
    RusticResult,
};
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// What to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    /// Snapshot id, prefix, `latest` or `latest~N`; optionally `ID:PATH` for a subtree.
    pub snapshot: String,
    pub target: PathBuf,
    /// Only paths matching these globs (restic's `--include`).
    pub includes: Vec<String>,
    /// Leave out paths matching these globs.
    pub excludes: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct RestoreOutcome {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
}

/// Rejects any path that could lead outside the restore target.
pub(crate) fn confined(item: RusticResult<(PathBuf, Node)>) -> RusticResult<(PathBuf, Node)> {
    let (path, node) = item?;
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)))
        && !node.name().to_string_lossy().contains('/');
    if plain {
        Ok((path, node))
    } else {
        Err(RusticError::new(
            RKind::InvalidInput,
            "refusing to restore `{path}`: the name would lead outside the target directory",
        )
        .attach_context("path", path.display().to_string()))
    }
}

/// Excludes for rustic's tree streamer: includes are whitelist globs, excludes are `!glob`.
pub(crate) fn globs(includes: &[String], excludes: &[String]) -> Excludes {
    let mut e = Excludes::default();
    e.globs = includes
        .iter()
        .cloned()
        .chain(excludes.iter().map(|g| format!("!{g}")))
        .collect();
    e
}

fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail * st.f_frsize)
}

impl Repo {
    /// Restores `request.snapshot` into `request.target`.
    pub fn restore(self, request: &RestoreRequest) -> Result<RestoreOutcome> {
        let Repo { inner, lock, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let node = repo
            .node_from_snapshot_path(&request.snapshot, |_| true)
            .map_err(|e| {
                let err = from_rustic(&format!("cannot find `{}`", request.snapshot), e);
                UmbraError::new(ErrorKind::NotFound, err.message().to_string()).with_source(err)
            })?;
        let mut ls_opts = LsOptions::default();
        ls_opts.excludes = globs(&request.includes, &request.excludes);
        let ls = repo
            .ls(&node, &ls_opts)
            .map_err(rustic("cannot read the snapshot's tree"))?
            .map(confined as fn(_) -> _);
        std::fs::create_dir_all(&request.target)
            .map_err(|e| UmbraError::io("cannot create the restore target", &request.target, e))?;
        let mut target = request.target.to_string_lossy().into_owned();
        if node.is_dir() && !target.ends_with('/') {
            target.push('/');
        }
        let dest = LocalDestination::new(&target, true, !node.is_dir())
            .map_err(rustic("cannot use the restore target"))?;
        let mut opts = RestoreOptions::default();
        // `SparseRestore` is not exported by rustic_core; it deserialises from its name.
        opts.sparse = serde_json::from_str("\"ByContent\"").ok();
        let plan = repo
            .prepare_restore(&opts, ls.clone(), &dest, false)
            .map_err(|e| from_rustic("cannot plan the restore", e))?;
        let outcome = RestoreOutcome {
            files: plan.stats.files.restore + plan.stats.files.unchanged,
            dirs: plan.stats.dirs.restore + plan.stats.dirs.unchanged,
            bytes: plan.restore_size,
        };
        if let Some(free) = free_bytes(&request.target) {
            if free < plan.restore_size {
                return Err(UmbraError::new(
                    ErrorKind::DiskFull,
                    format!(
                        "the restore needs {} bytes but {} has only {free} bytes free",
                        plan.restore_size,
                        request.target.display()
                    ),
                ));
            }
        }
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| repo.restore(plan, &opts, ls, &dest)));
        drop(lock);
        match result {
            Ok(Ok(())) => Ok(outcome),
            Ok(Err(e)) => Err(from_rustic("the restore failed", e)),
            Err(_) if free_bytes(&request.target) == Some(0) => Err(UmbraError::new(
                ErrorKind::DiskFull,
                format!(
                    "the restore failed: no space left on the device holding {}",
                    request.target.display()
                ),
            )),
            Err(_) => Err(UmbraError::new(
                ErrorKind::Io,
                format!(
                    "the restore failed while writing into {}",
                    request.target.display()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustic_core::repofile::{Metadata, NodeType};

    fn item(path: &str, name: &str) -> RusticResult<(PathBuf, Node)> {
        Ok((
            PathBuf::from(path),
            Node::new_node(
                std::ffi::OsStr::new(name),
                NodeType::File,
                Metadata::default(),
            ),
        ))
    }

    #[test]
    fn plain_relative_paths_pass() {
        assert!(confined(item("srv/data/a.txt", "a.txt")).is_ok());
    }

    #[test]
    fn paths_that_escape_the_target_are_refused() {
        assert!(confined(item("../etc/passwd", "passwd")).is_err());
        assert!(confined(item("/etc/passwd", "passwd")).is_err());
        assert!(confined(item("srv/../../x", "x")).is_err());
    }
}
