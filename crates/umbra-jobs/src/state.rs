//! What a job leaves on disk between runs: its lock, its logs and its history.
//!
//! Layout, below umbra's state directory (see `umbra_snapshot::registry::state_dir`):
//!
//! ```text
//! jobs/NAME/lock            flock(2)ed while the job runs; holds the owner's pid
//! jobs/NAME/history.jsonl   one RunRecord per finished run, appended
//! jobs/NAME/drills.jsonl    one DrillRecord per finished drill, appended
//! jobs/NAME/logs/RUN.log    each run's log: phases, commands, their output, exit codes
//! ```
//!
//! Durability: a history line is written with one `write(2)` in append mode and fsynced
//! before the run reports its result, so a crash loses at most the run in progress; a
//! torn last line (power loss mid-write) is skipped when reading. The lock is an flock:
//! the kernel releases it when the process dies, so a crashed run never blocks the next.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use umbra_core::{ErrorKind, Result, UmbraError};

/// How many run logs a job keeps; older ones are removed when a run starts.
pub const LOGS_KEPT: usize = 50;

/// The state directory of one job.
#[derive(Debug, Clone)]
pub struct JobState {
    dir: PathBuf,
}

impl JobState {
    /// The state of job `name` below umbra's state directory.
    pub fn for_job(name: &str) -> Result<Self> {
        Ok(Self::at(
            umbra_snapshot::registry::state_dir()?
                .join("jobs")
                .join(name),
        ))
    }

    #[must_use]
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn ensure(&self) -> Result<()> {
        std::fs::create_dir_all(self.dir.join("logs"))
            .map_err(|e| UmbraError::io("cannot create the job's state directory", &self.dir, e))
    }

    /// Takes the job's lock, or says who holds it.
    pub fn lock(&self, job: &str) -> Result<JobLock> {
        self.ensure()?;
        let path = self.dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| UmbraError::io("cannot open the job lock", &path, e))?;
        // flock(2) on Linux, LockFileEx on Windows; released when the file closes.
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(UmbraError::new(
                ErrorKind::JobRunning,
                format!(
                    "job `{job}` is already running{}",
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                ),
            ));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(
            file,
            "pid {}, started {}",
            std::process::id(),
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_default()
        );
        Ok(JobLock { _file: file })
    }

    /// Whether the job is running now (its lock is held by a process).
    #[must_use]
    pub fn running(&self) -> Option<String> {
        let file = File::open(self.dir.join("lock")).ok()?;
        // Released when `file` closes.
        let busy = file.try_lock_shared().is_err();
        if !busy {
            return None;
        }
        let mut s = String::new();
        let _ = (&file).read_to_string(&mut s);
        Some(s.trim().to_string())
    }

    /// Opens a new log for run `run_id`, removing logs beyond [`LOGS_KEPT`].
    pub fn new_log(&self, run_id: &str) -> Result<JobLog> {
        self.ensure()?;
        let dir = self.dir.join("logs");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut logs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            logs.sort();
            let excess = logs.len().saturating_sub(LOGS_KEPT - 1);
            for old in logs.into_iter().take(excess) {
                let _ = std::fs::remove_file(old);
            }
        }
        let path = dir.join(format!("{run_id}.log"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| UmbraError::io("cannot create the job log", &path, e))?;
        Ok(JobLog {
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends `record` to the history and syncs it.
    pub fn append(&self, record: &RunRecord) -> Result<()> {
        self.append_line("history.jsonl", record)
    }

    /// Appends a drill's record to the drills' history (`drills.jsonl`) and syncs it.
    pub fn append_drill(&self, record: &crate::drill::DrillRecord) -> Result<()> {
        self.append_line("drills.jsonl", record)
    }

    /// The finished drills, oldest first.
    pub fn drills(&self) -> Result<Vec<crate::drill::DrillRecord>> {
        self.read_lines("drills.jsonl")
    }

    fn append_line(&self, name: &str, record: &impl Serialize) -> Result<()> {
        self.ensure()?;
        let path = self.dir.join(name);
        let mut line = serde_json::to_vec(record).map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot encode the run record").with_source(e)
        })?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| UmbraError::io("cannot open the job history", &path, e))?;
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| UmbraError::io("cannot write the job history", &path, e))
    }

    /// The finished runs, oldest first. Lines that cannot be read (a torn last line) are
    /// skipped.
    pub fn history(&self) -> Result<Vec<RunRecord>> {
        self.read_lines("history.jsonl")
    }

    fn read_lines<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Vec<T>> {
        let path = self.dir.join(name);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(UmbraError::io("cannot read the job history", &path, e)),
        };
        Ok(BufReader::new(file)
            .lines()
            .map_while(std::result::Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect())
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Held while a job runs; the kernel releases it when the process ends.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
}

/// One run's log file. Written from several threads (a command's stdout and stderr).
#[derive(Debug)]
pub struct JobLog {
    pub path: PathBuf,
    file: Mutex<File>,
}

impl JobLog {
    /// Appends one line, prefixed with the time and `tag` (the phase).
    pub fn line(&self, tag: &str, text: &str) {
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Millisecond)
            .unwrap_or_default();
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{now} [{tag}] {text}");
        }
    }
}

/// What became of one command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandRecord {
    pub command: String,
    #[serde(flatten)]
    pub ending: crate::command::Ending,
    pub seconds: f64,
    pub on_error: crate::command::OnError,
}

/// What became of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub phase: String,
    /// `ok`, `warned` (a command failed under `warn`), `failed`, or `skipped`.
    pub status: String,
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One finished run of a job, as `umbra history` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub job: String,
    pub run_id: String,
    pub started: String,
    pub seconds: f64,
    /// `success`, `incomplete` (saved, but files unreadable or changed while read),
    /// `failed`, or `interrupted`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do about `error`, when umbra knows (a wrong password, a missing repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub phases: Vec<PhaseRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// From the end of `before` to the end of `after_snapshot`, when `before` had commands:
    /// how long the services those commands stopped were down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime_seconds: Option<f64>,
    pub log: PathBuf,
    /// What the backup read and stored, when it saved a snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupFigures>,
    /// Why a run that saved its snapshot is a `warning` rather than a `success` event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What each notification target answered, for the start and the end of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<umbra_notify::Delivery>,
    /// CPU seconds (user and system) umbra itself spent on the run, and those of the
    /// commands it ran and waited for: what the run cost the machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands_cpu_seconds: Option<f64>,
    /// A run of `umbra backup PATH...` rather than of a job in the job file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ad_hoc: bool,
    /// Who started the run when it was not the command line or the scheduler: `console`
    /// for a run started from the web console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<String>,
}

impl RunRecord {
    /// Whether the run saved its snapshot (`success`, or `incomplete`: saved, with files
    /// unreadable or changed while read). The stale-backup check and
    /// `umbra_job_last_success_timestamp_seconds` count these.
    #[must_use]
    pub fn saved(&self) -> bool {
        matches!(self.status.as_str(), "success" | "incomplete")
    }

    /// The deliveries that failed.
    pub fn failed_notifications(&self) -> impl Iterator<Item = &umbra_notify::Delivery> {
        self.notifications.iter().filter(|d| !d.ok)
    }

    /// When the run ended, from its start and duration.
    #[must_use]
    pub fn ended(&self) -> Option<jiff::Timestamp> {
        let start: jiff::Timestamp = self.started.parse().ok()?;
        let span = jiff::SignedDuration::try_from_secs_f64(self.seconds).ok()?;
        start.checked_add(span).ok()
    }
}

/// The figures of a run's backup: for `umbra metrics` and the notifications' summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BackupFigures {
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    /// Bytes of file content read from the sources.
    pub bytes_read: u64,
    /// Bytes added to the repository, before compression.
    pub bytes_added: u64,
    pub sources: Vec<SourceFigures>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quiesced: Vec<QuiesceFigures>,
    /// The repository after the run: its snapshots and the bytes of its packs (measured
    /// after retention; absent when it could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_snapshots: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_bytes: Option<u64>,
}

/// One source's consistency in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceFigures {
    pub path: PathBuf,
    pub method: String,
    pub level: String,
}

/// One quiescer's freeze window in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuiesceFigures {
    pub name: String,
    pub kind: String,
    pub freeze_seconds: f64,
    /// It did not freeze, and the run went on without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}
