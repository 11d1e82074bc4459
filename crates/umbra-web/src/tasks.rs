//! Runs and restores started from the console, and their live output.
//!
//! Each is `umbra` itself, started as a child with the console's own global options and
//! `--json`: a run from the console is a run from the command line (same job lock, same
//! guards, same record), and a crash in it never takes the console down. Its output
//! lines (`--json` events on stdout, messages on stderr) are kept in memory for the
//! page, and sent as server-sent events to every browser watching. The child gets
//! `UMBRA_TRIGGERED_BY=console`, which the job's history records; restores, which have no
//! job, are written to the console's own audit log (`web/audit.jsonl`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;
use umbra_core::{ErrorKind, Result, UmbraError};

/// How many tasks the console keeps in memory; older ended ones are forgotten (their
/// lines are in the job's log, and every task is in the audit log).
const KEPT: usize = 100;

/// One line of a task's output.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// `stdout` (a JSON event) or `stderr`.
    pub stream: &'static str,
    pub text: String,
}

/// What a task is.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TaskKind {
    Run {
        job: String,
    },
    Restore {
        snapshot: String,
        path: String,
        target: PathBuf,
    },
}

/// A task's state, as the API reports it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskStatus {
    pub id: String,
    #[serde(flatten)]
    pub kind: TaskKind,
    pub started: String,
    /// `running`, or how it ended: `success`, `incomplete` (exit 3), `failed`,
    /// `interrupted`.
    pub state: String,
    pub exit_code: Option<i32>,
    pub lines: usize,
}

/// One task.
pub struct Task {
    pub id: String,
    pub kind: TaskKind,
    pub started: String,
    lines: Mutex<Vec<Line>>,
    ended: Mutex<Option<i32>>,
    /// Bumped at every new line and at the end; watchers wait on it.
    changes: watch::Sender<u64>,
}

impl Task {
    #[must_use]
    pub fn status(&self) -> TaskStatus {
        // A poisoned lock counts as ended, without a code.
        let (done, exit) = self
            .ended
            .lock()
            .map(|e| (e.is_some(), *e))
            .unwrap_or((true, None));
        TaskStatus {
            id: self.id.clone(),
            kind: self.kind.clone(),
            started: self.started.clone(),
            state: match (done, exit) {
                (false, _) => "running",
                (true, Some(0)) => "success",
                (true, Some(3)) => "incomplete",
                (true, Some(130)) => "interrupted",
                _ => "failed",
            }
            .to_string(),
            exit_code: exit.filter(|c| *c >= 0),
            lines: self.lines.lock().map(|l| l.len()).unwrap_or(0),
        }
    }

    /// Lines from index `from` on.
    #[must_use]
    pub fn lines_from(&self, from: usize) -> Vec<Line> {
        self.lines
            .lock()
            .map(|l| l.get(from..).map(<[Line]>::to_vec).unwrap_or_default())
            .unwrap_or_default()
    }

    #[must_use]
    pub fn is_done(&self) -> bool {
        self.ended.lock().map(|e| e.is_some()).unwrap_or(true)
    }

    /// A receiver that wakes at every change.
    #[must_use]
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn push(&self, stream: &'static str, text: String) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(Line { stream, text });
        }
        self.changes.send_modify(|n| *n += 1);
    }

    fn end(&self, code: i32) {
        if let Ok(mut e) = self.ended.lock() {
            *e = Some(code);
        }
        self.changes.send_modify(|n| *n += 1);
    }
}

/// How to start `umbra` for a task.
#[derive(Debug, Clone)]
pub struct ChildCommand {
    pub exe: PathBuf,
    /// The console's global options (`-r`, `--password-file`, `-c`, ...), passed on.
    pub global_args: Vec<OsString>,
    /// Set for the child: the repository password the console resolved once
    /// (`UMBRA_PASSWORD`), so that a run from the console never waits for a prompt.
    pub env: Vec<(String, String)>,
}

/// The console's tasks.
pub struct Tasks {
    child: ChildCommand,
    by_id: Mutex<HashMap<String, Arc<Task>>>,
    audit: PathBuf,
}

impl Tasks {
    #[must_use]
    pub fn new(child: ChildCommand, audit: PathBuf) -> Self {
        Self {
            child,
            by_id: Mutex::new(HashMap::new()),
            audit,
        }
    }

    #[must_use]
    pub fn get(&self, id: &str) -> Option<Arc<Task>> {
        self.by_id.lock().ok()?.get(id).cloned()
    }

    /// The console's tasks, newest first.
    #[must_use]
    pub fn all(&self) -> Vec<Arc<Task>> {
        let mut v: Vec<Arc<Task>> = self
            .by_id
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| b.started.cmp(&a.started));
        v
    }

    /// Writes one line to the audit log (an edit of the job file); a failure to write
    /// it is returned.
    pub fn audit(&self, what: &impl Serialize) -> Result<()> {
        append_line(&self.audit, what)
    }

    /// A run of `job` this console started and that has not ended.
    #[must_use]
    pub fn running_job(&self, job: &str) -> Option<Arc<Task>> {
        self.all()
            .into_iter()
            .find(|t| !t.is_done() && matches!(&t.kind, TaskKind::Run { job: j } if j == job))
    }

    /// Starts `umbra run JOB`.
    pub fn start_run(&self, job: &str) -> Result<Arc<Task>> {
        let args = vec![OsString::from("run"), OsString::from(job)];
        self.start(
            TaskKind::Run {
                job: job.to_string(),
            },
            args,
        )
    }

    /// Starts `umbra restore SNAPSHOT --target TARGET --include PATH --overwrite MODE`:
    /// PATH comes back below TARGET under its full path (`/` restores it in place).
    pub fn start_restore(
        &self,
        snapshot: &str,
        path: &str,
        target: PathBuf,
        overwrite: &str,
    ) -> Result<Arc<Task>> {
        let mut args = vec![
            OsString::from("restore"),
            OsString::from(snapshot),
            OsString::from("--target"),
            target.clone().into_os_string(),
            OsString::from("--overwrite"),
            OsString::from(overwrite),
        ];
        if path != "/" {
            // The entry itself and everything below it; glob characters in its name are
            // escaped, so that they match only themselves.
            let literal: String = path
                .chars()
                .flat_map(|c| {
                    let escape = matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\');
                    escape.then_some('\\').into_iter().chain(std::iter::once(c))
                })
                .collect();
            for pattern in [literal.clone(), format!("{literal}/**")] {
                args.push(OsString::from("--include"));
                args.push(OsString::from(pattern));
            }
        }
        self.start(
            TaskKind::Restore {
                snapshot: snapshot.to_string(),
                path: path.to_string(),
                target,
            },
            args,
        )
    }

    fn start(&self, kind: TaskKind, args: Vec<OsString>) -> Result<Arc<Task>> {
        let mut cmd = tokio::process::Command::new(&self.child.exe);
        cmd.args(&self.child.global_args)
            // `-v`: each phase is told as it ends, for the live view.
            .args(["--json", "-v"])
            .args(&args)
            .envs(self.child.env.iter().map(|(k, v)| (k, v)))
            .env("UMBRA_TRIGGERED_BY", "console")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(false);
        let mut child = cmd.spawn().map_err(|e| {
            UmbraError::io(
                "cannot start umbra for the console's task",
                &self.child.exe,
                e,
            )
        })?;
        let (changes, _) = watch::channel(0);
        let task = Arc::new(Task {
            id: crate::access::random_hex(8),
            kind,
            started: jiff::Timestamp::now().to_string(),
            lines: Mutex::new(Vec::new()),
            ended: Mutex::new(None),
            changes,
        });
        if let Ok(mut m) = self.by_id.lock() {
            // Keep the last tasks that ended (the audit log has them all).
            if m.len() >= KEPT {
                let mut ended: Vec<(String, String)> = m
                    .values()
                    .filter(|t| t.is_done())
                    .map(|t| (t.started.clone(), t.id.clone()))
                    .collect();
                ended.sort();
                for (_, id) in ended.iter().take(m.len() + 1 - KEPT) {
                    m.remove(id);
                }
            }
            m.insert(task.id.clone(), Arc::clone(&task));
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (t1, t2, t3) = (Arc::clone(&task), Arc::clone(&task), Arc::clone(&task));
        let out_reader = tokio::spawn(async move {
            if let Some(s) = stdout {
                let mut lines = BufReader::new(s).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    t1.push("stdout", l);
                }
            }
        });
        let err_reader = tokio::spawn(async move {
            if let Some(s) = stderr {
                let mut lines = BufReader::new(s).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    t2.push("stderr", l);
                }
            }
        });
        let audit = self.audit.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = out_reader.await;
            let _ = err_reader.await;
            let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
            t3.end(code);
            let _ = append_line(&audit, &t3.status());
        });
        if let Err(e) = append_line(&self.audit, &task.status()) {
            task.push("stderr", format!("warning: {}", e.message()));
        }
        Ok(task)
    }
}

/// Appends one JSON line to the audit log: every task when it starts and when it ends,
/// and every edit of the job file.
fn append_line(file: &std::path::Path, what: &impl Serialize) -> Result<()> {
    use std::io::Write;
    let mut line = serde_json::to_string(&serde_json::json!({
        "time": jiff::Timestamp::now().to_string(),
        "from": "console",
        "task": what,
    }))
    .map_err(|e| {
        UmbraError::new(ErrorKind::Internal, "cannot write the audit log").with_source(e)
    })?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| UmbraError::io("cannot write the console's audit log", file, e))
}
