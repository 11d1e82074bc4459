//! One long-lived `psql` session, used as a PostgreSQL connection.
//!
//! `pg_backup_start` and `pg_backup_stop` must run in the same session, and holding a
//! session open across the snapshot set is all the quiescer needs. `psql` gives a real
//! connection with libpq's whole connection-string and authentication support, without a
//! database driver (and its async runtime) in umbra's build. Each query is followed by an
//! `\echo` of a marker line; with `ON_ERROR_STOP`, a failing query ends the session, and
//! its message is read from stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Result, UmbraError};

const MARKER: &str = "__umbra_end_of_result__";

pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Session {
    /// Connects with the libpq connection string `conninfo`, as the OS user `os_user` if
    /// given (through `runuser`, for peer authentication), with `password_file` as
    /// PGPASSFILE if given.
    pub fn open(
        conninfo: &str,
        os_user: Option<&str>,
        password_file: Option<&Path>,
    ) -> Result<Self> {
        let psql_args = [
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "|",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
        ];
        let mut cmd = match os_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "psql"]);
                c
            }
            None => Command::new("psql"),
        };
        cmd.args(psql_args)
            .env("PGAPPNAME", "umbra")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(pf) = password_file {
            cmd.env("PGPASSFILE", pf);
        }
        let mut child = cmd.spawn().map_err(|e| {
            UmbraError::new(ErrorKind::JobFailed, format!("cannot start psql: {e}"))
                .with_hint("Install PostgreSQL's client (the `psql` program), e.g. `apt install postgresql-client`.")
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
                "the PostgreSQL session is closed",
            ));
        };
        let sent = writeln!(stdin, "{sql};\n\\echo {MARKER}").and_then(|()| stdin.flush());
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
                        format!("PostgreSQL did not answer `{sql}` in time"),
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
