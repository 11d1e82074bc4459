//! Repository upkeep: `check`, `forget`, `prune`, `unlock`.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::forget::KeepPolicy;
use umbra_repo::lock::LockKind;

use crate::cli::{ForgetArgs, RepairCommand};
use crate::output::{human_bytes, Output};
use crate::settings::Settings;
use crate::Finished;

pub fn check(
    read_data: umbra_repo::check::ReadData,
    check_unused: bool,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let options = umbra_repo::OpenOptions {
        lock: super::read_lock(settings),
        bypass_cache: true,
    };
    let repo = super::open_with(settings, options, out)?;
    let location = repo.location().to_string();
    let findings = repo.check(read_data, check_unused)?;
    let errors = findings.iter().filter(|f| f.severity == "error").count();
    let detail = match read_data {
        umbra_repo::check::ReadData::All => "structure and all data",
        umbra_repo::check::ReadData::Subset(_) => "structure and part of the data",
        umbra_repo::check::ReadData::None => "structure",
    };
    record(
        "check",
        &location,
        errors == 0,
        &format!("{detail}; {errors} error(s)"),
        out,
    );
    let only_unused = findings
        .iter()
        .filter(|f| f.severity == "error")
        .all(|f| f.message.starts_with("unused blob"));
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
            format!("check found {errors} error(s) in {location}"),
        )
        .with_hint(if only_unused {
            "Nothing is lost: no snapshot needs these blobs. `umbra prune` removes them."
        } else {
            "Keep a copy of the repository before repairing anything. Lost packs: `umbra repair \
             index`, then back up again; data lost for good: `umbra repair snapshots`. \
             docs/RESTORE.md has the steps."
        }));
    }
    out.summary(format!(
        "no errors found{}{}",
        match read_data {
            umbra_repo::check::ReadData::All => " (all data read and verified)",
            umbra_repo::check::ReadData::Subset(_) =>
                " (the chosen part of the data read and verified)",
            umbra_repo::check::ReadData::None => "",
        },
        if findings.is_empty() {
            String::new()
        } else {
            format!("; {} warning(s)", findings.len())
        }
    ));
    Ok(Finished::Ok)
}

pub fn tag(
    snapshots: &[String],
    add: Vec<String>,
    remove: Vec<String>,
    set: Vec<String>,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let change = umbra_repo::tags::TagChange {
        add,
        remove,
        set: (!set.is_empty()).then(|| set.into_iter().filter(|t| !t.is_empty()).collect()),
    };
    let repo = super::open(settings, Some(LockKind::Exclusive), out)?;
    let changed = repo.tag(snapshots, &change)?;
    for id in &changed {
        out.line(format!("retagged {id}"));
    }
    out.json(&serde_json::json!({"message_type": "summary", "changed": changed}));
    out.summary(format!("{} snapshot(s) retagged", changed.len()));
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
    let filter = args.filter.to_filter();
    let verdicts = if args.snapshots.is_empty() {
        repo.forget_where(&policy, args.dry_run, &|s| filter.matches(s))?
    } else {
        repo.forget_ids(&args.snapshots, args.dry_run)?
    };
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

/// Notes a check or prune in umbra's maintenance log (what the web console's health page
/// shows); a failure to write it is said, and changes nothing else.
fn record(kind: &str, repository: &str, ok: bool, detail: &str, out: &Output) {
    if let Err(e) = umbra_jobs::maintenance_log::append(kind, repository, ok, detail) {
        out.error_line(format!(
            "warning: {} (the {kind} itself is done)",
            e.message()
        ));
    }
}

fn prune_with(repo: &umbra_repo::Repo, out: &Output) -> Result<()> {
    let p = repo.prune()?;
    record(
        "prune",
        &repo.location().to_string(),
        true,
        &format!(
            "{} -> {} pack(s), {} freed",
            p.packs_before,
            p.packs_after,
            human_bytes(p.bytes_freed())
        ),
        out,
    );
    out.summary(format!(
        "pruned: {} -> {} pack(s), {} -> {}, {} freed ({} pack(s) repacked)",
        p.packs_before,
        p.packs_after,
        human_bytes(p.bytes_before),
        human_bytes(p.bytes_after),
        human_bytes(p.bytes_freed()),
        p.packs_repacked,
    ));
    let mut v = serde_json::to_value(&p).unwrap_or_default();
    v["message_type"] = "prune".into();
    v["bytes_freed"] = p.bytes_freed().into();
    out.json(&v);
    Ok(())
}

pub fn prune(settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, Some(LockKind::Exclusive), out)?;
    prune_with(&repo, out)?;
    Ok(Finished::Ok)
}

pub fn repair(command: &RepairCommand, settings: &Settings, out: &Output) -> Result<Finished> {
    match *command {
        RepairCommand::Index {
            read_all_packs,
            dry_run,
        } => {
            let lock = if dry_run {
                LockKind::Shared
            } else {
                LockKind::Exclusive
            };
            let repo = super::open(settings, Some(lock), out)?;
            let lost = repo.lost_packs()?;
            let unindexed = repo.unindexed_packs()?;
            repo.repair_index(read_all_packs, dry_run)?;
            let verb = if dry_run { "would drop" } else { "dropped" };
            out.summary(format!(
                "index repaired: {verb} {} lost pack(s), {} {unindexed} pack(s) no index named",
                lost.len(),
                if dry_run { "would add" } else { "added" },
            ));
            out.json(&serde_json::json!({
                "message_type": "summary", "lost_packs": lost, "unindexed_packs": unindexed,
                "dry_run": dry_run,
            }));
        }
        RepairCommand::Snapshots { forget, dry_run } => {
            let lock = if dry_run || !forget {
                LockKind::Shared
            } else {
                LockKind::Exclusive
            };
            let repo = super::open(settings, Some(lock), out)?;
            let r = repo.repair_snapshots(forget, dry_run)?;
            out.summary(format!(
                "{} repaired snapshot(s) written{}; {} snapshot(s) now",
                r.written.len(),
                if r.written.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.written.join(", "))
                },
                r.after
            ));
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["message_type"] = "summary".into();
            out.json(&v);
        }
    }
    Ok(Finished::Ok)
}

pub fn unlock(all: bool, settings: &Settings, out: &Output) -> Result<Finished> {
    let repo = super::open(settings, None, out)?;
    let removed = repo.unlock(all)?;
    out.summary(format!("removed {} lock(s)", removed.len()));
    Ok(Finished::Ok)
}
