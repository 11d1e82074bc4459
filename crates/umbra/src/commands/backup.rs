//! `umbra backup`, `umbra sources` and `umbra cleanup`.
//!
//! A backup runs in this order: sweep what crashed runs left; choose a method per source
//! (`--open-files required` fails here, before anything is read or written); open the
//! repository (creating the default one on first use); take the snapshot set; back up
//! from it; release it. The set is released on every path out: explicitly after the
//! backup, by its guard on errors, by the signal handler on SIGINT/SIGTERM, and by the
//! next run's sweep after a crash.

use std::path::{Path, PathBuf};

use umbra_core::{ErrorKind, Event, Method, Result, UmbraError};
use umbra_jobs::bases::KeepBase;
use umbra_jobs::config::ad_hoc::{ad_hoc_job, AdHoc, AdHocRequest};
use umbra_repo::lock::LockKind;
use umbra_repo::Repo;
use umbra_snapshot::registry::Registry;
use umbra_snapshot::set::sweep;
use umbra_snapshot::{OpenFiles, Planner, SourceChoice};

use super::absolute;
use crate::cli::{BackupArgs, OpenFilesArg, SnapshotArg, SnapshotArgs, SourcesArgs};
use crate::output::{human_bytes, Output};
use crate::settings::{DefaultRepo, RepoChoice, Settings};
use crate::Finished;

/// Creates the default repository and tells the user where it is. Its password is the
/// one the user gave (UMBRA_PASSWORD...), or the default password file's, or a new one
/// generated into that file (mode 0600).
pub fn create_default(d: &DefaultRepo, settings: &Settings, out: &Output) -> Result<Repo> {
    let (password, generated) = match settings.password()? {
        Some(p) => (p, false),
        None => (d.create_password()?, true),
    };
    if let Some(parent) = d.location.local_path().and_then(Path::parent) {
        std::fs::create_dir_all(parent).map_err(|e| UmbraError::io("cannot create", parent, e))?;
    }
    let repo = Repo::init(&d.location, &password, out.monitor()).inspect_err(|_| {
        // A password for a repository that was never made would only mislead.
        if generated {
            let _ = std::fs::remove_file(&d.password_file);
        }
    })?;
    out.monitor().event(Event::DefaultRepositoryCreated {
        repository: d.location.to_string().into(),
        password_file: d.password_file.clone(),
    });
    Ok(repo)
}

fn policy(args: &SnapshotArgs) -> (OpenFiles, Option<Method>) {
    let open = match args.open_files {
        OpenFilesArg::Auto => OpenFiles::Auto,
        OpenFilesArg::Required => OpenFiles::Required,
        OpenFilesArg::Off => OpenFiles::Off,
    };
    let forced = args.snapshot.map(|m| match m {
        SnapshotArg::Btrfs => Method::Btrfs,
        SnapshotArg::Lvm => Method::Lvm,
        SnapshotArg::Zfs => Method::Zfs,
        SnapshotArg::Reflink => Method::Reflink,
        SnapshotArg::Vss => Method::Vss,
        SnapshotArg::Direct => Method::Direct,
    });
    (open, forced)
}

fn planner(args: &SnapshotArgs) -> Result<Planner> {
    Planner::with_lvm(umbra_snapshot::lvm::Lvm {
        cow_size: args.lvm_snapshot_size.clone(),
    })
}

/// Chooses a method for each path; a missing source fails here.
fn choose(paths: &[PathBuf], args: &SnapshotArgs) -> Result<Vec<SourceChoice>> {
    let absolute_paths = existing_absolute(paths)?;
    let (open, forced) = policy(args);
    planner(args)?.choose_all(&absolute_paths, open, forced)
}

/// The paths made absolute; one that does not exist fails here, before anything runs.
fn existing_absolute(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut absolute_paths = Vec::with_capacity(paths.len());
    for p in paths {
        let abs = absolute(p)?;
        if let Err(err) = std::fs::symlink_metadata(&abs) {
            return Err(UmbraError::new(
                ErrorKind::SourceUnreadable,
                format!("cannot back up {}: {err}", abs.display()),
            ));
        }
        absolute_paths.push(abs);
    }
    Ok(absolute_paths)
}

fn print_choices(choices: &[SourceChoice], out: &Output) {
    for c in choices {
        out.line(format!(
            "{}\t{}\t{}",
            c.info.path.display(),
            c.method,
            c.reason
        ));
        out.json(&serde_json::json!({
            "path": c.info.path, "method": c.method.as_str(), "reason": c.reason,
        }));
    }
}

/// `umbra sources PATH...`: the plan, without doing anything.
pub fn sources(args: &SourcesArgs, out: &Output) -> Result<Finished> {
    print_choices(&choose(&args.paths, &args.snapshot)?, out);
    Ok(Finished::Ok)
}

/// `umbra cleanup`: release what crashed runs left behind, and list it.
pub fn cleanup(out: &Output) -> Result<Finished> {
    let registry = Registry::default_location()?;
    let planner = Planner::new()?;
    let swept = sweep(&registry, &planner)?;
    let mut failures = Vec::new();
    for s in &swept {
        match &s.error {
            None => out.line(format!(
                "removed {} (left by pid {})",
                s.record.artifact, s.record.owner.pid
            )),
            Some(e) => failures.push(format!("{}: {e}", s.record.artifact)),
        }
        out.json(&serde_json::json!({
            "artifact": s.record.artifact.to_string(), "method": s.record.method.as_str(),
            "pid": s.record.owner.pid, "error": s.error,
        }));
    }
    #[cfg(target_os = "linux")]
    for dead in umbra_mount::release_dead_mounts() {
        out.line(format!(
            "unmounted {} (an umbra mount whose process is gone)",
            dead.display()
        ));
    }
    // Services a dead run left frozen (its guardian normally thawed them already).
    #[cfg_attr(windows, allow(unused_mut))]
    let (mut thawed, mut thaw_failures) = (0, Vec::<String>::new());
    #[cfg(unix)]
    for t in umbra_jobs::quiesce::guardian::thaw_leftovers()? {
        match (&t.error, t.was_frozen) {
            (Some(e), _) => thaw_failures.push(format!("thawing {}: {e}", t.cgroup.display())),
            (None, true) => {
                thawed += 1;
                out.line(format!(
                    "thawed {} (left frozen by pid {})",
                    t.cgroup.display(),
                    t.pid
                ));
            }
            (None, false) => out.line(format!(
                "{} was already thawed by the guardian of pid {}",
                t.cgroup.display(),
                t.pid
            )),
        }
    }
    // Kept base snapshots go too: the next backup of each source reads its files whole.
    let (released_bases, base_failures) =
        umbra_jobs::bases::release_all_bases(out.monitor().as_ref())?;
    for line in &released_bases {
        out.line(line.clone());
    }
    let (live, _) = registry.records()?;
    out.summary(format!(
        "removed {} leftover(s) and {} kept base snapshot(s); thawed {thawed} frozen cgroup(s); {} held by running umbra processes",
        swept.len() - failures.len(),
        released_bases.len(),
        live.len() - failures.len()
    ));
    failures.extend(base_failures);
    failures.extend(thaw_failures);
    if failures.is_empty() {
        Ok(Finished::Ok)
    } else {
        Err(UmbraError::new(
            ErrorKind::Io,
            format!("could not release: {}", failures.join("; ")),
        ))
    }
}

/// `umbra backup PATH...`: an ad-hoc job, run by the same runner as `umbra run JOB`
/// (pre-flight, sweep, quiescers, snapshot set, backup, record in the history).
pub fn run(args: &BackupArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    if args.stdin || args.stdin_from_command {
        return stream(args, settings, out);
    }
    let exclude_larger_than = args
        .exclude_larger_than
        .as_deref()
        .map(umbra_repo::backup::parse_size)
        .transpose()?;
    let chunking: umbra_repo::chunking::Chunking = args.chunking.parse()?;
    let keep_base: KeepBase = args.keep_base.parse()?;
    let time = args.time.as_deref().map(parse_time).transpose()?;
    let mut paths = args.paths.clone();
    paths.extend(super::files_from::targets(
        &args.files_from,
        &args.files_from_verbatim,
        &args.files_from_raw,
        &|w| out.error_line(format!("warning: {w}")),
    )?);
    if paths.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            "nothing to back up: the lists of files name nothing that exists",
        )
        .with_hint("Check the patterns and paths in the files given to --files-from*."));
    }
    let sources = existing_absolute(&paths)?;
    // Every source's method is chosen now: `--open-files required` fails before anything
    // is read or written.
    let (open_files, snapshot) = policy(&args.snapshot);
    let choices = planner(&args.snapshot)?.choose_all(&sources, open_files, snapshot)?;
    let job = ad_hoc_job(AdHocRequest {
        paths: sources,
        open_files,
        snapshot,
        lvm_snapshot_size: args.snapshot.lvm_snapshot_size.clone(),
        chunking,
        exclude: args.exclude.clone(),
        iexclude: args.iexclude.clone(),
        exclude_caches: args.exclude_caches,
        exclude_if_present: args.exclude_if_present.clone(),
        exclude_larger_than,
        one_file_system: args.one_file_system,
        tags: args.tag.clone(),
        host: args.host.clone(),
        change_retries: args.change_retries,
        keep_base,
        threads: args.read_concurrency.map(|n| n as usize),
        resources: umbra_jobs::config::resources::Resources {
            priority: args.priority.parse()?,
            limit_read: args
                .limit_read
                .map(|l| umbra_jobs::config::resources::read_limit(l, "--limit-read"))
                .transpose()
                .map_err(|e| {
                    UmbraError::new(ErrorKind::InvalidInput, e)
                        .with_hint("Give the limit in MB/s: --limit-read 50.")
                })?,
            compression: args.compression.parse()?,
            systemd: Vec::new(),
        },
        quiesce: args.quiesce.clone(),
        extra: AdHoc {
            exclude_files: args.exclude_file.clone(),
            force_full_read: args.force,
            parent: args.parent.clone(),
            time,
            with_atime: args.with_atime,
        },
    })?;
    if args.dry_run {
        print_choices(&choices, out);
        return Ok(Finished::Ok);
    }
    if let RepoChoice::Default(d) = &settings.repo {
        if !d.location.exists() {
            drop(create_default(d, settings, out)?);
        }
    }
    let open_repo = |lock: LockKind| super::open(settings, Some(lock), out);
    let no_copies = |name: &str| -> Result<Repo> {
        Err(UmbraError::new(
            ErrorKind::Internal,
            format!("an ad-hoc backup has no copy target `{name}`"),
        ))
    };
    let location = settings.repo.location().to_string();
    let ctx = umbra_jobs::RunContext {
        open_repo: &open_repo,
        open_copy_target: &no_copies,
        repository: location.clone(),
        monitor: out.monitor(),
        triggered_by: None,
    };
    let report = umbra_jobs::run_job(&job, &ctx)?;
    let record = &report.record;
    if record.status == "interrupted" {
        return Ok(Finished::Interrupted);
    }
    let failure = (record.status == "failed").then(|| {
        report.error.unwrap_or_else(|| {
            UmbraError::new(
                ErrorKind::JobFailed,
                record
                    .error
                    .clone()
                    .unwrap_or_else(|| "the backup failed".into()),
            )
            .with_hint(format!(
                "The run's log is {}; `umbra history -v` shows it.",
                record.log.display()
            ))
        })
    });
    let Some(outcome) = report.outcome else {
        return Err(failure
            .unwrap_or_else(|| UmbraError::new(ErrorKind::Internal, "the run saved no snapshot")));
    };
    let kept = report.bases_kept;
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
    if outcome.bytes_reused > 0 {
        out.summary(format!(
            "not read: {} of changed files, which the filesystem vouched were unchanged since the base snapshot",
            human_bytes(outcome.bytes_reused)
        ));
    }
    for line in &kept {
        out.summary(line.clone());
    }
    let unreadable = outcome.unreadable_count();
    let vanished = outcome.vanished_count();
    let changed = outcome.changed_count() - vanished;
    let id = &snap.short_id;
    if changed > 0 && !out.mode.json {
        eprintln!(
            "warning: {} changed while read, even after re-reading: stored as read, possibly \
             torn, and listed by `umbra show {id}` (exit code 3)",
            count(changed, "file", "files")
        );
    }
    if vanished > 0 && !out.mode.json {
        eprintln!(
            "warning: {} vanished while the backup ran (deleted): not in snapshot {id}, \
             listed by `umbra show {id}` (exit code 3)",
            count(vanished, "entry", "entries")
        );
    }
    if unreadable > 0 && !out.mode.json {
        eprintln!(
            "warning: {} could not be read and {} missing from snapshot {id} (exit code 3)",
            count(unreadable, "entry", "entries"),
            if unreadable == 1 { "is" } else { "are" }
        );
    }
    let mut summary = summary_json(&outcome);
    for (key, value) in serde_json::json!({
        "dirs": outcome.dirs,
        "bytes_total": outcome.bytes_total,
        "bytes_read": outcome.bytes_read,
        "bytes_added": outcome.bytes_added,
        "bytes_reused": outcome.bytes_reused,
        "bases": kept,
        "unreadable": unreadable,
        "changed_while_read": changed,
        "vanished": vanished,
    })
    .as_object()
    .into_iter()
    .flatten()
    {
        summary[key] = value.clone();
    }
    out.json(&summary);
    // The snapshot is saved; a snapshot set that could not be released is still a failure.
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(if unreadable > 0 || changed > 0 || vanished > 0 {
        Finished::Incomplete
    } else {
        Finished::Ok
    })
}

/// `--stdin` and `--stdin-from-command`: one stream, stored as one file. No snapshot
/// method applies, so the flags about sources are refused rather than ignored.
fn stream(args: &BackupArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let source_flags = [
        ("--exclude", !args.exclude.is_empty()),
        ("--exclude-file", !args.exclude_file.is_empty()),
        ("--iexclude", !args.iexclude.is_empty()),
        ("--exclude-if-present", !args.exclude_if_present.is_empty()),
        ("--exclude-larger-than", args.exclude_larger_than.is_some()),
        ("--exclude-caches", args.exclude_caches),
        ("--parent", args.parent.is_some()),
        ("--with-atime", args.with_atime),
        ("--one-file-system", args.one_file_system),
        ("--dry-run", args.dry_run),
        ("--snapshot", args.snapshot.snapshot.is_some()),
    ];
    if let Some((flag, _)) = source_flags.iter().find(|(_, set)| *set) {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            format!("{flag} does not apply to a backup of a stream"),
        )
        .with_hint(
            "--stdin and --stdin-from-command store one stream as one file; leave the flag out.",
        ));
    }
    let time = args.time.as_deref().map(parse_time).transpose()?;
    let command = args.stdin_from_command.then(|| {
        args.paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    });
    if let RepoChoice::Default(d) = &settings.repo {
        if !d.location.exists() {
            drop(create_default(d, settings, out)?);
        }
    }
    let mut repo = super::open(settings, Some(LockKind::Shared), out)?;
    repo.set_compression(args.compression.parse()?)?;
    let location = repo.location().to_string();
    let outcome = repo.backup_stream(&umbra_repo::stream::StreamRequest {
        name: args.stdin_filename.clone(),
        command,
        tags: args.tag.clone(),
        host: args.host.clone(),
        time,
    })?;
    let snap = &outcome.snapshot;
    out.summary(format!(
        "snapshot {} saved to {location}\n\
         stored /{} ({}; added {} to the repository, {} stored) in {:.1}s\n\
         consistency: {}",
        snap.short_id,
        args.stdin_filename,
        human_bytes(outcome.bytes_total),
        human_bytes(outcome.bytes_added),
        human_bytes(outcome.bytes_added_packed),
        outcome.seconds,
        outcome.record.short(),
    ));
    out.json(&summary_json(&outcome));
    Ok(Finished::Ok)
}

/// The summary fields restic 0.14's `backup --json` has, under its names (its
/// `snapshot_id` is the short id, ours the full one), with umbra's record.
fn summary_json(outcome: &umbra_repo::BackupOutcome) -> serde_json::Value {
    let counts = &outcome.restic_counts;
    serde_json::json!({
        "message_type": "summary",
        "snapshot_id": outcome.snapshot.id,
        "files_new": outcome.files_new,
        "files_changed": outcome.files_changed,
        "files_unmodified": outcome.files_unmodified,
        "dirs_new": counts.dirs_new,
        "dirs_changed": counts.dirs_changed,
        "dirs_unmodified": counts.dirs_unmodified,
        "data_blobs": counts.data_blobs,
        "tree_blobs": counts.tree_blobs,
        "data_added": outcome.bytes_added,
        "bytes_added_packed": outcome.bytes_added_packed,
        "total_files_processed": counts.total_files_processed,
        "total_bytes_processed": outcome.bytes_total,
        "total_duration": outcome.seconds,
        "seconds": outcome.seconds,
        "consistency": outcome.record,
    })
}

/// restic's `--time` format, `2006-01-02 15:04:05`, in the local time zone.
fn parse_time(text: &str) -> Result<jiff::Zoned> {
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", text.trim())
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::system()))
        .map_err(|e| {
            UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{text}` is not a time for --time: {e}"),
            )
            .with_hint("Write it as restic does: --time \"2024-05-06 07:08:09\" (local time).")
        })
}

/// `1 file`, `2 files`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
