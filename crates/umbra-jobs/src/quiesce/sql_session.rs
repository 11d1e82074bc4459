//! One long-lived session of a database's command-line client (`psql`, `mariadb`), used
//! as the quiescers' connection.
//!
//! `pg_backup_start` and `pg_backup_stop` must run in the same session, and a MariaDB
//! backup lock lives as long as its session: holding one session open across the
//! snapshot set is all a quiescer needs. The clients give a real connection with their
//! whole connection and authentication support, without database drivers (and an async
//! runtime) in umbra's build. Each query is followed by one that prints a marker line;
//! the clients stop at the first error, and its message is read from stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Result, UmbraError};

pub const MARKER: &str = "__umbra_end_of_result__";

pub struct Session {
    /// The statement that prints [`MARKER`], in the client's dialect.
    marker_sql: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Session {
    /// Starts `cmd` (the client, set up to read statements from stdin and print one row
    /// per line); `marker_sql` makes it print [`MARKER`].
    pub fn spawn(mut cmd: Command, marker_sql: String) -> Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let program = cmd.get_program().to_string_lossy().to_string();
        let mut child = cmd.spawn().map_err(|e| {
            UmbraError::new(ErrorKind::JobFailed, format!("cannot start {program}: {e}"))
                .with_hint("Install the database's command-line client (`psql`, `mariadb`).")
        })?;
        let stdin = child.stdin.take();
        let (tx, lines) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out)
                    .lines()
                    .map_while(std::result::Result::ok)
                {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        Ok(Self {
            marker_sql,
            child,
            stdin,
            lines,
            stderr,
        })
    }

    fn server_error(&self) -> String {
        std::thread::sleep(Duration::from_millis(50));
        let text = self
            .stderr
            .lock()
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if text.is_empty() {
            "the session ended".into()
        } else {
            text
        }
    }

    /// Runs `sql` and returns its result rows (fields separated by `|`), by `deadline`.
    pub fn query(&mut self, sql: &str, deadline: Instant) -> Result<Vec<String>> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(UmbraError::new(
                ErrorKind::JobFailed,
                "the database session is closed",
            ));
        };
        let sent = writeln!(stdin, "{sql};\n{}", self.marker_sql).and_then(|()| stdin.flush());
        if sent.is_err() {
            return Err(UmbraError::new(ErrorKind::JobFailed, self.server_error()));
        }
        let mut rows = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == MARKER => return Ok(rows),
                Ok(line) => rows.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(UmbraError::new(
                        ErrorKind::JobFailed,
                        format!("the database did not answer `{sql}` in time"),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(UmbraError::new(ErrorKind::JobFailed, self.server_error()))
                }
            }
        }
    }

    /// Ends the session (closing it ends any backup it started).
    pub fn close(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}
