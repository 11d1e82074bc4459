//! The job file and each job's history, as the overview shows them: every job as the
//! dialog umbra started from shows it (its sources, each with its open-files setting and
//! the snapshot method it gets now, its `before` and `after_snapshot` commands), and its
//! last runs. The job file is read again for every page, so an edit shows at once.

use std::path::{Path, PathBuf};

use serde::Serialize;
use umbra_core::Result;
use umbra_jobs::state::{JobState, RunRecord};
use umbra_jobs::Config;
use umbra_snapshot::planner::{OpenFiles, Planner};

/// How many runs a job's page and chart show.
pub const RUNS_SHOWN: usize = 30;

/// One source of a job.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    pub path: PathBuf,
    /// `auto`, `required` or `off`.
    pub open_files: &'static str,
    /// The method `umbra sources` would choose now, or why none can be chosen.
    pub method: String,
    pub reason: String,
}

/// One job, with its last runs (newest first).
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub name: String,
    pub sources: Vec<SourceView>,
    pub before: Vec<String>,
    pub after_snapshot: Vec<String>,
    pub after: Vec<String>,
    pub schedule: Option<String>,
    pub next_run: Option<String>,
    /// Who holds the job's lock, when it is running.
    pub running: Option<String>,
    pub runs: Vec<RunRecord>,
}

fn open_files_word(o: OpenFiles) -> &'static str {
    match o {
        OpenFiles::Auto => "auto",
        OpenFiles::Required => "required",
        OpenFiles::Off => "off",
    }
}

/// Every job of the job file at `file`.
pub fn overview(file: &Path) -> Result<Vec<JobView>> {
    let config = Config::load(file)?;
    let planner = Planner::new().ok();
    let now = jiff::Timestamp::now();
    let mut out = Vec::new();
    for (name, job) in &config.jobs {
        let sources = job
            .sources
            .iter()
            .map(|s| {
                let choice = planner
                    .as_ref()
                    .map(|p| p.choose(&s.path, s.open_files, s.snapshot));
                let (method, reason) = match choice {
                    Some(Ok(c)) => (c.method.as_str().to_string(), c.reason),
                    Some(Err(e)) => ("none".to_string(), e.message().to_string()),
                    None => (
                        "unknown".to_string(),
                        "the mount table cannot be read".into(),
                    ),
                };
                SourceView {
                    path: s.path.clone(),
                    open_files: open_files_word(s.open_files),
                    method,
                    reason,
                }
            })
            .collect();
        let lines = |cmds: &[umbra_jobs::command::HookCommand]| {
            cmds.iter().map(|c| c.line.display()).collect::<Vec<_>>()
        };
        let state = JobState::for_job(name)?;
        let mut runs = state.history()?;
        runs.reverse();
        runs.truncate(RUNS_SHOWN);
        out.push(JobView {
            name: name.clone(),
            sources,
            before: lines(&job.hooks.before),
            after_snapshot: lines(&job.hooks.after_snapshot),
            after: lines(&job.hooks.after),
            schedule: job.schedule.as_ref().map(|c| c.text().to_string()),
            next_run: job
                .schedule
                .as_ref()
                .and_then(|c| umbra_jobs::schedule::next_due(name, c, now))
                .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string()),
            running: state.running(),
            runs,
        });
    }
    Ok(out)
}

/// Whether `name` is a job of the file.
pub fn exists(file: &Path, name: &str) -> Result<bool> {
    Ok(Config::load(file)?.jobs.contains_key(name))
}

/// A job's run log, by run id (its file name below the job's `logs/`).
pub fn log(name: &str, run_id: &str) -> Result<Option<String>> {
    if !run_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_:.T".contains(c))
        || run_id.contains("..")
    {
        return Ok(None);
    }
    let state = JobState::for_job(name)?;
    let path = state.dir().join("logs").join(format!("{run_id}.log"));
    Ok(std::fs::read_to_string(path).ok())
}
