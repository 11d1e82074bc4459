//! `umbra backup`: resolve the sources into a plan, back them up, report.

use std::path::{Component, Path, PathBuf};

use umbra_core::{ErrorKind, Event, PlannedSource, Result, SourcePlan, UmbraError};
use umbra_repo::lock::LockKind;
use umbra_repo::{BackupRequest, Repo};

use crate::cli::BackupArgs;
use crate::output::Output;
use crate::settings::{DefaultRepo, RepoChoice, Settings};
use crate::Finished;

/// Creates the default repository and tells the user where it is. Its password is the
/// one the user gave (UMBRA_PASSWORD...), or the default password file's, or a new one
/// generated into that file (mode 0600).
pub fn create_default(d: &DefaultRepo, settings: &Settings, out: &Output) -> Result<Repo> {
    let password = match settings.password()? {
        Some(p) => p,
        None => d.create_password()?,
    };
    if let Some(parent) = d.location.path().parent() {
        std::fs::create_dir_all(parent).map_err(|e| UmbraError::io("cannot create", parent, e))?;
    }
    let repo = Repo::init(&d.location, &password, out.monitor())?;
    out.monitor().event(Event::DefaultRepositoryCreated {
        repository: d.location.path().to_path_buf(),
        password_file: d.password_file.clone(),
    });
    Ok(repo)
}

/// An absolute, lexically clean path: what the repository stores for a source.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| UmbraError::io("cannot resolve", path, e))?;
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    Ok(clean)
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn run(args: &BackupArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let mut plan = SourcePlan::default();
    for p in &args.paths {
        plan.sources.push(PlannedSource::direct(absolute(p)?));
    }
    // Fail on a missing source before creating or locking anything.
    for s in &plan.sources {
        if let Err(err) = std::fs::symlink_metadata(&s.path) {
            return Err(UmbraError::new(
                ErrorKind::SourceUnreadable,
                format!("cannot back up {}: {err}", s.path.display()),
            ));
        }
    }
    if let RepoChoice::Default(d) = &settings.repo {
        if !d.location.exists() {
            drop(create_default(d, settings, out)?);
        }
    }
    let repo = super::open(settings, Some(LockKind::Shared), out)?;
    let location = repo.location().to_string();
    let request = BackupRequest {
        plan,
        excludes: args.exclude.clone(),
        exclude_files: args.exclude_file.clone(),
        exclude_caches: args.exclude_caches,
        one_file_system: args.one_file_system,
        tags: args.tag.clone(),
        host: args.host.clone(),
        force_full_read: args.force,
    };
    let outcome = repo.backup(&request)?;
    let snap = &outcome.snapshot;
    out.summary(format!(
        "snapshot {} saved to {location}\n\
         files: {} new, {} changed, {} unmodified; {} directories\n\
         read {} of {}; added {} to the repository ({} stored) in {:.1}s\n\
         consistency: {}",
        snap.short_id,
        outcome.files_new,
        outcome.files_changed,
        outcome.files_unmodified,
        outcome.dirs,
        human_bytes(outcome.bytes_read),
        human_bytes(outcome.bytes_total),
        human_bytes(outcome.bytes_added),
        human_bytes(outcome.bytes_added_packed),
        outcome.seconds,
        outcome.record.short(),
    ));
    let unreadable = outcome.unreadable_count();
    let changed = outcome.changed_count();
    if changed > 0 && !out.mode.json {
        eprintln!("warning: {changed} file(s) changed while they were read; they are stored as read and listed by `umbra show {}`", snap.short_id);
    }
    if unreadable > 0 && !out.mode.json {
        eprintln!("warning: {unreadable} file(s) or director(ies) could not be read and are missing from snapshot {} (exit code 3)", snap.short_id);
    }
    out.json(&serde_json::json!({
        "message_type": "summary",
        "snapshot_id": snap.id,
        "files_new": outcome.files_new,
        "files_changed": outcome.files_changed,
        "files_unmodified": outcome.files_unmodified,
        "dirs": outcome.dirs,
        "bytes_total": outcome.bytes_total,
        "bytes_read": outcome.bytes_read,
        "bytes_added": outcome.bytes_added,
        "bytes_added_packed": outcome.bytes_added_packed,
        "seconds": outcome.seconds,
        "unreadable": unreadable,
        "changed_while_read": changed,
        "consistency": outcome.record,
    }));
    Ok(if unreadable > 0 {
        Finished::Incomplete
    } else {
        Finished::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_are_lexically_clean() {
        assert_eq!(
            absolute(Path::new("/a/./b/../c")).ok(),
            Some(PathBuf::from("/a/c"))
        );
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
