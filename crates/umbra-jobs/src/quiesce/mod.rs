//! Application quiescers: bring an application to a consistent point, hold it there only
//! while the snapshot set is taken, and let go at once.
//!
//! This is the VSS-writer idea in umbra's job model. Each quiescer implements one small
//! trait, [`Quiescer`], in its own file: `command.rs`, `sqlite.rs`, `postgres.rs`,
//! `mysql.rs`, and `freeze.rs` (the cgroup freezer, with `cgroup.rs` and `guardian.rs`). [`while_frozen`] owns the hard part, the same for all:
//!
//! - **Bounded.** From the first freeze to the last thaw is at most `bound` (10 s by
//!   default). A watchdog thread thaws everything when the bound runs out, even while the
//!   snapshot set is still being taken; the set is then discarded and the attempt fails
//!   (the job may retry, `quiesce_retries`).
//! - **Thaw always runs**: after a failed freeze, after a failed snapshot, when the bound
//!   runs out, and on SIGINT/SIGTERM (an interrupt action). Each quiescer is thawed exactly
//!   once per freeze.
//! - **Measured.** Each quiescer's window, from the start of its freeze to the end of its
//!   thaw, goes into the snapshot's consistency record.

#[cfg(unix)]
pub mod cgroup;
pub mod command;
#[cfg(unix)]
pub mod freeze;
#[cfg(unix)]
pub mod guardian;
pub mod mysql;
pub mod postgres;
mod sql_session;
pub mod sqlite;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::path::Path;

use umbra_core::{ErrorKind, Method, QuiesceRecord, Result, Substitute, UmbraError};

/// What a freeze quiescer names, as the job file does: systemd units, containers and
/// cgroups, all frozen through the Linux cgroup freezer (so Linux only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreezeTargets {
    pub units: Vec<String>,
    pub containers: Vec<String>,
    pub cgroups: Vec<PathBuf>,
}

/// What a quiescer learns before the freeze: how each source will be read, and where it
/// may stage files (removed after the run).
pub struct Context<'a> {
    pub sources: &'a [(PathBuf, Method)],
    pub staging: &'a Path,
}

impl Context<'_> {
    /// Checks that a database server's data directory `dir` is read from a snapshot: a
    /// direct read would happen after the thaw, when the freeze no longer protects it.
    /// `server` names it in the error ("PostgreSQL (main)").
    pub fn require_snapshot(&self, dir: &Path, server: &str) -> Result<()> {
        match self.method_of(dir) {
            None => Err(UmbraError::new(
                ErrorKind::Config,
                format!("the data directory {} of {server} is not among the job's sources", dir.display()),
            )
            .with_hint("Add the data directory (or a directory above it) to the job's `sources`.")),
            Some(Method::Direct) => Err(UmbraError::new(
                ErrorKind::Config,
                format!("the data directory {} of {server} would be read directly, after the thaw: the freeze needs a snapshot", dir.display()),
            )
            .with_hint("Put the data directory on btrfs, LVM, ZFS or a reflink filesystem, or use the stop/start hooks instead.")),
            Some(_) => Ok(()),
        }
    }

    /// The method of the source that holds `path`.
    #[must_use]
    pub fn method_of(&self, path: &Path) -> Option<Method> {
        self.sources
            .iter()
            .filter(|(s, _)| path.starts_with(s))
            .max_by_key(|(s, _)| s.as_os_str().len())
            .map(|(_, m)| *m)
    }
}

/// One application that can be held still.
///
/// The contract: `prepare` may be slow (a checkpoint) and runs before the window opens;
/// `freeze` must reach a consistent point and return by `deadline`; `thaw` releases it,
/// and is called once after every `freeze` call, also a failed one; `finish` runs after
/// the backup, with whether it succeeded.
pub trait Quiescer: Send {
    /// The name the job gives it, for messages and the record.
    fn name(&self) -> &str;
    /// Its type, as written in the job file.
    fn kind(&self) -> &'static str;
    /// The paths whose consistency it guarantees.
    fn covers(&self) -> &[PathBuf];
    fn prepare(&mut self, ctx: &Context<'_>) -> Result<()>;
    fn freeze(&mut self, deadline: Instant) -> Result<()>;
    fn thaw(&mut self) -> Result<()>;
    /// Work that must follow the thaw before anything is read (collecting what the
    /// application reported when it let go). Outside the window.
    fn after_thaw(&mut self) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self, backup_ok: bool) -> Result<()>;
    /// What the application reported while frozen, for the record.
    fn details(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Files to store in place of (or beside) live ones, and live files to leave out.
    fn substitutes(&self) -> (Vec<Substitute>, Vec<PathBuf>) {
        (Vec::new(), Vec::new())
    }
    /// Whether it makes the data it covers consistent without a volume snapshot (by
    /// copying it), so that a direct read is no reason for a warning.
    fn works_without_snapshot(&self) -> bool {
        false
    }
    /// Whether the run may go on without it when its freeze cannot complete, where the
    /// sources it covers allow (`open_files` other than `required`): they then keep the
    /// level their snapshots give. Only the cgroup freezer says yes: it adds agreement
    /// across files to copies that are each consistent already; a database quiescer's
    /// failure fails the run.
    fn optional(&self) -> bool {
        false
    }
    /// Whether its last freeze completed (asked after a failed window).
    fn froze(&self) -> bool {
        true
    }
}

/// A quiescer this platform cannot run: its `prepare` fails, naming why, before anything
/// is frozen. (The job file's parser refuses such quiescers first; this is the guard.)
#[cfg(windows)]
pub struct Unsupported {
    pub name: String,
    pub why: &'static str,
}

#[cfg(windows)]
impl Quiescer for Unsupported {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "unsupported"
    }
    fn covers(&self) -> &[PathBuf] {
        &[]
    }
    fn prepare(&mut self, _ctx: &Context<'_>) -> Result<()> {
        Err(UmbraError::new(
            ErrorKind::Config,
            format!("quiescer `{}` cannot run here: {}", self.name, self.why),
        ))
    }
    fn freeze(&mut self, _deadline: Instant) -> Result<()> {
        Ok(())
    }
    fn thaw(&mut self) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self, _backup_ok: bool) -> Result<()> {
        Ok(())
    }
}

/// A quiescer shared between the run, the watchdog and the interrupt action.
pub type Shared = Arc<Mutex<Box<dyn Quiescer>>>;

/// The freeze state of one attempt: which quiescers are frozen, since when.
struct Window {
    quiescers: Vec<Shared>,
    /// Per quiescer: when its freeze started, and when its thaw ended.
    started: Mutex<Vec<Option<Instant>>>,
    ended: Mutex<Vec<Option<Instant>>>,
    thaw_errors: Mutex<Vec<String>>,
    /// Held while thawing: the run and the watchdog never thaw the same quiescer twice.
    thawing: Mutex<()>,
}

impl Window {
    /// Thaws every quiescer whose freeze started and that is not thawed yet, newest first.
    fn thaw_all(&self) {
        let _one_at_a_time = self.thawing.lock();
        for i in (0..self.quiescers.len()).rev() {
            let due = {
                let started = self.started.lock().map(|s| s[i].is_some()).unwrap_or(false);
                let ended = self.ended.lock().map(|e| e[i].is_some()).unwrap_or(true);
                started && !ended
            };
            if !due {
                continue;
            }
            if let Ok(mut q) = self.quiescers[i].lock() {
                if let Err(e) = q.thaw() {
                    if let Ok(mut errs) = self.thaw_errors.lock() {
                        errs.push(format!("cannot thaw {}: {}", q.name(), e.message()));
                    }
                }
            }
            if let Ok(mut ended) = self.ended.lock() {
                ended[i] = Some(Instant::now());
            }
        }
    }
}

/// Prepares every quiescer (slow work, outside the window).
pub fn prepare_all(quiescers: &[Shared], ctx: &Context<'_>) -> Result<()> {
    for q in quiescers {
        let mut q = q.lock().map_err(|_| poisoned())?;
        q.prepare(ctx).map_err(|e| {
            UmbraError::new(
                e.kind(),
                format!(
                    "cannot prepare {} for the freeze: {}",
                    q.name(),
                    e.message()
                ),
            )
            .with_hint(e.hint().to_string())
        })?;
    }
    Ok(())
}

/// Lets every quiescer finish (after the backup). Returns the failures as messages.
pub fn finish_all(quiescers: &[Shared], backup_ok: bool) -> Vec<String> {
    let mut failures = Vec::new();
    for q in quiescers {
        if let Ok(mut q) = q.lock() {
            if let Err(e) = q.finish(backup_ok) {
                failures.push(format!("{}: {}", q.name(), e.message()));
            }
        }
    }
    failures
}

fn poisoned() -> UmbraError {
    UmbraError::new(ErrorKind::Internal, "a quiescer's lock is poisoned")
}

/// Why an attempt failed: only an exceeded bound is worth retrying.
#[derive(Debug)]
pub enum FreezeError {
    BoundExceeded(UmbraError),
    Other(UmbraError),
}

impl FreezeError {
    #[must_use]
    pub fn into_error(self) -> UmbraError {
        match self {
            Self::BoundExceeded(e) | Self::Other(e) => e,
        }
    }
}

/// Freezes every quiescer in order, runs `take` (the snapshot set) and thaws them all, in
/// at most `bound`. Returns what `take` returned and one record per quiescer. When the
/// bound runs out first, everything is thawed at that moment, what `take` returned is
/// dropped (a snapshot set releases itself on drop), and the error says by how much.
pub fn while_frozen<T>(
    quiescers: &[Shared],
    bound: Duration,
    take: impl FnOnce() -> Result<T>,
) -> std::result::Result<(T, Vec<QuiesceRecord>), FreezeError> {
    let n = quiescers.len();
    let window = Arc::new(Window {
        quiescers: quiescers.to_vec(),
        started: Mutex::new(vec![None; n]),
        ended: Mutex::new(vec![None; n]),
        thaw_errors: Mutex::new(Vec::new()),
        thawing: Mutex::new(()),
    });
    let _on_interrupt = {
        let w = Arc::clone(&window);
        umbra_core::interrupt::on_interrupt("thawing the frozen applications", move || w.thaw_all())
    };
    let opened = Instant::now();
    let deadline = opened + bound;
    let expired = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = {
        let (w, expired) = (Arc::clone(&window), Arc::clone(&expired));
        std::thread::spawn(move || {
            if stop_rx.recv_timeout(bound) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                expired.store(true, Ordering::SeqCst);
                w.thaw_all();
            }
        })
    };
    let mut failure: Option<UmbraError> = None;
    for (i, q) in quiescers.iter().enumerate() {
        if let Ok(mut s) = window.started.lock() {
            s[i] = Some(Instant::now());
        }
        let result = match q.lock() {
            Ok(mut q) => q.freeze(deadline).map_err(|e| {
                UmbraError::new(
                    e.kind(),
                    format!("cannot freeze {}: {}", q.name(), e.message()),
                )
                .with_hint(e.hint().to_string())
            }),
            Err(_) => Err(poisoned()),
        };
        if let Err(e) = result {
            failure = Some(e);
            break;
        }
        if expired.load(Ordering::SeqCst) {
            break;
        }
    }
    let taken = if failure.is_none() && !expired.load(Ordering::SeqCst) {
        match take() {
            Ok(v) => Some(v),
            Err(e) => {
                failure = Some(e);
                None
            }
        }
    } else {
        None
    };
    let _ = stop_tx.send(());
    window.thaw_all();
    let _ = watchdog.join();
    let thaw_errors = window
        .thaw_errors
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    // A freeze that failed because it ran into the deadline counts as the bound running
    // out, whichever noticed first: the watchdog or the freeze's own timeout.
    if expired.load(Ordering::SeqCst) || (failure.is_some() && Instant::now() >= deadline) {
        drop(taken);
        let cause = failure
            .map(|e| format!(" ({})", e.message()))
            .unwrap_or_default();
        return Err(FreezeError::BoundExceeded(
            UmbraError::new(
                ErrorKind::JobFailed,
                format!(
                    "the freeze outlasted its {:.1} s bound{cause}; everything was thawed at the bound ({:.1} s) and the snapshot set was discarded",
                    bound.as_secs_f64(),
                    opened.elapsed().as_secs_f64()
                ),
            )
            .with_hint("Raise `freeze_timeout`, allow retries with `quiesce_retries`, or find what made the freeze or the snapshot slow in the job log."),
        ));
    }
    if let Some(e) = failure {
        return Err(FreezeError::Other(e));
    }
    if !thaw_errors.is_empty() {
        return Err(FreezeError::Other(UmbraError::new(
            ErrorKind::JobFailed,
            thaw_errors.join("; "),
        )));
    }
    let Some(value) = taken else {
        return Err(FreezeError::Other(poisoned()));
    };
    let started = window.started.lock().map(|s| s.clone()).unwrap_or_default();
    let ended = window.ended.lock().map(|e| e.clone()).unwrap_or_default();
    let mut records = Vec::with_capacity(n);
    for (i, q) in quiescers.iter().enumerate() {
        let q = q.lock().map_err(|_| FreezeError::Other(poisoned()))?;
        let freeze_us = match (
            started.get(i).copied().flatten(),
            ended.get(i).copied().flatten(),
        ) {
            (Some(a), Some(b)) => {
                u64::try_from(b.duration_since(a).as_micros()).unwrap_or(u64::MAX)
            }
            _ => 0,
        };
        records.push(QuiesceRecord {
            name: q.name().to_string(),
            kind: q.kind().to_string(),
            freeze_us,
            covers: q.covers().to_vec(),
            details: q.details(),
        });
    }
    Ok((value, records))
}

#[cfg(test)]
mod tests;
