//! `umbra jobs --check`, `umbra metrics` and `umbra notify test`: what monitoring asks of
//! umbra. The work is umbra-jobs' (the check, the metrics) and umbra-notify's (sending);
//! this module renders it.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_jobs::overdue::State;
use umbra_jobs::Config;
use umbra_notify::{EventKind, Notification};

use crate::output::Output;
use crate::settings::Settings;
use crate::Finished;

/// `umbra jobs --check`: a Nagios/Icinga plugin. The first line is the state and why; the
/// next lines each job; performance data gives each job's age and limit. Exit 0, 1, 2,
/// or 3 (UNKNOWN) when the job file cannot be read.
pub fn check(settings: &Settings, out: &Output) -> Finished {
    let now = jiff::Timestamp::now();
    let checks = Config::load(&settings.config_file)
        .and_then(|config| umbra_jobs::overdue::check(&config, now));
    let checks = match checks {
        Ok(c) => c,
        Err(e) => {
            out.line(format!("UNKNOWN - {}", e.message()));
            out.json(&serde_json::json!({"state": "UNKNOWN", "message": e.message()}));
            return Finished::Code(3);
        }
    };
    let worst = checks.iter().map(|c| c.state).max().unwrap_or(State::Ok);
    let bad: Vec<&str> = checks
        .iter()
        .filter(|c| c.state == worst && worst != State::Ok)
        .map(|c| c.message.as_str())
        .collect();
    let head = match worst {
        State::Ok if checks.is_empty() => "no job has a schedule or a max_age to check".into(),
        State::Ok => format!("{} job(s) on time", checks.len()),
        State::Warning => format!("last run failed: {}", bad.join("; ")),
        State::Critical => format!(
            "{} of {} job(s) overdue: {}",
            bad.len(),
            checks.len(),
            bad.join("; ")
        ),
    };
    let perf: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "'{}_age'={};;{};0",
                c.job,
                c.age.map_or("U".to_string(), |a| format!("{a:.0}s")),
                c.max_age.as_secs()
            )
        })
        .collect();
    out.line(format!(
        "{} - {head}{}",
        worst.as_str(),
        if perf.is_empty() {
            String::new()
        } else {
            format!(" | {}", perf.join(" "))
        }
    ));
    for c in &checks {
        out.line(format!("{}: {}", c.state.as_str(), c.message));
        out.json(&serde_json::json!({
            "job": c.job,
            "state": c.state.as_str(),
            "age_seconds": c.age,
            "max_age_seconds": c.max_age.as_secs(),
            "message": c.message,
        }));
    }
    Finished::Code(worst as u8)
}

/// `umbra metrics`: the Prometheus text of every job, on stdout.
pub fn metrics(settings: &Settings, _out: &Output) -> Result<Finished> {
    let config = Config::load(&settings.config_file)?;
    print!(
        "{}",
        umbra_jobs::metrics::render(&config, jiff::Timestamp::now())?
    );
    Ok(Finished::Ok)
}

/// After a run: the `[metrics] textfile`, when the job file names one. A failure is said,
/// and changes no exit status.
pub fn write_textfile(config: &Config, out: &Output) {
    let Some(path) = &config.metrics_textfile else {
        return;
    };
    let written = umbra_jobs::metrics::render(config, jiff::Timestamp::now())
        .and_then(|text| umbra_jobs::metrics::write_textfile(path, &text));
    if let Err(e) = written {
        out.error_line(format!(
            "warning: {} (the backup is not affected). {}",
            e.message(),
            e.hint()
        ));
    }
}

/// `umbra notify test JOB`: one `test` event to each target, and what each answered.
pub fn notify_test(job: &str, settings: &Settings, out: &Output) -> Result<Finished> {
    let config = Config::load(&settings.config_file)?;
    let job = config.job(job)?;
    if job.notify.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::Config,
            format!("job `{}` has no notification targets", job.name),
        )
        .with_hint("Add a [notify] or [jobs.NAME.notify] table (docs/MONITORING.md)."));
    }
    let host = umbra_jobs::runner::notify::host_name();
    let mut failed = 0;
    let mut targets = Vec::new();
    for spec in &job.notify {
        match spec.target() {
            Ok(t) => targets.push(t),
            Err(why) => {
                failed += 1;
                out.line(format!("{}: not sent: {why}", spec.label()));
                out.json(&serde_json::json!({"target": spec.label(), "ok": false, "error": why}));
            }
        }
    }
    let run_id = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%S%.3fZ")
        .to_string();
    let n = Notification {
        event: EventKind::Test,
        job: job.name.clone(),
        host: host.clone(),
        run_id: run_id.clone(),
        summary: format!(
            "job {} on {host}: a test notification from `umbra notify test`; no backup ran",
            job.name
        ),
        record: serde_json::json!({"job": job.name, "run_id": run_id, "status": "test"}),
        log_tail: String::new(),
    };
    for d in umbra_notify::deliver(&targets, &n, &umbra_notify::Limits::default()) {
        if !d.ok {
            failed += 1;
        }
        let answer = match (&d.error, d.status) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, Some(code)) => format!(
                "HTTP {code}{}",
                d.answer
                    .as_deref()
                    .filter(|a| !a.is_empty())
                    .map(|a| format!(" \"{a}\""))
                    .unwrap_or_default()
            ),
            (None, None) => "sent".into(),
        };
        out.line(format!(
            "{}: {answer} ({} tr{}, {:.2} s)",
            d.target,
            d.tries,
            if d.tries == 1 { "y" } else { "ies" },
            d.seconds
        ));
        out.json(&serde_json::to_value(&d).unwrap_or_default());
    }
    if failed > 0 {
        return Err(UmbraError::new(
            ErrorKind::JobFailed,
            format!(
                "{failed} of {} target(s) did not take the test",
                job.notify.len()
            ),
        )
        .with_hint(
            "Check each URL, secret file and receiver named above; runs record the same failures.",
        ));
    }
    Ok(Finished::Ok)
}
