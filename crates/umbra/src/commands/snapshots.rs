//! Reading commands: `snapshots`, `show`, `ls`, `diff`, `restore`.

use umbra_core::Result;
use umbra_repo::lock::LockKind;
use umbra_repo::restore::RestoreRequest;
use umbra_repo::SnapshotInfo;

use crate::cli::RestoreArgs;
use crate::output::{human_bytes, Output};
use crate::settings::Settings;
use crate::Finished;

fn short_time(rfc3339: &str) -> String {
    // 2026-11-22T04:50:01.123Z -> 2026-11-22 04:50:01
    rfc3339.replace('T', " ").chars().take(19).collect()
}

fn consistency_short(s: &SnapshotInfo) -> String {
    s.consistency
        .as_ref()
        .map_or_else(|| "-".to_string(), |c| c.short())
}

pub fn list(settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Shared), out)?;
    let snaps = repo.snapshots()?;
    if out.mode.json {
        out.json(&serde_json::to_value(&snaps).unwrap_or_default());
        return Ok(Finished::Ok);
    }
    out.line(format!(
        "{:<8}  {:<19}  {:<12}  {:<24}  {:<12}  {}",
        "ID", "Time (UTC)", "Host", "Consistency", "Tags", "Paths"
    ));
    for s in &snaps {
        out.line(format!(
            "{:<8}  {:<19}  {:<12}  {:<24}  {:<12}  {}",
            s.short_id,
            short_time(&s.time),
            s.hostname,
            consistency_short(s),
            s.tags.join(","),
            s.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.summary(format!("{} snapshot(s)", snaps.len()));
    Ok(Finished::Ok)
}

pub fn show(spec: &str, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Shared), out)?;
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
                for p in &src.changed_while_read {
                    out.line(format!("      changed while read: {}", p.display()));
                }
                for p in &src.unreadable {
                    out.line(format!("      unreadable (missing): {}", p.display()));
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

pub fn ls(spec: &str, path: Option<&str>, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Shared), out)?;
    let full = match path {
        Some(p) => format!("{spec}:{p}"),
        None => spec.to_string(),
    };
    for e in repo.ls(&full)? {
        if out.mode.json {
            out.json(&serde_json::to_value(&e).unwrap_or_default());
        } else {
            out.line(e.path.display().to_string());
        }
    }
    Ok(Finished::Ok)
}

pub fn diff(a: &str, b: &str, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Shared), out)?;
    let changes = repo.diff(a, b)?;
    let (mut added, mut removed, mut modified) = (0, 0, 0);
    for (change, e) in &changes {
        match change.letter() {
            '+' => added += 1,
            '-' => removed += 1,
            _ => modified += 1,
        }
        if out.mode.json {
            out.json(&serde_json::json!({"change": change.letter().to_string(), "path": e.path, "kind": e.kind}));
        } else {
            let slash = if e.kind == "dir" { "/" } else { "" };
            out.line(format!(
                "{}    {}{slash}",
                change.letter(),
                e.path.display()
            ));
        }
    }
    out.summary(format!(
        "{added} added, {removed} removed, {modified} changed"
    ));
    Ok(Finished::Ok)
}

pub fn restore(args: &RestoreArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Shared), out)?;
    let target = super::absolute(&args.target)?;
    let outcome = repo.restore(&RestoreRequest {
        snapshot: args.snapshot.clone(),
        target: target.clone(),
        includes: args.include.clone(),
        excludes: args.exclude.clone(),
    })?;
    out.summary(format!(
        "restored {} files and {} directories ({}) into {}",
        outcome.files,
        outcome.dirs,
        human_bytes(outcome.bytes),
        target.display()
    ));
    out.json(&serde_json::json!({
        "message_type": "summary", "files": outcome.files, "dirs": outcome.dirs,
        "bytes": outcome.bytes, "target": target,
    }));
    Ok(Finished::Ok)
}
