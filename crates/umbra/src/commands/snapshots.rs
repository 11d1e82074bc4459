//! Reading commands: `show`, `ls`, `find`, `diff`, `restore` and the like; the
//! `snapshots` list is in `snapshot_list.rs`.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::restore::{Overwrite, RestoreRequest};
use umbra_repo::SnapshotInfo;

use crate::cli::{FindArgs, RestoreArgs};
use crate::output::{human_bytes, Output};
use crate::settings::Settings;
use crate::Finished;
use umbra_repo::stats::StatsMode;

pub(super) fn short_time(rfc3339: &str) -> String {
    // 2026-11-22T04:50:01.123Z -> 2026-11-22 04:50:01
    rfc3339.replace('T', " ").chars().take(19).collect()
}

pub(super) fn consistency_short(s: &SnapshotInfo) -> String {
    s.consistency
        .as_ref()
        .map_or_else(|| "-".to_string(), |c| c.short())
}

pub fn show(spec: &str, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let s = repo.snapshot(spec)?;
    if out.mode.json {
        out.json(&serde_json::to_value(&s).unwrap_or_default());
        return Ok(Finished::Ok);
    }
    out.line(format!("snapshot {}", s.id));
    out.line(format!("  time:     {}", s.time));
    out.line(format!("  host:     {}", s.hostname));
    out.line(format!("  user:     {}", s.username));
    out.line(format!("  program:  {}", s.program));
    if let Some(p) = &s.parent {
        out.line(format!("  parent:   {}", &p[..8.min(p.len())]));
    }
    if !s.tags.is_empty() {
        out.line(format!("  tags:     {}", s.tags.join(", ")));
    }
    if let (Some(f), Some(b)) = (s.files, s.bytes) {
        out.line(format!("  content:  {f} files, {}", human_bytes(b)));
    }
    match &s.consistency {
        None => out.line("  consistency: unknown (not written by umbra, or its record is missing)"),
        Some(rec) => {
            out.line(format!("  consistency: {}", rec.short()));
            if let Some(ms) = rec.snapshot_set_spread_ms {
                out.line(format!("    snapshot set spread: {ms} ms"));
            }
            for src in &rec.sources {
                out.line(format!("  - {}", src.path.display()));
                out.line(format!("      method: {}", src.method));
                out.line(format!("      level:  {}", src.level));
                if let Some(ms) = src.snapshot_ms {
                    out.line(format!("      snapshot created in {ms} ms"));
                }
                if let Some(at) = src
                    .taken_at_unix_ms
                    .and_then(|ms| i64::try_from(ms).ok())
                    .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                {
                    let what = src.moment_label();
                    out.line(format!("      {what}: {at:.3}"));
                }
                for p in &src.changed_while_read {
                    out.line(format!("      changed while read: {}", p.display()));
                }
                for p in &src.vanished {
                    out.line(format!(
                        "      vanished while the backup ran (not stored): {}",
                        p.display()
                    ));
                }
                for p in &src.unreadable {
                    out.line(format!("      unreadable (missing): {}", p.display()));
                }
                for p in &src.copies {
                    out.line(format!(
                        "      from a copy taken at another instant: {}",
                        p.display()
                    ));
                }
            }
            for q in &rec.quiesced {
                out.line(format!(
                    "  quiesced: {} ({}), frozen {:.1} ms, covering {}",
                    q.name,
                    q.kind,
                    q.freeze_us as f64 / 1000.0,
                    q.covers
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                for (what, detail) in &q.details {
                    out.line(format!("      {what}: {detail}"));
                }
            }
        }
    }
    out.line("  paths:");
    for p in &s.paths {
        out.line(format!("    {}", p.display()));
    }
    Ok(Finished::Ok)
}

pub fn ls(
    spec: &str,
    path: Option<&str>,
    long: bool,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let full = match path {
        Some(p) => format!("{spec}:{p}"),
        None => spec.to_string(),
    };
    if out.mode.json {
        // restic's first line: the snapshot listed.
        let snapshot = repo.snapshot(full.split_once(':').map_or(full.as_str(), |(s, _)| s))?;
        out.json(&crate::output::restic_json::ls_snapshot(&snapshot));
    }
    for e in repo.ls(&full)? {
        if crate::output::stdout_closed() {
            break;
        }
        if out.mode.json {
            out.json(&crate::output::restic_json::ls_node(&e));
        } else if long {
            out.line(e.long_line());
        } else {
            out.line(e.path.display().to_string());
        }
    }
    Ok(Finished::Ok)
}

pub fn find(args: &FindArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let filter = umbra_repo::browse::FindFilter {
        ignore_case: args.ignore_case,
        oldest: args
            .oldest
            .as_deref()
            .map(|t| find_time(t, "--oldest"))
            .transpose()?,
        newest: args
            .newest
            .as_deref()
            .map(|t| find_time(t, "--newest"))
            .transpose()?,
    };
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let found = repo.find_entries(&args.patterns, &args.snapshots, &filter)?;
    if out.mode.json {
        out.json(&crate::output::restic_json::find_result(&found));
        return Ok(Finished::Ok);
    }
    let mut matches = 0;
    for (snapshot, entries) in &found {
        matches += entries.len();
        out.line(format!(
            "found in snapshot {}:",
            &snapshot[..8.min(snapshot.len())]
        ));
        for e in entries {
            if crate::output::stdout_closed() {
                return Ok(Finished::Ok);
            }
            if args.long {
                out.line(format!("  {}", e.long_line()));
                continue;
            }
            let slash = if e.kind == "dir" { "/" } else { "" };
            out.line(format!("  {}{slash}", e.path.display()));
        }
    }
    out.summary(format!(
        "{matches} match(es) in {} snapshot(s)",
        found.len()
    ));
    Ok(Finished::Ok)
}

/// Serves the snapshots under `mountpoint` until it is unmounted (SIGINT/SIGTERM unmount
/// through the interrupt registry).
pub fn mount(mountpoint: &std::path::Path, settings: &Settings, out: &Output) -> Result<Finished> {
    #[cfg(target_os = "linux")]
    {
        let repo = super::open(settings, super::read_lock(settings), out)?;
        let view = umbra_repo::view::RepoView::open(repo)?;
        let ready = |n: usize| {
            out.line(format!(
                "{n} snapshot(s) mounted at {0}; `umount {0}` or Ctrl-C ends it",
                mountpoint.display()
            ));
        };
        umbra_mount::serve(view, mountpoint, out.monitor(), ready, || false)?;
        out.summary(format!("unmounted {}", mountpoint.display()));
        // A signal's unmount can end the serving before the signal handler has exited
        // with 130: the exit code still says the mount was interrupted.
        Ok(if umbra_core::interrupt::interrupted() {
            Finished::Interrupted
        } else {
            Finished::Ok
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (mountpoint, settings, out);
        Err(
            UmbraError::new(ErrorKind::InvalidInput, "umbra mount works on Linux only").with_hint(
                "Restore what you need with `umbra restore SNAPSHOT --include PATH -t DIR`.",
            ),
        )
    }
}

/// A time for `find --oldest/--newest`, in the forms restic's `find` takes (local time
/// unless a zone is given).
fn find_time(text: &str, flag: &str) -> Result<jiff::Timestamp> {
    const FORMS: [&str; 10] = [
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S %Z",
        "%d.%m.%Y",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M:%S %z",
        "%d.%m.%Y %H:%M:%S %Z",
    ];
    let text = text.trim();
    for form in FORMS {
        if let Ok(t) = jiff::Timestamp::strptime(form, text) {
            return Ok(t);
        }
        let civil = jiff::civil::DateTime::strptime(form, text).or_else(|_| {
            jiff::civil::Date::strptime(form, text)
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        });
        if let Ok(t) = civil.and_then(|t| t.to_zoned(jiff::tz::TimeZone::system())) {
            return Ok(t.timestamp());
        }
    }
    Err(UmbraError::new(
        ErrorKind::InvalidInput,
        format!("`{text}` is not a time for {flag}"),
    )
    .with_hint("Write it as restic does: 2024-05-06, \"2024-05-06 07:08\", \"2024-05-06 07:08:09\" or 06.05.2024 (local time)."))
}

pub fn stats(
    snapshots: &[String],
    mode: &str,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let mode = StatsMode::parse(mode)?;
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let stats = repo.stats(snapshots, mode)?;
    if out.mode.json {
        out.json(&serde_json::to_value(&stats).unwrap_or_default());
        return Ok(Finished::Ok);
    }
    out.line(format!("snapshots: {}", stats.snapshots_count));
    let blobs = stats.total_blob_count.unwrap_or(0);
    match mode {
        StatsMode::RestoreSize => {
            out.line(format!("entries: {}", stats.total_file_count));
            out.line(format!("restore size: {}", human_bytes(stats.total_size)));
        }
        StatsMode::FilesByContents => {
            out.line(format!("distinct contents: {}", stats.total_file_count));
            out.line(format!("their size: {}", human_bytes(stats.total_size)));
        }
        StatsMode::BlobsPerFile => {
            out.line(format!("files: {}", stats.total_file_count));
            out.line(format!("blobs (per file): {blobs}"));
            out.line(format!("their size: {}", human_bytes(stats.total_size)));
        }
        StatsMode::RawData => {
            out.line(format!("blobs: {blobs}"));
            out.line(format!("stored size: {}", human_bytes(stats.total_size)));
            if let Some(plain) = stats.total_uncompressed_size {
                out.line(format!("uncompressed size: {}", human_bytes(plain)));
            }
        }
    }
    Ok(Finished::Ok)
}

pub fn cat(what: &str, id: Option<&str>, settings: &Settings, out: &Output) -> Result<Finished> {
    let what = umbra_repo::cat::CatWhat::parse(what)?;
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let bytes = repo.cat(what, id)?;
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(&mut stdout, &bytes)
        .and_then(|()| std::io::Write::flush(&mut stdout))
        .map_err(|e| {
            UmbraError::new(ErrorKind::Io, "cannot write to standard output").with_source(e)
        })?;
    Ok(Finished::Ok)
}

pub fn dump(
    snapshot: &str,
    path: &str,
    archive: &str,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let archive: umbra_repo::browse::Archive = archive.parse()?;
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let mut stdout = std::io::stdout().lock();
    repo.dump(&format!("{snapshot}:{path}"), archive, &mut stdout)?;
    std::io::Write::flush(&mut stdout).map_err(|e| {
        UmbraError::new(ErrorKind::Io, "cannot write to standard output").with_source(e)
    })?;
    Ok(Finished::Ok)
}

pub fn diff(
    a: &str,
    b: &str,
    metadata: bool,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let diff = repo.diff(a, b, metadata)?;
    if out.mode.json {
        // restic's `diff --json`: one "change" per entry, then the "statistics".
        for c in &diff.changes {
            let slash = if c.entry.kind == "dir" { "/" } else { "" };
            out.json(&serde_json::json!({
                "message_type": "change",
                "path": format!("{}{slash}", c.entry.path.display()),
                "modifier": c.modifier,
            }));
        }
        out.json(&serde_json::json!({
            "message_type": "statistics",
            "source_snapshot": a,
            "target_snapshot": b,
            "changed_files": diff.changed_files,
            "added": diff.added,
            "removed": diff.removed,
        }));
        return Ok(Finished::Ok);
    }
    out.line(format!(
        "comparing snapshot {} to {}:\n",
        diff.first, diff.second
    ));
    for c in &diff.changes {
        if crate::output::stdout_closed() {
            return Ok(Finished::Ok);
        }
        let slash = if c.entry.kind == "dir" { "/" } else { "" };
        out.line(format!(
            "{:<5}{}{slash}",
            c.modifier,
            c.entry.path.display()
        ));
    }
    let (add, rm) = (&diff.added, &diff.removed);
    out.line(String::new());
    out.line(format!(
        "Files:       {:5} new, {:5} removed, {:5} changed",
        add.files, rm.files, diff.changed_files
    ));
    out.line(format!(
        "Dirs:        {:5} new, {:5} removed",
        add.dirs, rm.dirs
    ));
    out.line(format!(
        "Others:      {:5} new, {:5} removed",
        add.others, rm.others
    ));
    out.line(format!(
        "Data Blobs:  {:5} new, {:5} removed",
        add.data_blobs, rm.data_blobs
    ));
    out.line(format!(
        "Tree Blobs:  {:5} new, {:5} removed",
        add.tree_blobs, rm.tree_blobs
    ));
    out.line(format!("  Added:   {}", human_bytes(add.bytes)));
    out.line(format!("  Removed: {}", human_bytes(rm.bytes)));
    Ok(Finished::Ok)
}

pub fn restore(args: &RestoreArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let overwrite: Overwrite = args.overwrite.parse()?;
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let target = super::absolute(&args.target)?;
    let outcome = repo.restore(&RestoreRequest {
        snapshot: args.snapshot.clone(),
        target: target.clone(),
        includes: args.include.clone(),
        excludes: args.exclude.clone(),
        overwrite,
        delete: args.delete,
        dry_run: args.dry_run,
        skip_space_check: args.skip_space_check,
    })?;
    for d in &outcome.damaged {
        let kept = d.partial.as_ref().map_or_else(String::new, |p| {
            format!("; what could be read is in {}", target.join(p).display())
        });
        out.error_line(format!(
            "damaged: {} ({} bytes missing: {}){kept}",
            target.join(&d.path).display(),
            d.missing_bytes,
            d.reason
        ));
    }
    for (path, why) in &outcome.not_restored {
        out.error_line(format!(
            "not restored: {}: {why}",
            target.join(path).display()
        ));
    }
    for (path, what) in &outcome.problems {
        out.error_line(format!(
            "not restored faithfully: {}: {what}",
            target.join(path).display()
        ));
    }
    for path in &outcome.deleted {
        out.detail(format!("deleted {}", target.join(path).display()));
    }
    let verb = if args.dry_run {
        "would restore"
    } else {
        "restored"
    };
    out.summary(format!(
        "{verb} {} files ({}), {} directories, {} other entries into {}; {} files already \
         right, {} left alone, {} deleted",
        outcome.files,
        human_bytes(outcome.bytes),
        outcome.dirs,
        outcome.other,
        target.display(),
        outcome.unchanged,
        outcome.skipped,
        outcome.deleted.len()
    ));
    let mut summary = serde_json::to_value(&outcome).unwrap_or_default();
    summary["message_type"] = "summary".into();
    summary["target"] = serde_json::json!(target);
    summary["dry_run"] = args.dry_run.into();
    out.json(&summary);
    if outcome.damaged.is_empty() && !outcome.not_restored.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::Io,
            format!(
                "{} entr(ies) could not be restored, the target refused them, and {} lack \
                 metadata (listed above)",
                outcome.not_restored.len(),
                outcome.problems.len()
            ),
        )
        .with_hint(
            "Everything else is restored. Make the target writable where it refused (its \
             permissions, or names its filesystem cannot hold), then restore again: files \
             already right are kept.",
        ));
    }
    if !outcome.damaged.is_empty()
        || !outcome.problems.is_empty()
        || !outcome.not_restored.is_empty()
    {
        return Err(UmbraError::new(
            ErrorKind::RepositoryDamaged,
            format!(
                "{} file(s) could not be restored completely, {} entr(ies) not at all, and \
                 {} lack metadata (listed above)",
                outcome.damaged.len(),
                outcome.not_restored.len(),
                outcome.problems.len()
            ),
        )
        .with_hint(
            "Everything else is restored. Run `umbra check --read-data` to see the damage in \
             the repository; a damaged file's readable part is kept as NAME.umbra-damaged.",
        ));
    }
    Ok(Finished::Ok)
}
