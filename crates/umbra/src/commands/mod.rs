//! One module per command family. Each takes resolved [`Settings`], does its work through
//! the repository adapter, and prints through [`Output`].

mod backup;
pub mod copy;
mod drill;
mod files_from;
mod generate;
mod jobs;
mod keys;
mod maintenance;
mod monitoring;
mod schedule;
mod snapshot_list;
mod snapshots;
mod web;

use std::path::{Component, Path, PathBuf};

use umbra_core::{ErrorKind, Event, Result, UmbraError};
use umbra_repo::lock::LockKind;
use umbra_repo::{OpenOptions, Repo};

use crate::cli::Command;
use crate::output::Output;
use crate::settings::{RepoChoice, Settings};
use crate::Finished;

pub fn run(command: Command, settings: &Settings, out: &Output) -> Result<Finished> {
    let reads_only = matches!(
        command,
        Command::Snapshots(_)
            | Command::Show { .. }
            | Command::Ls { .. }
            | Command::Diff { .. }
            | Command::Restore(_)
            | Command::Find(_)
            | Command::Dump { .. }
            | Command::Stats { .. }
            | Command::Cat { .. }
            | Command::Mount { .. }
            | Command::Check { .. }
    );
    if settings.no_lock && !reads_only {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            "--no-lock is only for commands that only read the repository",
        )
        .with_hint("Use it with snapshots, show, ls, diff, find, dump, cat, stats, mount, restore or check; leave it out here."));
    }
    // The snapshot filter of commands that take one (restic's --host/--tag/--path).
    let filter = match &command {
        Command::Ls { filter, .. }
        | Command::Mount { filter, .. }
        | Command::Dump { filter, .. }
        | Command::Stats { filter, .. } => Some(filter.to_filter()),
        Command::Restore(args) => Some(args.filter.to_filter()),
        Command::Find(args) => Some(args.filter.to_filter()),
        _ => None,
    };
    let with_filter;
    let settings = match filter {
        Some(f) => {
            with_filter = settings.clone().with_filter(f);
            &with_filter
        }
        None => settings,
    };
    match command {
        Command::Init(args) => init(&args, settings, out),
        Command::Backup(args) => backup::run(&args, settings, out),
        Command::Snapshots(args) => {
            snapshot_list::list(&args.filter.to_filter(), &args, settings, out)
        }
        Command::Show { snapshot } => snapshots::show(&snapshot, settings, out),
        Command::Ls {
            snapshot,
            path,
            long,
            ..
        } => snapshots::ls(&snapshot, path.as_deref(), long, settings, out),
        Command::Diff {
            first,
            second,
            metadata,
        } => snapshots::diff(&first, &second, metadata, settings, out),
        Command::Restore(args) => snapshots::restore(&args, settings, out),
        Command::Find(args) => snapshots::find(&args, settings, out),
        Command::Mount { mountpoint, .. } => snapshots::mount(&mountpoint, settings, out),
        Command::Cat { what, id } => snapshots::cat(&what, id.as_deref(), settings, out),
        Command::Dump {
            snapshot,
            path,
            archive,
            ..
        } => snapshots::dump(&snapshot, &path, &archive, settings, out),
        Command::Check {
            read_data,
            read_data_subset,
            check_unused,
        } => {
            let read = match (read_data, read_data_subset) {
                (_, Some(subset)) => umbra_repo::check::ReadData::subset(&subset)?,
                (true, None) => umbra_repo::check::ReadData::All,
                (false, None) => umbra_repo::check::ReadData::None,
            };
            maintenance::check(read, check_unused, settings, out)
        }
        Command::Copy(args) => copy::run(&args, settings, out),
        Command::Stats {
            snapshots, mode, ..
        } => snapshots::stats(&snapshots, &mode, settings, out),
        Command::Tag {
            snapshots,
            add,
            remove,
            set,
        } => maintenance::tag(&snapshots, add, remove, set, settings, out),
        Command::Forget(args) => maintenance::forget(&args, settings, out),
        Command::Prune => maintenance::prune(settings, out),
        Command::Repair { command } => maintenance::repair(&command, settings, out),
        Command::Sources(args) => backup::sources(&args, out),
        Command::Cleanup => backup::cleanup(out),
        Command::Generate {
            completions_dir,
            man_dir,
        } => generate::run(completions_dir.as_deref(), man_dir.as_deref(), out),
        Command::Unlock { remove_all } => maintenance::unlock(remove_all, settings, out),
        Command::Key { command } => keys::run(command, settings, out),
        Command::Run(args) => jobs::run(&args, settings, out),
        Command::Jobs { check: false } => jobs::jobs(settings, out),
        Command::Jobs { check: true } => Ok(monitoring::check(settings, out)),
        Command::Metrics => monitoring::metrics(settings, out),
        Command::Drill { job, snapshot } => drill::run(&job, snapshot.as_deref(), settings, out),
        Command::Notify {
            command: crate::cli::NotifyCommand::Test { job },
        } => monitoring::notify_test(&job, settings, out),
        Command::History { job, last } => jobs::history(job.as_deref(), last, settings, out),
        Command::Config {
            command: crate::cli::ConfigCommand::Check,
        } => jobs::check(settings, out),
        Command::Schedule { command } => schedule::run(&command, settings, out),
        Command::Daemon {
            max_runs,
            web,
            web_args,
        } => {
            if web {
                web::start_beside_daemon(&web_args, settings, out)?;
            }
            schedule::daemon(max_runs, settings, out)
        }
        Command::Serve(args) => web::serve(&args, settings, out),
    }
}

/// The lock of a command that only reads: shared, or none with `--no-lock`.
pub fn read_lock(settings: &Settings) -> Option<LockKind> {
    (!settings.no_lock).then_some(LockKind::Shared)
}

/// Opens the chosen repository with the lock a command needs.
pub fn open(settings: &Settings, lock: Option<LockKind>, out: &Output) -> Result<Repo> {
    open_with(
        settings,
        OpenOptions {
            lock,
            bypass_cache: false,
        },
        out,
    )
}

/// Like [`open`], with every open option.
pub fn open_with(settings: &Settings, options: OpenOptions, out: &Output) -> Result<Repo> {
    let location = settings.repo.location();
    if let RepoChoice::Default(d) = &settings.repo {
        if !location.exists() {
            return Err(UmbraError::new(
                ErrorKind::RepositoryMissing,
                format!("the default repository {} does not exist yet", d.location),
            )
            .with_hint("Run `umbra backup DIR` to create it with a first backup, or name a repository with -r/--repo."));
        }
    }
    let password = settings.password_or_prompt(&format!("password for {location}: "))?;
    let repo = Repo::open(location, &password, options, out.monitor())?
        .with_filter(settings.filter.clone());
    tend_cache(&repo, settings.cleanup_cache, out);
    Ok(repo)
}

/// restic's cache housekeeping: the caches of repositories not opened for 30 days are
/// named, or removed with `--cleanup-cache`.
fn tend_cache(repo: &Repo, cleanup: bool, out: &Output) {
    use umbra_repo::cache;
    let old = cache::old(&repo.id());
    if old.is_empty() {
        return;
    }
    let base = cache::base()
        .map(|b| b.display().to_string())
        .unwrap_or_default();
    let monitor = out.monitor();
    let dirs = |n: usize| if n == 1 { "directory" } else { "directories" };
    if !cleanup {
        monitor.event(Event::Notice {
            message: format!(
                "found {} old cache {} in {base} (not used for {} days); run with --cleanup-cache to remove them",
                old.len(),
                dirs(old.len()),
                cache::MAX_AGE_DAYS
            ),
        });
        return;
    }
    let failed = cache::remove(&old);
    for (dir, e) in &failed {
        monitor.event(Event::Warning {
            message: format!(
                "cannot remove the old cache directory {}: {e}",
                dir.display()
            ),
        });
    }
    let removed = old.len() - failed.len();
    monitor.event(Event::Info {
        message: format!("removed {removed} old cache {} from {base}", dirs(removed)),
    });
}

fn init(args: &crate::cli::InitArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let template = match &args.from_repo {
        Some(from) if args.copy_chunker_params => Some(copy::open_from(
            from,
            args.from_password_file.as_deref(),
            settings,
            out,
        )?),
        _ => None,
    };
    let repo = match &settings.repo {
        RepoChoice::Explicit(location) if template.is_some() => {
            let password = settings.password_or_prompt("new repository password: ")?;
            let template = template
                .as_ref()
                .ok_or_else(|| crate::invalid("no template"))?;
            Repo::init_like(location, &password, out.monitor(), template)?
        }
        RepoChoice::Default(_) if template.is_some() => {
            return Err(crate::invalid(
                "--copy-chunker-params needs the new repository named with -r",
            )
            .with_hint("Run `umbra -r NEW init --from-repo OLD --copy-chunker-params`."));
        }
        RepoChoice::Explicit(location) => {
            let password = match settings.password()? {
                Some(p) => p,
                None => {
                    let a = crate::settings::prompt_password("new repository password: ")?;
                    let b = crate::settings::prompt_password("repeat the password: ")?;
                    if a != b {
                        return Err(crate::invalid("the two passwords differ").with_hint(
                            "Run `umbra init` again and type the same password twice.",
                        ));
                    }
                    a
                }
            };
            Repo::init(location, &password, out.monitor())?
        }
        RepoChoice::Default(d) => backup::create_default(d, settings, out)?,
    };
    out.summary(format!(
        "created repository {} at {}",
        &repo.id()[..8],
        repo.location()
    ));
    out.json(&serde_json::json!({
        "message_type": "initialized",
        "id": repo.id(),
        "repository": repo.location().to_string(),
    }));
    Ok(Finished::Ok)
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
}
