//! `--json`: every event and, once a second, the progress of byte-counting tasks, as one
//! JSON object per line on stdout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::json;
use umbra_core::{Event, Monitor, ProgressKind, Task};

pub struct JsonMonitor {
    verbosity: i8,
}

impl JsonMonitor {
    pub fn new(verbosity: i8) -> Self {
        Self { verbosity }
    }
}

struct JsonTask {
    title: Mutex<String>,
    kind: ProgressKind,
    done: AtomicU64,
    total: AtomicU64,
    last: Mutex<Instant>,
    started: Instant,
    /// Files reached and found, for a task that goes through files (0: none told).
    files_done: AtomicU64,
    files_total: AtomicU64,
    /// Lists the files being worked on, for a task that goes through files.
    in_progress: OnceLock<fn() -> Vec<String>>,
}

impl JsonTask {
    fn emit(&self, finished: bool) {
        super::print_line(&self.status(finished).to_string());
    }

    /// One progress line. A byte-counting task also carries restic's status fields
    /// (`bytes_done`, `total_bytes`, `seconds_remaining`), so that what reads restic's
    /// `backup --json` progress reads umbra's.
    fn status(&self, finished: bool) -> serde_json::Value {
        let title = self.title.lock().map(|t| t.clone()).unwrap_or_default();
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64();
        let fraction = (total > 0).then(|| done as f64 / total as f64);
        let mut v = json!({
            "message_type": if finished { "task_done" } else { "status" },
            "task": title,
            "unit": if self.kind == ProgressKind::Bytes { "bytes" } else { "items" },
            "done": done,
            "total": (total > 0).then_some(total),
            // restic's types: a number (0 while the total is unknown), whole seconds.
            "percent_done": fraction.unwrap_or(0.0),
            "seconds_elapsed": secs as u64,
        });
        if self.kind == ProgressKind::Bytes {
            v["bytes_done"] = done.into();
            v["total_bytes"] = total.into();
            // restic leaves the file counts out while they are 0 (`omitempty`).
            for (key, counter) in [
                ("total_files", &self.files_total),
                ("files_done", &self.files_done),
            ] {
                let n = counter.load(Ordering::Relaxed);
                if n > 0 {
                    v[key] = n.into();
                }
            }
            // Also left out while empty, as restic does.
            let current = self
                .in_progress
                .get()
                .map(|list| list())
                .unwrap_or_default();
            if !current.is_empty() {
                v["current_files"] = current.into();
            }
            if let Some(f) = fraction.filter(|f| *f > 0.0 && *f < 1.0) {
                // restic's estimate: the rate so far, over what is left.
                v["seconds_remaining"] = ((secs / f - secs).round() as u64).into();
            }
        }
        v
    }
}

impl Task for JsonTask {
    fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }
    fn increment(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        if self.kind != ProgressKind::Bytes {
            return;
        }
        if let Ok(mut last) = self.last.try_lock() {
            if last.elapsed().as_secs() >= 1 {
                *last = Instant::now();
                self.emit(false);
            }
        }
    }
    fn set_title(&self, title: &str) {
        if let Ok(mut t) = self.title.lock() {
            *t = title.to_string();
        }
    }
    fn finish(&self) {
        if self.kind == ProgressKind::Bytes {
            // The last status, as restic's progress prints one at the end, then umbra's
            // line for the finished task.
            self.emit(false);
            self.emit(true);
        }
    }
    fn set_files(&self, done: u64, total: u64) {
        self.files_done.store(done, Ordering::Relaxed);
        self.files_total.store(total.max(done), Ordering::Relaxed);
    }
    fn files_in_progress(&self, list: fn() -> Vec<String>) {
        let _ = self.in_progress.set(list);
    }
}

impl Monitor for JsonMonitor {
    fn start_task(&self, kind: ProgressKind, title: &str) -> Box<dyn Task> {
        let task = Box::new(JsonTask {
            title: Mutex::new(title.to_string()),
            kind,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
            started: Instant::now(),
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(0),
            in_progress: OnceLock::new(),
        });
        // restic prints a status line as a byte-counting task starts: a reader of its
        // `backup --json` sees one even when the backup ends within the second.
        if kind == ProgressKind::Bytes {
            task.emit(false);
        }
        task
    }

    fn event(&self, event: Event) {
        if matches!(event, Event::Info { .. } | Event::PhaseEnded { .. }) && self.verbosity < 1 {
            return;
        }
        // A notice is about the machine, not the command's result: standard output stays
        // the result alone (`--json snapshots` is one JSON document), as restic does.
        if matches!(event, Event::Notice { .. }) {
            eprintln!("{}", super::event_json(&event));
            return;
        }
        super::print_line(&super::event_json(&event).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_progress_carries_restics_status_fields() {
        let task = JsonTask {
            title: Mutex::new("backup".into()),
            kind: ProgressKind::Bytes,
            done: AtomicU64::new(25),
            total: AtomicU64::new(100),
            last: Mutex::new(Instant::now()),
            started: Instant::now(),
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(0),
            in_progress: OnceLock::new(),
        };
        let v = task.status(false);
        assert_eq!(v["message_type"], "status");
        assert_eq!(v["percent_done"], 0.25);
        assert_eq!(v["bytes_done"], 25);
        assert_eq!(v["total_bytes"], 100);
        assert!(v["seconds_remaining"].is_u64(), "{v}");
        assert!(v["seconds_elapsed"].is_u64(), "{v}");
        assert!(
            v.get("total_files").is_none(),
            "restic omits counts of 0: {v}"
        );
        task.set_files(3, 10);
        let v = task.status(false);
        assert_eq!(
            (v["files_done"].as_u64(), v["total_files"].as_u64()),
            (Some(3), Some(10))
        );
        assert!(v.get("current_files").is_none(), "none told: {v}");
        task.files_in_progress(Vec::new);
        assert!(task.status(false).get("current_files").is_none(), "empty");
        let task2 = JsonTask {
            in_progress: OnceLock::new(),
            ..task
        };
        task2.files_in_progress(|| vec!["/srv/a".into(), "/srv/b".into()]);
        assert_eq!(
            task2.status(false)["current_files"],
            serde_json::json!(["/srv/a", "/srv/b"])
        );
        task2.total.store(0, Ordering::Relaxed);
        assert_eq!(task2.status(false)["percent_done"], 0.0);
    }
}
