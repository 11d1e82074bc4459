//! Bridges rustic_core's progress bars to umbra's [`Monitor`].
//!
//! rustic_core asks for a progress object whenever it starts a long step ("reading index",
//! "backing up..."). We hand it one that forwards to a [`Task`] of the monitor, so the CLI
//! decides how (and whether) to show it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustic_core::{Progress, ProgressBars, ProgressType, RusticProgress};
use umbra_core::{Monitor, ProgressKind, Task};

#[derive(Clone)]
pub(crate) struct MonitorBars(pub(crate) Arc<dyn Monitor>);

impl std::fmt::Debug for MonitorBars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonitorBars")
    }
}

impl ProgressBars for MonitorBars {
    fn progress(&self, progress_type: ProgressType, prefix: &str) -> Progress {
        let kind = match progress_type {
            ProgressType::Spinner => ProgressKind::Spinner,
            ProgressType::Counter => ProgressKind::Count,
            ProgressType::Bytes => ProgressKind::Bytes,
        };
        let files = prefix == "backing up...";
        let task = self.0.start_task(kind, &title(prefix));
        if files {
            task.files_in_progress(backup_files_in_progress);
        }
        Progress::new(TaskProgress { task, files })
    }
}

/// The files of the backup under way: `total` found by the size scan, `done` reached by
/// the walk (which the archiver pulls from as it goes), and those being read now. A
/// process runs one backup at a time; the backup's source resets the counts as it is made.
pub(crate) struct FileCounts {
    pub(crate) total: AtomicU64,
    pub(crate) done: AtomicU64,
    /// The files opened and not yet done with (restic's `current_files`), by the id of
    /// their [`InProgress`]. A few at a time (one per reading thread), so a list.
    current: Mutex<Vec<(u64, PathBuf)>>,
    next_id: AtomicU64,
}

pub(crate) static BACKUP_FILES: FileCounts = FileCounts {
    total: AtomicU64::new(0),
    done: AtomicU64::new(0),
    current: Mutex::new(Vec::new()),
    next_id: AtomicU64::new(0),
};

impl FileCounts {
    /// Lists `path` among the files being read until the value returned is dropped (when
    /// the archiver is done with the file's reader: read, cut and hashed).
    pub(crate) fn start(&'static self, path: &Path) -> InProgress {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut current) = self.current.lock() {
            current.push((id, path.to_path_buf()));
        }
        InProgress { id, of: self }
    }

    /// The files being read now, in the order they were opened.
    fn current(&self) -> Vec<String> {
        self.current
            .lock()
            .map(|c| c.iter().map(|(_, p)| p.display().to_string()).collect())
            .unwrap_or_default()
    }
}

/// One file being read for the backup; see [`FileCounts::start`].
pub(crate) struct InProgress {
    id: u64,
    of: &'static FileCounts,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        if let Ok(mut current) = self.of.current.lock() {
            current.retain(|(id, _)| *id != self.id);
        }
    }
}

/// For [`Task::files_in_progress`]: a plain function, asked only when a status is shown.
fn backup_files_in_progress() -> Vec<String> {
    BACKUP_FILES.current()
}

/// rustic_core's step labels in umbra's words. Some are internal and alarm users: every
/// backup "removes snapshots" (the copy without the consistency record), which is not
/// what the user hears. Unknown labels pass through without their dots.
fn title(prefix: &str) -> String {
    let words = match prefix {
        "backing up..." => "backing up",
        "removing snapshots..." | "saving snapshots..." => "recording the snapshot",
        "reading index..." => "reading the index",
        "getting snapshot..." | "getting snapshots..." | "reading snapshots..." => {
            "reading the snapshot list"
        }
        "scanning files..." => "counting files",
        "restoring file contents..." => "restoring file contents",
        other => return other.trim_end_matches('.').to_string(),
    };
    words.to_string()
}

struct TaskProgress {
    task: Box<dyn Task>,
    /// The backup's own step: it reports the files too.
    files: bool,
}

impl std::fmt::Debug for TaskProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskProgress")
    }
}

impl RusticProgress for TaskProgress {
    fn is_hidden(&self) -> bool {
        !self.task.is_shown()
    }
    fn set_length(&self, len: u64) {
        self.task.set_total(len);
    }
    fn set_title(&self, title: &str) {
        self.task.set_title(title);
    }
    fn inc(&self, inc: u64) {
        if self.files {
            let c = &BACKUP_FILES;
            self.task.set_files(
                c.done.load(Ordering::Relaxed),
                c.total.load(Ordering::Relaxed),
            );
        }
        self.task.increment(inc);
    }
    fn finish(&self) {
        if self.files {
            let c = &BACKUP_FILES;
            self.task.set_files(
                c.done.load(Ordering::Relaxed),
                c.total.load(Ordering::Relaxed),
            );
        }
        self.task.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustic_core::{ProgressBars, ProgressType};
    use umbra_core::{Event, Monitor, NullMonitor, ProgressKind, Task};

    use super::{title, MonitorBars};

    /// A monitor whose tasks are shown (the trait's default).
    struct Shown;
    struct ShownTask;
    impl Task for ShownTask {
        fn set_total(&self, _total: u64) {}
        fn increment(&self, _n: u64) {}
        fn set_title(&self, _title: &str) {}
        fn finish(&self) {}
    }
    impl Monitor for Shown {
        fn start_task(&self, _kind: ProgressKind, _title: &str) -> Box<dyn Task> {
            Box::new(ShownTask)
        }
        fn event(&self, _event: Event) {}
    }

    /// rustic_core scans a backup's sources for the progress bar's total only when the
    /// progress is not hidden: a monitor that shows nothing (cron, `-q`) spares that walk.
    #[test]
    fn progress_nobody_sees_is_hidden_from_rustic() {
        let hidden =
            MonitorBars(Arc::new(NullMonitor)).progress(ProgressType::Bytes, "backing up...");
        assert!(hidden.is_hidden());
        let shown = MonitorBars(Arc::new(Shown)).progress(ProgressType::Bytes, "backing up...");
        assert!(!shown.is_hidden());
    }

    #[test]
    fn rustics_step_labels_read_as_umbras() {
        assert_eq!(title("removing snapshots..."), "recording the snapshot");
        assert_eq!(title("reading index..."), "reading the index");
        assert_eq!(title("warming up packs..."), "warming up packs");
    }
}
