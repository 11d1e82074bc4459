//! `umbra run`, `umbra jobs`, `umbra history` and `umbra config check`: the job file's
//! commands. The work is umbra-jobs'; this module opens the repository the way every
//! other command does and renders the run records.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_jobs::state::{JobState, RunRecord};
use umbra_jobs::{Config, RunContext};
use umbra_repo::lock::LockKind;
use umbra_repo::{OpenOptions, Repo};

use crate::cli::RunArgs;
use crate::output::Output;
use crate::settings::{RepoChoice, Settings};
use crate::Finished;

fn load(settings: &Settings) -> Result<Config> {
    Config::load(&settings.config_file)
}

/// `umbra run JOB...` / `umbra run --all`: each job in turn; the exit code is the worst.
pub fn run(args: &RunArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let config = load(settings)?;
    let names: Vec<String> = if args.all {
        config.jobs.keys().cloned().collect()
    } else {
        args.jobs.clone()
    };
    if names.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::Config,
            format!("{} defines no jobs", config.file.display()),
        )
        .with_hint("Add a [jobs.NAME] table with `sources`."));
    }
    // Unknown names fail before any job runs.
    let jobs = names
        .iter()
        .map(|n| config.job(n))
        .collect::<Result<Vec<_>>>()?;
    let open_repo = |lock: LockKind| {
        if let RepoChoice::Default(d) = &settings.repo {
            if !d.location.exists() {
                drop(super::backup::create_default(d, settings, out)?);
            }
        }
        super::open(settings, Some(lock), out)
    };
    let open_copy_target = |name: &str| -> Result<Repo> {
        let spec = config.repositories.get(name).ok_or_else(|| {
            UmbraError::new(
                ErrorKind::Config,
                format!("the job file has no [repositories.{name}]"),
            )
        })?;
        let location = crate::settings::location_of(spec)?;
        let password = match (&spec.password_file, &spec.password_command) {
            (Some(file), _) => crate::settings::read_password_file(file)?,
            (None, Some(command)) => crate::settings::run_password_command(command)?,
            (None, None) => {
                return Err(UmbraError::new(
                    ErrorKind::Config,
                    format!(
                        "{}: [repositories.{name}] has no password_file or password_command",
                        spec.origin
                    ),
                ))
            }
        };
        Repo::open(
            &location,
            &password,
            OpenOptions::locked(LockKind::Shared),
            out.monitor(),
        )
    };
    let ctx = RunContext {
        open_repo: &open_repo,
        open_copy_target: &open_copy_target,
        repository: settings.repo.location().to_string(),
        monitor: out.monitor(),
        // The web console starts `umbra run` with this set, so that the record says so.
        triggered_by: std::env::var("UMBRA_TRIGGERED_BY")
            .ok()
            .filter(|t| t == "console"),
    };
    let names: Vec<&str> = config.jobs.keys().map(String::as_str).collect();
    for line in umbra_jobs::bases::release_bases_of_removed_jobs(&names, out.monitor().as_ref()) {
        out.line(line);
    }
    let mut failed = Vec::new();
    let mut incomplete = false;
    for job in jobs {
        let report = umbra_jobs::run_job(job, &ctx)?;
        print_run(&report.record, out);
        super::monitoring::write_textfile(&config, out);
        match report.record.status.as_str() {
            "success" => {}
            // The signal handler exits with 130 once the recovery is done; should the run
            // get here first, it must not start the next job.
            "interrupted" => return Ok(Finished::Interrupted),
            "incomplete" => incomplete = true,
            _ => failed.push((
                format!(
                    "{}: {}",
                    job.name,
                    report.record.error.as_deref().unwrap_or("failed")
                ),
                report.record.hint.clone().unwrap_or_else(|| {
                    format!(
                        "`umbra history {} -v` shows each command's output and exit code.",
                        job.name
                    )
                }),
            )),
        }
    }
    if !failed.is_empty() {
        let (messages, hints): (Vec<String>, Vec<String>) = failed.into_iter().unzip();
        let mut hints_unique: Vec<String> = Vec::new();
        for h in hints {
            if !hints_unique.contains(&h) {
                hints_unique.push(h);
            }
        }
        return Err(UmbraError::new(
            ErrorKind::JobFailed,
            format!("job {}", messages.join("; job ")),
        )
        .with_hint(hints_unique.join(" ")));
    }
    Ok(if incomplete {
        Finished::Incomplete
    } else {
        Finished::Ok
    })
}

fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.3} s")
    } else {
        format!("{s:.1} s")
    }
}

/// A finished run for humans (and as one JSON line with --json).
fn print_run(r: &RunRecord, out: &Output) {
    out.json(&serde_json::to_value(r).unwrap_or_default());
    let snapshot = r
        .snapshot_id
        .as_deref()
        .map(|id| format!("; snapshot {}", &id[..id.len().min(8)]))
        .unwrap_or_default();
    out.summary(format!(
        "job {}: {} in {}{snapshot}",
        r.job,
        r.status,
        seconds(r.seconds)
    ));
    for p in &r.phases {
        out.summary(format!(
            "  {:<15} {:<7} {:>10}{}",
            p.phase,
            p.status,
            seconds(p.seconds),
            p.error
                .as_deref()
                .map(|e| format!("  {e}"))
                .unwrap_or_default()
        ));
    }
    if let Some(d) = r.downtime_seconds {
        out.summary(format!(
            "downtime: {} (from the end of `before` to the end of `after_snapshot`)",
            seconds(d)
        ));
    }
    for w in &r.warnings {
        out.summary(format!("warning: {w}"));
    }
    for d in r.failed_notifications() {
        out.summary(format!(
            "notification failed: {} to {}: {}",
            d.event.as_str(),
            d.target,
            d.error.as_deref().unwrap_or("no answer")
        ));
    }
    out.summary(format!("log: {}", r.log.display()));
}

/// `umbra jobs`: each job with its schedule, next run and last result.
pub fn jobs(settings: &Settings, out: &Output) -> Result<Finished> {
    let config = load(settings)?;
    let now = jiff::Timestamp::now();
    out.line(format!(
        "{:<16} {:<22} {:<22} {:<12} {:>10}  {}",
        "JOB", "SCHEDULE", "NEXT RUN", "LAST RESULT", "DOWNTIME", "LAST DRILL"
    ));
    for (name, job) in &config.jobs {
        let state = JobState::for_job(name)?;
        let last = state.history()?.pop();
        let running = state.running();
        let next = job
            .schedule
            .as_ref()
            .and_then(|c| umbra_jobs::schedule::next_due(name, c, now))
            .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string());
        let result = match (&running, &last) {
            (Some(_), _) => "running".to_string(),
            (None, Some(r)) => r.status.clone(),
            (None, None) => "never run".to_string(),
        };
        let drills = state.drills()?;
        let last_drill = drills.last();
        let drill = last_drill.map_or_else(
            || "never".to_string(),
            |d| {
                let ago = d.ended().map_or_else(String::new, |t| {
                    umbra_jobs::overdue::span(t.duration_until(now).as_secs_f64())
                });
                if d.passed() {
                    format!("proven restorable {ago} ago")
                } else {
                    format!("{} {ago} ago", d.status)
                }
            },
        );
        out.line(format!(
            "{:<16} {:<22} {:<22} {:<12} {:>10}  {drill}",
            name,
            job.schedule.as_ref().map_or("-", |c| c.text()),
            next.as_deref().unwrap_or("-"),
            result,
            last.as_ref()
                .and_then(|r| r.downtime_seconds)
                .map_or("-".to_string(), seconds),
        ));
        if let Some(r) = &last {
            for d in r.failed_notifications() {
                out.line(format!(
                    "  notification failed: {} to {}: {}",
                    d.event.as_str(),
                    d.target,
                    d.error.as_deref().unwrap_or("no answer")
                ));
            }
        }
        out.json(&serde_json::json!({
            "job": name,
            "schedule": job.schedule.as_ref().map(|c| c.text()),
            "next_run": next,
            "running": running,
            "sources": job.sources.iter().map(|s| s.path.clone()).collect::<Vec<_>>(),
            "last_run": last,
            "last_drill": last_drill,
            "notify": job.notify.iter().map(|t| serde_json::json!({
                "target": t.label(),
                "on": t.on,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(Finished::Ok)
}

/// `umbra history [JOB]`: past runs, newest last.
pub fn history(
    job: Option<&str>,
    last: usize,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let names: Vec<String> = match job {
        Some(j) => vec![j.to_string()],
        None => {
            // Ad-hoc backups (`umbra backup PATH...`) are listed too, also with no job file.
            let ad_hoc = umbra_jobs::config::ad_hoc::AD_HOC_JOB.to_string();
            let have_ad_hoc = !JobState::for_job(&ad_hoc)?.history()?.is_empty();
            match load(settings) {
                Ok(config) => config.jobs.keys().cloned().chain(Some(ad_hoc)).collect(),
                Err(_) if have_ad_hoc => vec![ad_hoc],
                Err(e) => return Err(e),
            }
        }
    };
    let mut runs = Vec::new();
    let mut drills = Vec::new();
    for n in &names {
        let state = JobState::for_job(n)?;
        runs.extend(state.history()?);
        drills.extend(state.drills()?);
    }
    if runs.is_empty() {
        if let Some(j) = job {
            // A job that exists but never ran is not an error; a typo is.
            if let Ok(config) = load(settings) {
                config.job(j)?;
            }
        }
    }
    // Runs and drills, in the order they started.
    let mut rows: Vec<(String, Row)> = runs
        .into_iter()
        .map(|r| (r.started.clone(), Row::Run(r)))
        .chain(
            drills
                .into_iter()
                .map(|d| (d.started.clone(), Row::Drill(d))),
        )
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let skip = rows.len().saturating_sub(last);
    out.line(format!(
        "{:<26} {:<12} {:<11} {:>10} {:>10}  {:<8}  PHASES",
        "STARTED", "JOB", "RESULT", "DURATION", "DOWNTIME", "SNAPSHOT"
    ));
    for (_, row) in rows.into_iter().skip(skip) {
        let r = match row {
            Row::Run(r) => r,
            Row::Drill(d) => {
                print_drill_row(&d, out);
                continue;
            }
        };
        out.json(&serde_json::to_value(&r).unwrap_or_default());
        let phases: Vec<String> = r
            .phases
            .iter()
            .map(|p| format!("{} {} {}", p.phase, p.status, seconds(p.seconds)))
            .collect();
        out.line(format!(
            "{:<26} {:<12} {:<11} {:>10} {:>10}  {:<8}  {}",
            r.started,
            r.job,
            r.status,
            seconds(r.seconds),
            r.downtime_seconds.map_or("-".to_string(), seconds),
            r.snapshot_id
                .as_deref()
                .map_or("-", |id| &id[..id.len().min(8)]),
            phases.join(", ")
        ));
        if out.mode.verbosity > 0 {
            if let Some(e) = &r.error {
                out.line(format!("    error: {e}"));
            }
            out.line(format!("    cost: {}", cost(&r)));
            out.line(format!("    log: {}", r.log.display()));
        }
    }
    Ok(Finished::Ok)
}

/// What a run cost the machine: its window, CPU, and what it read.
fn cost(r: &RunRecord) -> String {
    let mut parts = vec![format!("window {}", seconds(r.seconds))];
    if let Some(c) = r.cpu_seconds {
        parts.push(format!("umbra {c:.2} CPU s"));
    }
    if let Some(c) = r.commands_cpu_seconds {
        parts.push(format!("commands {c:.2} CPU s"));
    }
    if let Some(b) = &r.backup {
        parts.push(format!(
            "{} read",
            umbra_core::units::human_bytes(b.bytes_read)
        ));
    }
    parts.join(", ")
}

enum Row {
    Run(RunRecord),
    Drill(umbra_jobs::drill::DrillRecord),
}

/// A drill as a row of `umbra history` (its checks where a run has its phases).
fn print_drill_row(d: &umbra_jobs::drill::DrillRecord, out: &Output) {
    let mut json = serde_json::to_value(d).unwrap_or_default();
    if let Some(o) = json.as_object_mut() {
        o.insert("kind".into(), "drill".into());
    }
    out.json(&json);
    let checks: Vec<String> = d
        .checks
        .iter()
        .map(|c| format!("{} {}", c.check, if c.ok { "ok" } else { "FAILED" }))
        .collect();
    out.line(format!(
        "{:<26} {:<12} {:<11} {:>10} {:>10}  {:<8}  {}",
        d.started,
        d.job,
        format!("drill {}", d.status),
        seconds(d.seconds),
        "-",
        d.snapshot_id
            .as_deref()
            .map_or("-", |id| &id[..id.len().min(8)]),
        checks.join(", ")
    ));
    if out.mode.verbosity > 0 {
        if let Some(e) = &d.error {
            out.line(format!("    error: {e}"));
        }
        out.line(format!("    log: {}", d.log.display()));
    }
}

/// `umbra config check`: every problem of the job file, or a summary of what it defines.
pub fn check(settings: &Settings, out: &Output) -> Result<Finished> {
    let config = load(settings)?;
    let missing = config.missing_paths();
    for e in &missing {
        if out.mode.json {
            out.json(&serde_json::json!({"message_type": "error", "message": e.message()}));
        } else {
            eprintln!("error: {}", e.message());
        }
    }
    if !missing.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::Config,
            format!(
                "{} has {} problem(s) a run would fail on (listed above)",
                config.file.display(),
                missing.len()
            ),
        )
        .with_hint(
            "Create what is missing (`umbra -c FILE init` for the repository), or correct the \
             job file at the lines named.",
        ));
    }
    for (name, job) in &config.jobs {
        out.line(format!(
            "job {name}: {} source(s), {} command(s){}",
            job.sources.len(),
            job.hooks.all().count()
                + job
                    .sources
                    .iter()
                    .map(|s| s.before.len() + s.after.len())
                    .sum::<usize>(),
            job.schedule
                .as_ref()
                .map(|c| format!(", schedule `{}`", c.text()))
                .unwrap_or_default()
        ));
        for t in &job.notify {
            let on: Vec<&str> = t.on.iter().map(|e| e.as_str()).collect();
            out.line(format!("  notify {} on {}", t.label(), on.join(", ")));
        }
        if let Some(every) = job.drill.every {
            out.line(format!(
                "  drill every {}, in {}",
                umbra_jobs::overdue::span(every.as_secs_f64()),
                job.drill.scratch_dir.display()
            ));
        }
    }
    if let Some(path) = &config.metrics_textfile {
        out.line(format!("metrics textfile: {}", path.display()));
    }
    out.summary(format!(
        "{}: valid, {} job(s)",
        config.file.display(),
        config.jobs.len()
    ));
    out.json(&serde_json::json!({
        "message_type": "config_ok",
        "file": config.file,
        "jobs": config.jobs.keys().collect::<Vec<_>>(),
    }));
    Ok(Finished::Ok)
}
