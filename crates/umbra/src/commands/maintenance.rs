//! Repository upkeep: `check`, `forget`, `prune`, `unlock`.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::forget::KeepPolicy;
use umbra_repo::lock::LockKind;

use crate::cli::ForgetArgs;
use crate::output::{human_bytes, Output};
use crate::settings::Settings;
use crate::Finished;

pub fn check(read_data: bool, settings: &Settings, out: &Output) -> Result<Finished> {
    let options = umbra_repo::OpenOptions {
        lock: Some(LockKind::Shared),
        bypass_cache: true,
    };
    let repo = super::open_with(settings, options, out)?;
    let findings = repo.check(read_data)?;
    let errors = findings.iter().filter(|f| f.severity == "error").count();
    for f in &findings {
        if out.mode.json {
            out.json(&serde_json::to_value(f).unwrap_or_default());
        } else {
            eprintln!("{}: {}", f.severity, f.message);
        }
    }
    if errors > 0 {
        return Err(UmbraError::new(
            ErrorKind::RepositoryDamaged,
            format!("check found {errors} error(s) in {}", repo.location()),
        ));
    }
    out.summary(format!(
        "no errors found{}{}",
        if read_data {
            " (all data read and verified)"
        } else {
            ""
        },
        if findings.is_empty() {
            String::new()
        } else {
            format!("; {} warning(s)", findings.len())
        }
    ));
    Ok(Finished::Ok)
}

pub fn forget(args: &ForgetArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let policy = KeepPolicy {
        last: args.keep_last,
        hourly: args.keep_hourly,
        daily: args.keep_daily,
        weekly: args.keep_weekly,
        monthly: args.keep_monthly,
        yearly: args.keep_yearly,
        within: args.keep_within.clone(),
    };
    let lock = if args.dry_run {
        LockKind::Shared
    } else {
        LockKind::Exclusive
    };
    let repo = super::open(settings, Some(lock), out)?;
    let verdicts = repo.forget(&policy, args.dry_run)?;
    let removed = verdicts.iter().filter(|v| !v.keep).count();
    for v in &verdicts {
        if out.mode.json {
            out.json(&serde_json::json!({
                "id": v.snapshot.id, "time": v.snapshot.time, "keep": v.keep, "reasons": v.reasons,
            }));
        } else {
            out.line(format!(
                "{} {}  {}  {}",
                if v.keep { "keep  " } else { "remove" },
                v.snapshot.short_id,
                v.snapshot.time,
                v.reasons.join(", ")
            ));
        }
    }
    out.summary(format!(
        "{} {removed} snapshot(s), kept {}",
        if args.dry_run {
            "would remove"
        } else {
            "removed"
        },
        verdicts.len() - removed
    ));
    if args.prune && !args.dry_run {
        prune_with(&repo, out)?;
    }
    Ok(Finished::Ok)
}

fn prune_with(repo: &umbra_repo::Repo, out: &Output) -> Result<()> {
    let p = repo.prune()?;
    out.summary(format!(
        "pruned: {} pack(s) removed, {} repacked, {} freed",
        p.packs_removed,
        p.packs_repacked,
        human_bytes(p.bytes_removed)
    ));
    out.json(&serde_json::json!({
        "message_type": "prune", "packs_removed": p.packs_removed,
        "packs_repacked": p.packs_repacked, "bytes_removed": p.bytes_removed,
    }));
    Ok(())
}

pub fn prune(settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Exclusive), out)?;
    prune_with(&repo, out)?;
    Ok(Finished::Ok)
}

pub fn unlock(all: bool, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, None, out)?;
    let removed = repo.unlock(all)?;
    out.summary(format!("removed {} lock(s)", removed.len()));
    Ok(Finished::Ok)
}
