//! `umbra drill JOB`: the drill is umbra-jobs' (`umbra_jobs::drill`); this opens the
//! repository the way every command does and renders the record.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_jobs::drill::{DrillContext, DrillRecord};
use umbra_jobs::Config;
use umbra_repo::lock::LockKind;

use crate::output::Output;
use crate::settings::Settings;
use crate::Finished;

pub fn run(
    job: &str,
    snapshot: Option<&str>,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let config = Config::load(&settings.config_file)?;
    let job = config.job(job)?;
    let open_repo = |lock: LockKind| super::open(settings, Some(lock), out);
    let ctx = DrillContext {
        open_repo: &open_repo,
        monitor: out.monitor(),
    };
    let record = umbra_jobs::drill::run(job, snapshot, &ctx)?;
    print(&record, out);
    super::monitoring::write_textfile(&config, out);
    if record.passed() {
        return Ok(Finished::Ok);
    }
    if record.status == "interrupted" {
        return Ok(Finished::Interrupted);
    }
    Err(UmbraError::new(
        ErrorKind::JobFailed,
        format!(
            "the drill of job {} failed: {}",
            record.job,
            record.error.as_deref().unwrap_or("see its log")
        ),
    )
    .with_hint(record.hint.clone().unwrap_or_else(|| {
        format!(
            "The log {} has each step; docs/DRILL.md says what each check proves.",
            record.log.display()
        )
    })))
}

/// A finished drill for humans (one JSON line with --json).
pub fn print(r: &DrillRecord, out: &Output) {
    out.json(&serde_json::to_value(r).unwrap_or_default());
    out.summary(format!(
        "drill of job {}: {} in {:.1} s; snapshot {}",
        r.job,
        r.status,
        r.seconds,
        r.snapshot_id
            .as_deref()
            .map_or("-", |id| &id[..id.len().min(8)])
    ));
    for c in &r.checks {
        out.summary(format!("  {}", c.line()));
        for q in &c.queries {
            out.summary(format!(
                "    {} on {}: {}",
                q.sql,
                q.database,
                q.result
                    .as_deref()
                    .or(q.error.as_deref())
                    .unwrap_or("")
                    .replace('\n', ", ")
            ));
        }
    }
    for w in &r.warnings {
        out.summary(format!("warning: {w}"));
    }
    out.summary(format!("log: {}", r.log.display()));
}
