//! Restoring a snapshot into a directory: umbra's own restorer.
//!
//! Restore is the moment a backup proves its worth, so it is written here rather than
//! borrowed (see `contents` for why rustic_core's is not enough). The promises:
//! - **Nothing is written outside the target** (`target`): no `..` or absolute name from
//!   a snapshot, no symlink or hardlink in the target is ever written through.
//! - **Everything that can be restored is**: a damaged pack or blob makes the files that
//!   need it *damaged*; they are named with what they lack, their partial content is kept
//!   as `NAME.umbra-damaged` (never a silently zero-filled file at the real name), and
//!   the rest of the restore goes on. So it does past an entry the target refuses (named
//!   in `not_restored`); only a full or read-only target stops it. Read-only directories
//!   of the user's own are opened up while written into (`Target::open_up`).
//! - **Files are replaced whole**: content goes into `.NAME.umbra-restore` and is renamed
//!   into place when complete, so an interrupted restore leaves old files or new files,
//!   not mixtures.
//! - **Overwrite behaviour is restic 0.17's** ([`Overwrite`]), `--delete` removes what the
//!   snapshot does not have.
//! - **Metadata is the snapshot's**: owner (as root, numeric ids as restic does), mode,
//!   extended attributes, times; directories last, deepest first, so that writing into
//!   them does not change their times again.

mod contents;
mod decide;
mod delete;
pub(crate) mod target;

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use rustic_core::repofile::Node;
use rustic_core::{Excludes, LsOptions};
use umbra_core::{ErrorKind, ProgressKind, Result, UmbraError};

use crate::crypto::FileCrypto;
use crate::error::{from_rustic, rustic};
use crate::repo::Repo;
use contents::{ContentPlan, FileJob};
pub(crate) use target::go_mode;
use target::Target;

/// What to do with a file that already exists in the target (restic 0.17's `--overwrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Replace every existing file whose content differs (checked blob by blob); files
    /// whose content is already right are kept and get the snapshot's metadata.
    #[default]
    Always,
    /// Like `Always`, but a file with the snapshot's size and mtime is taken as right
    /// without reading it.
    IfChanged,
    /// Replace an existing file only when the snapshot's is newer (mtime).
    IfNewer,
    /// Never replace anything that exists.
    Never,
}

impl std::str::FromStr for Overwrite {
    type Err = UmbraError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "always" => Ok(Self::Always),
            "if-changed" => Ok(Self::IfChanged),
            "if-newer" => Ok(Self::IfNewer),
            "never" => Ok(Self::Never),
            other => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("unknown overwrite mode `{other}`"),
            )
            .with_hint("Use one of always, if-changed, if-newer, never.")),
        }
    }
}

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
    pub overwrite: Overwrite,
    /// Remove what the target has and the snapshot does not.
    pub delete: bool,
    /// Decide everything, change nothing.
    pub dry_run: bool,
    /// Do not compare what will be written with the target's free space.
    pub skip_space_check: bool,
}

/// A file that could not be restored completely.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DamagedFile {
    /// Relative to the target.
    pub path: PathBuf,
    /// Bytes of its content that could not be read.
    pub missing_bytes: u64,
    /// Why, for the first piece that failed.
    pub reason: String,
    /// Where what could be read was kept (relative to the target), if anywhere.
    pub partial: Option<PathBuf>,
}

/// What a restore did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RestoreOutcome {
    /// Files whose content was written completely.
    pub files: u64,
    /// Files that were already right (content kept, metadata set).
    pub unchanged: u64,
    /// Existing entries the overwrite policy left alone.
    pub skipped: u64,
    pub dirs: u64,
    /// Symlinks, hardlinks, devices, fifos and sockets.
    pub other: u64,
    /// Content bytes written.
    pub bytes: u64,
    /// Entries removed by `--delete` (relative to the target).
    pub deleted: Vec<PathBuf>,
    pub damaged: Vec<DamagedFile>,
    /// Entries restored without some of their metadata, and extra entries `--delete`
    /// could not remove: path and what failed.
    pub problems: Vec<(PathBuf, String)>,
    /// Entries the target would not take (a permission, a name its filesystem refuses):
    /// path and why. The restore goes on without them; for a directory, without what is
    /// below it.
    pub not_restored: Vec<(PathBuf, String)>,
}

/// What the restore does with one entry of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Dir,
    /// Write the content (job index into the file jobs).
    Write(usize),
    /// Already right: metadata only.
    Keep,
    /// A further name of the file at this entry index.
    Link(usize),
    /// A symlink or special file, created (or already right).
    Made,
    /// Left alone (overwrite policy, a blocked parent, or refused: named in `not_restored`).
    Skip,
}

/// Rejects any path that could lead outside the restore target.
fn confined(path: &Path, node: &Node) -> Result<()> {
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)))
        && !node.name().to_string_lossy().contains('/');
    if plain {
        Ok(())
    } else {
        Err(UmbraError::new(
            ErrorKind::RepositoryDamaged,
            format!(
                "refusing to restore `{}`: the name would lead outside the target directory",
                path.display()
            ),
        )
        .with_hint("The snapshot holds a crafted or damaged name; nothing was written."))
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
    crate::platform::free_space(path).ok()
}

/// Whether a failure with one entry stops the whole restore: the target as a whole takes
/// nothing more (full, read-only). Any other (a permission, a name the filesystem refuses)
/// is that entry's: it is named and the restore goes on, as restic's does.
fn stops_the_restore(e: &std::io::Error) -> bool {
    crate::platform::is_disk_full(e) || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
}

/// Why an entry was not restored, as the summary lists it.
fn refusal(node: &Node, e: &std::io::Error) -> String {
    if node.is_dir() {
        format!("{e} (nor anything below it)")
    } else {
        e.to_string()
    }
}

fn io_error(doing: &str, path: &Path, e: &std::io::Error) -> UmbraError {
    if crate::platform::is_disk_full(e) {
        return UmbraError::new(
            ErrorKind::DiskFull,
            format!(
                "the restore failed: no space left on the device holding {}",
                path.display()
            ),
        )
        .with_hint(
            "Free space on the target's disk (files already restored are complete; the \
             unfinished ones are `.NAME.umbra-restore`), then run the restore again.",
        );
    }
    UmbraError::new(ErrorKind::Io, format!("{doing} {}: {e}", path.display()))
}

fn hardlink_key(node: &Node) -> Option<(u64, u64)> {
    (node.is_file() && node.meta.links > 1 && node.meta.inode != 0)
        .then_some((node.meta.device_id, node.meta.inode))
}

fn is_root() -> bool {
    // Windows: owners are not restored there (platform::set_metadata), whatever this says.
    umbra_core::os::is_privileged()
}

impl Repo {
    /// Restores `request.snapshot` into `request.target`.
    ///
    /// Returns an error only when the restore could not go on (the snapshot cannot be
    /// found, the target cannot be written, the disk is full). Damaged files and missing
    /// metadata are in the outcome: the caller decides how loudly to fail.
    pub fn restore(self, request: &RestoreRequest) -> Result<RestoreOutcome> {
        if request.delete && !(request.includes.is_empty() && request.excludes.is_empty()) {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                "--delete cannot be combined with --include or --exclude",
            )
            .with_hint(
                "Restore a subtree with `SNAPSHOT:PATH` and --delete instead, or leave out \
                 --delete.",
            ));
        }
        let backend = self.location.backends()?.repository();
        let crypto = FileCrypto::new(&self.inner.key())?;
        let snap = self.find(crate::browse::snapshot_part(&request.snapshot))?;
        let Repo {
            inner,
            lock,
            monitor,
            ..
        } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let node = crate::browse::node_at(&repo, &snap, &request.snapshot)?;
        let mut outcome = RestoreOutcome::default();

        // The entries, in tree order (parents before children).
        let mut entries: Vec<(PathBuf, Node)> = Vec::new();
        if node.is_dir() {
            let mut ls_opts = LsOptions::default();
            ls_opts.excludes = globs(&request.includes, &request.excludes);
            let ls = repo
                .ls(&node, &ls_opts)
                .map_err(rustic("cannot read the snapshot's tree"))?;
            for item in ls {
                match item {
                    Ok((path, node)) => {
                        confined(&path, &node)?;
                        entries.push((path, node));
                    }
                    Err(e) => {
                        let err = from_rustic("a directory of the snapshot cannot be read", e);
                        outcome
                            .problems
                            .push((PathBuf::new(), err.message().to_string()));
                    }
                }
            }
        } else {
            let path = PathBuf::from(node.name().into_owned());
            confined(&path, &node)?;
            entries.push((path, node));
        }

        if !request.dry_run {
            std::fs::create_dir_all(&request.target).map_err(|e| {
                UmbraError::io("cannot create the restore target", &request.target, e)
            })?;
        }
        let mut target = Target::new(
            request.target.clone(),
            request.overwrite != Overwrite::Never,
            request.dry_run,
        );

        // 1. Structure: directories, symlinks, special files; decide each file.
        let mut actions = Vec::with_capacity(entries.len());
        let mut jobs: Vec<FileJob> = Vec::new();
        let mut pending = target::PendingTemps::default();
        let mut job_entries: Vec<usize> = Vec::new();
        let mut content = ContentPlan::default();
        let mut canonical: HashMap<(u64, u64), usize> = HashMap::new();
        let mut blocked: Vec<PathBuf> = Vec::new();
        let mut refused: Vec<PathBuf> = Vec::new();
        for (i, (rel, node)) in entries.iter().enumerate() {
            if refused.iter().any(|b| rel.starts_with(b)) {
                actions.push(Action::Skip);
                continue;
            }
            if blocked.iter().any(|b| rel.starts_with(b)) {
                outcome.skipped += 1;
                actions.push(Action::Skip);
                continue;
            }
            let action = match decide::plan_entry(
                &repo,
                &mut target,
                request.overwrite,
                i,
                rel,
                node,
                &mut canonical,
            ) {
                Ok(a) => a,
                Err(e) if stops_the_restore(&e) => {
                    return Err(io_error("cannot restore", &target.full(rel), &e))
                }
                Err(e) => {
                    if node.is_dir() {
                        refused.push(rel.clone());
                    }
                    outcome.not_restored.push((rel.clone(), refusal(node, &e)));
                    actions.push(Action::Skip);
                    continue;
                }
            };
            let action = match action {
                decide::Planned::Blocked => {
                    blocked.push(rel.clone());
                    outcome.skipped += 1;
                    Action::Skip
                }
                decide::Planned::Do(Action::Write(_)) => {
                    let tmp = match target.create_temp(rel, node.meta.size) {
                        Ok(tmp) => tmp,
                        Err(e) if stops_the_restore(&e) => {
                            return Err(io_error("cannot create", &target.temp_for(rel), &e))
                        }
                        Err(e) => {
                            let _ = std::fs::remove_file(target.temp_for(rel));
                            outcome.not_restored.push((rel.clone(), refusal(node, &e)));
                            actions.push(Action::Skip);
                            continue;
                        }
                    };
                    if !request.dry_run {
                        pending.add(tmp.clone());
                    }
                    let job = jobs.len();
                    jobs.push(FileJob::new(tmp));
                    job_entries.push(i);
                    decide::plan_content(&repo, node, job, &jobs[job], &mut content);
                    Action::Write(job)
                }
                decide::Planned::Do(a) => a,
            };
            match action {
                Action::Dir => outcome.dirs += 1,
                Action::Write(_) => outcome.files += 1,
                Action::Keep => outcome.unchanged += 1,
                Action::Link(_) | Action::Made => outcome.other += 1,
                Action::Skip => {}
            }
            actions.push(action);
        }
        outcome.bytes = content.bytes;
        if request.dry_run {
            drop(lock);
            return Ok(outcome);
        }
        // What will be written: runs of zeros stay holes in the target and take no space.
        let needed = content.bytes.saturating_sub(content.hole_bytes);
        if let Some(free) = free_bytes(&request.target).filter(|_| !request.skip_space_check) {
            if free < needed {
                return Err(UmbraError::new(
                    ErrorKind::DiskFull,
                    format!(
                        "the restore needs {needed} bytes ({} of content, {} of it zeros \
                         written as holes) but {} has only {free} bytes free",
                        content.bytes,
                        content.hole_bytes,
                        request.target.display()
                    ),
                )
                .with_hint(
                    "Free space on the target's disk, or restore somewhere else. If the \
                     target's filesystem compresses or deduplicates, `--skip-space-check` \
                     restores anyway (a full disk then stops the restore, and files \
                     already restored stay complete).",
                ));
            }
        }

        // 2. Contents.
        let task = monitor.start_task(ProgressKind::Bytes, "restoring file contents");
        let readers = contents::readers(self.location.local_path().is_none());
        let written =
            contents::write_contents(content, &jobs, &backend, &crypto, task.as_ref(), readers);
        task.finish();
        if let Err(e) = written {
            return Err(io_error("the restore failed:", &request.target, &e));
        }

        // 3. Files into place; damaged ones beside it.
        let mut damaged_entries = HashSet::new();
        let mut refused_files = HashSet::new();
        for (job, &i) in jobs.iter().zip(&job_entries) {
            let rel = &entries[i].0;
            if let Some((missing, reason)) = job.damaged() {
                let partial = target.keep_damaged(&job.tmp, rel).ok();
                if partial.is_some() {
                    pending.done(&job.tmp);
                }
                outcome.damaged.push(DamagedFile {
                    path: rel.clone(),
                    missing_bytes: missing,
                    reason,
                    partial,
                });
                damaged_entries.insert(i);
                // Counted as written when planned; it is not restored.
                outcome.files = outcome.files.saturating_sub(1);
            } else {
                match target.commit(&job.tmp, rel) {
                    Ok(()) => pending.done(&job.tmp),
                    Err(e) if stops_the_restore(&e) => {
                        return Err(io_error("cannot move into place", &target.full(rel), &e))
                    }
                    // The temporary file goes with the other leftovers (`pending`).
                    Err(e) => {
                        outcome
                            .not_restored
                            .push((rel.clone(), refusal(&entries[i].1, &e)));
                        outcome.files = outcome.files.saturating_sub(1);
                        refused_files.insert(i);
                    }
                }
            }
        }
        for (i, action) in actions.iter_mut().enumerate() {
            let Action::Link(canon) = *action else {
                continue;
            };
            let rel = &entries[i].0;
            if damaged_entries.contains(&canon) {
                outcome.damaged.push(DamagedFile {
                    path: rel.clone(),
                    missing_bytes: entries[i].1.meta.size,
                    reason: format!(
                        "a hardlink of {}, which is damaged",
                        entries[canon].0.display()
                    ),
                    partial: None,
                });
                outcome.other = outcome.other.saturating_sub(1);
                *action = Action::Skip;
                continue;
            }
            let canon_rel = &entries[canon].0;
            if target.same_file(rel, canon_rel) {
                continue;
            }
            if let Err(e) = target
                .remove(rel)
                .and_then(|()| target.hard_link(canon_rel, rel))
            {
                if stops_the_restore(&e) {
                    return Err(io_error("cannot link", &target.full(rel), &e));
                }
                outcome.not_restored.push((
                    rel.clone(),
                    format!("a hardlink to {}: {e}", canon_rel.display()),
                ));
                outcome.other = outcome.other.saturating_sub(1);
                *action = Action::Skip;
            }
        }

        // 4. --delete: what the target has in restored directories and the snapshot not.
        if request.delete {
            delete::delete_extra(&target, &entries, &actions, &mut outcome);
        }

        // 5. Metadata: files first, then directories deepest first. Directories opened up
        // for writing get their own mode back first (and those of the snapshot its mode).
        drop(pending);
        target.close_up();
        let as_root = is_root();
        let mut dirs = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            let (rel, node) = &entries[i];
            match action {
                Action::Skip | Action::Link(_) => {}
                _ if damaged_entries.contains(&i) || refused_files.contains(&i) => {}
                Action::Dir => dirs.push(i),
                _ => {
                    for failed in target::set_metadata(&target.full(rel), node, as_root) {
                        outcome.problems.push((rel.clone(), failed));
                    }
                }
            }
        }
        for &i in dirs.iter().rev() {
            let (rel, node) = &entries[i];
            for failed in target::set_metadata(&target.full(rel), node, as_root) {
                outcome.problems.push((rel.clone(), failed));
            }
        }
        drop(lock);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustic_core::repofile::{Metadata, NodeType};

    fn node(name: &str) -> Node {
        Node::new_node(
            std::ffi::OsStr::new(name),
            NodeType::File,
            Metadata::default(),
        )
    }

    #[test]
    fn plain_relative_paths_pass() {
        assert!(confined(Path::new("srv/data/a.txt"), &node("a.txt")).is_ok());
    }

    #[test]
    fn paths_that_escape_the_target_are_refused() {
        assert!(confined(Path::new("../etc/passwd"), &node("passwd")).is_err());
        assert!(confined(Path::new("/etc/passwd"), &node("passwd")).is_err());
        assert!(confined(Path::new("srv/../../x"), &node("x")).is_err());
    }

    #[test]
    fn overwrite_modes_parse_as_restic_names_them() {
        assert_eq!(
            "if-newer".parse::<Overwrite>().ok(),
            Some(Overwrite::IfNewer)
        );
        assert!("sometimes".parse::<Overwrite>().is_err());
    }
}
