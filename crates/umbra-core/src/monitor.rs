//! How the library tells the outside world what it is doing.
//!
//! Domain code never prints. It reports to a [`Monitor`]: progress through [`Task`]s, and
//! everything else that a user may want to know (a repository was created, a file could
//! not be read, a file changed while it was read) as an [`Event`]. The CLI implements
//! `Monitor` three ways (progress bars on a terminal, a plain summary otherwise, JSON lines
//! with `--json`); tests implement it to collect events. Anything that is not fatal goes
//! here rather than into an error, so one bad file never aborts a backup of thousands.

use std::path::PathBuf;

/// What a progress counter counts, so a renderer can format it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressKind {
    /// No meaningful total: show that something is going on.
    Spinner,
    /// Items (files, snapshots, packs).
    Count,
    /// Bytes.
    Bytes,
}

/// One unit of work whose progress is counted. Dropping it does not finish it: call
/// [`Task::finish`].
pub trait Task: Send + Sync {
    /// The expected total, once known.
    fn set_total(&self, total: u64);
    /// Adds `n` to the amount done.
    fn increment(&self, n: u64);
    /// Replaces the task's title.
    fn set_title(&self, title: &str);
    /// Marks the task done.
    fn finish(&self);
    /// For a task that goes through files: how many it has reached, of how many found
    /// so far (restic's `files_done` and `total_files`). Tasks that show none ignore it.
    fn set_files(&self, _done: u64, _total: u64) {}
    /// For a task that goes through files: how to list the files it is working on now
    /// (restic's `current_files`). Called once, as the task starts; a task that shows them
    /// calls `list` when it shows its progress, so that nothing is collected per file.
    fn files_in_progress(&self, _list: fn() -> Vec<String>) {}
    /// Whether anyone sees this task's progress. A task nobody sees spares the work of
    /// knowing its total: a backup then skips the size scan, a second walk of every
    /// source (an `lstat` per file) that only feeds the progress bar.
    fn is_shown(&self) -> bool {
        true
    }
}

/// Something that happened, worth telling a user, but not fatal to the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A repository was created because none was named and the default did not exist yet.
    DefaultRepositoryCreated {
        repository: PathBuf,
        password_file: PathBuf,
    },
    /// A file or directory of a source could not be read; it is missing from the snapshot.
    Unreadable { path: PathBuf, error: String },
    /// A file changed while it was read; it was stored as read.
    ChangedWhileRead { path: PathBuf },
    /// A file or directory disappeared between the walk and the read (deleted while the
    /// backup ran); it is not in the snapshot.
    Vanished { path: PathBuf },
    /// A stale lock (its process is gone, or it was not refreshed for 30 minutes) was removed.
    StaleLockRemoved { lock_id: String, owner: String },
    /// Something odd but harmless, in the library's words.
    Warning { message: String },
    /// Damage in the repository that the command worked around (a snapshot file that
    /// cannot be read and was left out, lost packs the index was repaired for). Always
    /// shown: the user must learn of it without asking for more detail.
    Damage { message: String },
    /// Worth knowing, and shown by default: housekeeping the user can act on (old caches
    /// of other repositories), nothing wrong.
    Notice { message: String },
    /// Informational detail, shown with `-v`.
    Info { message: String },
    /// A job's phase ended (`ok`, `failed`, `skipped`): shown with `-v`, so that a run can
    /// be followed as it goes (the web console runs jobs with `-v --json`).
    PhaseEnded {
        phase: String,
        status: String,
        millis: u64,
    },
}

/// The sink for progress and events. Implementations must be cheap to call from many
/// threads at once: the backup reads files in parallel.
pub trait Monitor: Send + Sync {
    /// Starts a counted unit of work titled `title`.
    fn start_task(&self, kind: ProgressKind, title: &str) -> Box<dyn Task>;
    /// Reports an event.
    fn event(&self, event: Event);
}

/// A monitor that drops everything: for callers that have no one to tell.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullMonitor;

struct NullTask;

impl Task for NullTask {
    fn set_total(&self, _total: u64) {}
    fn increment(&self, _n: u64) {}
    fn set_title(&self, _title: &str) {}
    fn finish(&self) {}
    fn is_shown(&self) -> bool {
        false
    }
}

impl Monitor for NullMonitor {
    fn start_task(&self, _kind: ProgressKind, _title: &str) -> Box<dyn Task> {
        Box::new(NullTask)
    }
    fn event(&self, _event: Event) {}
}
