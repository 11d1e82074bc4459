//! How umbra talks to its user: the CLI's implementations of [`Monitor`], and the
//! helpers commands use to print their results.
//!
//! - On a terminal: progress bars on stderr ([`terminal`]).
//! - Not on a terminal: no progress, only events worth a line and the summary ([`plain`]).
//! - With `--json`: one JSON object per line on stdout ([`json`]).
//!
//! stdout carries results (tables, summaries, JSON); stderr carries progress, warnings and
//! errors, so `umbra snapshots > file` stays clean.

mod json;
pub mod library_log;
mod plain;
pub mod restic_json;
mod terminal;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;
use umbra_core::{Event, Monitor, UmbraError};

use crate::settings::OutputMode;

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes a line to stdout. When the reader has gone (`umbra ls | head -1`), stays quiet
/// from then on instead of panicking, as other Unix tools do; the command still finishes
/// (and releases its lock) normally.
pub fn print_line(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// True once stdout's reader has gone: long listings may stop early.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// The CLI's view of the user's terminal.
#[derive(Clone)]
pub struct Output {
    pub mode: OutputMode,
    monitor: Arc<dyn Monitor>,
}

impl Output {
    pub fn new(mode: OutputMode) -> Self {
        let monitor: Arc<dyn Monitor> = if mode.json {
            Arc::new(json::JsonMonitor::new(mode.verbosity))
        } else if mode.progress {
            Arc::new(terminal::TerminalMonitor::new(mode.verbosity))
        } else {
            Arc::new(plain::PlainMonitor::new(mode.verbosity))
        };
        Self { mode, monitor }
    }

    pub fn monitor(&self) -> Arc<dyn Monitor> {
        Arc::clone(&self.monitor)
    }

    /// A result line for humans (not printed with --json).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.mode.json {
            print_line(text.as_ref());
        }
    }

    /// A problem that does not stop the command: on stderr, or as a JSON error line.
    pub fn error_line(&self, text: impl AsRef<str>) {
        if self.mode.json {
            print_line(
                &serde_json::json!({"message_type": "error", "message": text.as_ref()}).to_string(),
            );
        } else {
            eprintln!("{}", text.as_ref());
        }
    }

    /// Detail shown only with -v.
    pub fn detail(&self, text: impl AsRef<str>) {
        if !self.mode.json && self.mode.verbosity > 0 {
            print_line(text.as_ref());
        }
    }

    /// A summary line for humans: like [`Output::line`], but not with -q.
    pub fn summary(&self, text: impl AsRef<str>) {
        if !self.mode.json && self.mode.verbosity >= 0 {
            print_line(text.as_ref());
        }
    }

    /// A JSON result (only printed with --json).
    pub fn json(&self, value: &Value) {
        if self.mode.json {
            print_line(&value.to_string());
        }
    }

    /// Prints a fatal error: what went wrong, what to do, and with -v the causes.
    pub fn error(&self, err: &UmbraError) {
        if self.mode.json {
            let v = serde_json::json!({
                "message_type": "error",
                "kind": format!("{:?}", err.kind()),
                "message": err.message(),
                "hint": err.hint(),
                "causes": err.causes(),
            });
            print_line(&v.to_string());
            return;
        }
        eprintln!("error: {}", err.message());
        eprintln!("hint: {}", err.hint());
        if self.mode.verbosity > 0 {
            for cause in err.causes() {
                eprintln!("caused by: {cause}");
            }
        }
    }
}

pub use umbra_core::units::human_bytes;

/// The text of an event for humans, with the verbosity it needs to be shown.
pub(crate) fn describe(event: &Event) -> (i8, String) {
    match event {
        Event::DefaultRepositoryCreated {
            repository,
            password_file,
        } => (
            0,
            format!(
                "created the default repository at {}\nits password is in {} (keep a copy: without it the backups cannot be read)",
                repository.display(),
                password_file.display()
            ),
        ),
        Event::Unreadable { path, error } => {
            (0, format!("warning: cannot read {}: {error}", path.display()))
        }
        Event::ChangedWhileRead { path } => (
            0,
            format!("warning: {} changed while it was read", path.display()),
        ),
        Event::Vanished { path } => (
            0,
            format!(
                "warning: {} vanished while the backup ran (deleted); it is not in the snapshot",
                path.display()
            ),
        ),
        Event::StaleLockRemoved { owner, .. } => (0, format!("removed stale lock: {owner}")),
        Event::Warning { message } => (1, format!("warning: {message}")),
        Event::Damage { message } => (0, format!("warning: {message}")),
        Event::Notice { message } => (0, message.clone()),
        Event::Info { message } => (1, message.clone()),
        Event::PhaseEnded {
            phase,
            status,
            millis,
        } => (
            1,
            format!("phase {phase}: {status} ({:.3} s)", *millis as f64 / 1000.0),
        ),
    }
}

/// An event as a JSON line.
pub(crate) fn event_json(event: &Event) -> Value {
    use serde_json::json;
    match event {
        Event::DefaultRepositoryCreated {
            repository,
            password_file,
        } => {
            json!({"message_type": "repository_created", "repository": repository, "password_file": password_file})
        }
        Event::Unreadable { path, error } => {
            json!({"message_type": "unreadable", "path": path, "error": error})
        }
        Event::ChangedWhileRead { path } => {
            json!({"message_type": "changed_while_read", "path": path})
        }
        Event::Vanished { path } => json!({"message_type": "vanished", "path": path}),
        Event::StaleLockRemoved { lock_id, owner } => {
            json!({"message_type": "stale_lock_removed", "lock": lock_id, "owner": owner})
        }
        Event::Warning { message } => json!({"message_type": "warning", "message": message}),
        Event::Damage { message } => json!({"message_type": "damage", "message": message}),
        Event::Notice { message } => json!({"message_type": "notice", "message": message}),
        Event::Info { message } => json!({"message_type": "info", "message": message}),
        Event::PhaseEnded {
            phase,
            status,
            millis,
        } => {
            json!({"message_type": "phase", "phase": phase, "status": status, "seconds": *millis as f64 / 1000.0})
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_are_human() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
    }
}
