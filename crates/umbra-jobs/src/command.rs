//! Running one of the user's commands: in its own process group, with a timeout, with
//! its output drained as it comes.
//!
//! Why each part:
//! - **Own process group.** A hook is often a shell that starts other processes. On a
//!   timeout umbra kills the whole group (SIGTERM, then SIGKILL after a grace period), so
//!   no half-finished helper keeps running. It also keeps a terminal's Ctrl-C from
//!   reaching the hook directly: umbra decides what happens on an interrupt.
//! - **Drained output.** stdout and stderr are read by two threads from the moment the
//!   command starts, so a command that prints gigabytes never blocks on a full pipe. What
//!   reaches the log is capped per command ([`OUTPUT_CAP`]); the rest is counted.
//! - **Daemons are left alone.** A command that starts a service (`pg_ctl start`) may
//!   leave a child that still holds the pipes. Once the command itself has exited, umbra
//!   waits briefly for the output to end and then stops collecting it; it never kills a
//!   process group whose leader exited successfully.
//! - **A shell only when needed.** A string with no shell syntax is split on whitespace
//!   and run directly; one with quotes, pipes, redirections, variables or globs runs
//!   through `sh -c`. An array is always run as it is.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::process_tree::{self, ProcessTree};

/// Variables of umbra's environment that hold a secret: the repository passwords and the
/// S3 credentials. Commands run without them (docs/HOOKS.md); `AWS_PROFILE`, a name,
/// stays.
const SECRETS: [&str; 6] = [
    "UMBRA_PASSWORD",
    "UMBRA_FROM_PASSWORD",
    "RESTIC_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Output bytes per command and stream that reach the log; the rest is counted only.
pub const OUTPUT_CAP: u64 = 1024 * 1024;
/// Lines longer than this are split.
const LINE_MAX: usize = 8 * 1024;
/// How long a timed-out command's group gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long to wait for the output to end after the command exited.
const OUTPUT_LINGER: Duration = Duration::from_secs(2);

/// What to run: an argument vector, or a shell script for `sh -c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Argv(Vec<String>),
    Shell(String),
}

impl CommandLine {
    /// A string from a job file: run directly when it has no shell syntax. On Windows a
    /// string always goes to `cmd /S /C` (its builtins, `echo`, `net`, `if`, need it);
    /// an argument array runs directly on both.
    #[must_use]
    pub fn from_string(text: &str) -> Self {
        if cfg!(windows) {
            return Self::Shell(text.to_string());
        }
        const SHELL: &[char] = &[
            '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', '*', '?', '[', ']', '#',
            '~', '{', '}', '!', '\n',
        ];
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let assignment = words.first().is_some_and(|w| w.contains('='));
        if text.contains(SHELL) || assignment || words.is_empty() {
            Self::Shell(text.to_string())
        } else {
            Self::Argv(words)
        }
    }

    /// The command as a user would type it, for logs and messages.
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Self::Shell(s) => s.clone(),
            Self::Argv(a) => a.join(" "),
        }
    }
}

/// What a failing command does to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The phase fails, and with it the job (see docs/HOOKS.md for what still runs).
    Fail,
    /// Logged and reported as a warning; the job carries on.
    Warn,
    /// Logged only.
    Ignore,
}

/// One command of a phase, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCommand {
    pub line: CommandLine,
    pub timeout: Duration,
    pub on_error: OnError,
    pub working_dir: Option<PathBuf>,
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "ending")]
pub enum Ending {
    Exited {
        code: i32,
    },
    Signalled {
        signal: i32,
    },
    /// Killed (with its whole process group) when its timeout ran out.
    TimedOut {
        after_seconds: f64,
    },
    /// Killed because umbra was interrupted.
    Interrupted,
    CouldNotStart {
        error: String,
    },
}

impl Ending {
    #[must_use]
    pub fn success(&self) -> bool {
        matches!(self, Self::Exited { code: 0 })
    }

    /// In words, for logs and error messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Exited { code } => format!("exit code {code}"),
            Self::Signalled { signal } => format!("killed by signal {signal}"),
            Self::TimedOut { after_seconds } => {
                format!("timed out after {after_seconds:.0} s; its process group was killed")
            }
            Self::Interrupted => "killed because umbra was interrupted".into(),
            Self::CouldNotStart { error } => format!("could not start: {error}"),
        }
    }
}

/// The result of one command.
#[derive(Debug, Clone)]
pub struct CommandRun {
    pub ending: Ending,
    pub duration: Duration,
    /// Output bytes beyond [`OUTPUT_CAP`] that were read but not logged.
    pub output_dropped: u64,
    /// The output was still open (held by a background process) when umbra stopped
    /// collecting it.
    pub output_abandoned: bool,
}

/// Where a command's output lines go. Called from the reader threads.
pub type LineSink = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// Reads `stream` to its end, passing capped lines to `sink`; returns the bytes dropped.
fn drain(mut input: impl Read, stream: Stream, sink: &LineSink) -> u64 {
    let mut buf = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let (mut logged, mut dropped) = (0u64, 0u64);
    let emit = |line: &mut Vec<u8>, logged: &mut u64, dropped: &mut u64| {
        let n = line.len() as u64;
        if *logged + n <= OUTPUT_CAP {
            sink(stream, &String::from_utf8_lossy(line));
            *logged += n;
        } else {
            *dropped += n;
        }
        line.clear();
    };
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                emit(&mut line, &mut logged, &mut dropped);
            } else {
                line.push(b);
                if line.len() >= LINE_MAX {
                    emit(&mut line, &mut logged, &mut dropped);
                }
            }
        }
    }
    if !line.is_empty() {
        emit(&mut line, &mut logged, &mut dropped);
    }
    dropped
}

/// Runs `cmd` with `env` added to umbra's environment, sending its output to `sink`.
#[must_use]
pub fn run(cmd: &HookCommand, env: &[(String, String)], sink: &LineSink) -> CommandRun {
    let started = Instant::now();
    let mut command = match &cmd.line {
        CommandLine::Argv(argv) => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        CommandLine::Shell(script) => process_tree::shell(script),
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(env.iter().map(|(k, v)| (k, v)));
    // Passwords and store credentials stay with umbra: hooks never see them.
    for secret in SECRETS {
        command.env_remove(secret);
    }
    if let Some(dir) = &cmd.working_dir {
        command.current_dir(dir);
    }
    process_tree::prepare(&mut command);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return CommandRun {
                ending: Ending::CouldNotStart {
                    error: e.to_string(),
                },
                duration: started.elapsed(),
                output_dropped: 0,
                output_abandoned: false,
            }
        }
    };
    let tree = ProcessTree::adopt(&child);
    let _interrupt = umbra_core::interrupt::on_interrupt(
        format!("the running command `{}`", cmd.line.display()),
        tree.killer(),
    );
    let (done_tx, done_rx) = std::sync::mpsc::channel::<u64>();
    let mut readers = 0;
    if let Some(out) = child.stdout.take() {
        let (s, tx) = (Arc::clone(sink), done_tx.clone());
        readers += 1;
        std::thread::spawn(move || {
            let _ = tx.send(drain(out, Stream::Stdout, &s));
        });
    }
    if let Some(err) = child.stderr.take() {
        let (s, tx) = (Arc::clone(sink), done_tx.clone());
        readers += 1;
        std::thread::spawn(move || {
            let _ = tx.send(drain(err, Stream::Stderr, &s));
        });
    }
    drop(done_tx);
    let mut poll = Duration::from_millis(1);
    let ending = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match (status.code(), process_tree::signal_of(&status)) {
                    (Some(code), _) => Ending::Exited { code },
                    (None, Some(signal)) => Ending::Signalled { signal },
                    (None, None) => Ending::Exited { code: -1 },
                }
            }
            Ok(None) => {}
            Err(e) => {
                break Ending::CouldNotStart {
                    error: format!("cannot wait for it: {e}"),
                }
            }
        }
        if started.elapsed() >= cmd.timeout {
            tree.terminate();
            let deadline = Instant::now() + KILL_GRACE;
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Members of the group may outlive its leader: SIGKILL the group regardless.
            tree.kill();
            let _ = child.wait();
            break Ending::TimedOut {
                after_seconds: cmd.timeout.as_secs_f64(),
            };
        }
        std::thread::sleep(poll);
        poll = (poll * 2).min(Duration::from_millis(20));
    };
    let mut output_dropped = 0;
    let mut output_abandoned = false;
    let linger_until = Instant::now() + OUTPUT_LINGER;
    for _ in 0..readers {
        let left = linger_until.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(d) => output_dropped += d,
            Err(_) => {
                output_abandoned = true;
                break;
            }
        }
    }
    CommandRun {
        ending,
        duration: started.elapsed(),
        output_dropped,
        output_abandoned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collect() -> (LineSink, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&lines);
        let sink: LineSink = Arc::new(move |s, line| {
            if let Ok(mut v) = l.lock() {
                v.push(format!("{}: {line}", s.as_str()));
            }
        });
        (sink, lines)
    }

    fn hook(line: CommandLine, timeout_ms: u64) -> HookCommand {
        HookCommand {
            line,
            timeout: Duration::from_millis(timeout_ms),
            on_error: OnError::Fail,
            working_dir: None,
        }
    }

    #[cfg(unix)]
    #[test]
    fn strings_use_a_shell_only_when_needed() {
        assert_eq!(
            CommandLine::from_string("systemctl stop postgresql"),
            CommandLine::Argv(vec!["systemctl".into(), "stop".into(), "postgresql".into()])
        );
        for s in [
            "logger -t umbra 'failed'",
            "a | b",
            "echo $HOME",
            "X=1 run",
            "ls *.db",
        ] {
            assert!(
                matches!(CommandLine::from_string(s), CommandLine::Shell(_)),
                "{s}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn output_and_exit_code_are_reported() {
        let (sink, lines) = collect();
        let r = run(
            &hook(
                CommandLine::from_string("echo out; echo err >&2; exit 4"),
                5000,
            ),
            &[("X".into(), "1".into())],
            &sink,
        );
        assert_eq!(r.ending, Ending::Exited { code: 4 });
        let got = lines.lock().map(|v| v.clone()).unwrap_or_default();
        assert!(got.contains(&"stdout: out".to_string()), "{got:?}");
        assert!(got.contains(&"stderr: err".to_string()), "{got:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_program_is_reported() {
        let (sink, _) = collect();
        let r = run(
            &hook(CommandLine::Argv(vec!["/nonexistent/tool".into()]), 1000),
            &[],
            &sink,
        );
        assert!(matches!(r.ending, Ending::CouldNotStart { .. }));
    }

    /// Windows: a string runs through `cmd /S /C` with the job's environment, and its
    /// output and exit code come back as on Unix.
    #[cfg(windows)]
    #[test]
    fn cmd_runs_strings_with_the_environment_and_reports_output_and_exit_code() {
        assert!(matches!(
            CommandLine::from_string("net stop MSSQLSERVER"),
            CommandLine::Shell(_)
        ));
        let (sink, lines) = collect();
        let r = run(
            &hook(
                CommandLine::from_string("echo out %UMBRA_TEST_X%& echo err 1>&2& exit /b 4"),
                20_000,
            ),
            &[("UMBRA_TEST_X".into(), "forty-two".into())],
            &sink,
        );
        assert_eq!(r.ending, Ending::Exited { code: 4 });
        let got = lines.lock().map(|v| v.clone()).unwrap_or_default();
        assert!(
            got.iter().any(|l| l.starts_with("stdout: out forty-two")),
            "{got:?}"
        );
        assert!(got.iter().any(|l| l.starts_with("stderr: err")), "{got:?}");
    }

    /// Windows: a command that outlives its timeout is ended with everything it started
    /// (the job object), and reported as timed out.
    #[cfg(windows)]
    #[test]
    fn a_timeout_ends_the_command_and_what_it_started() {
        let (sink, _) = collect();
        let started = Instant::now();
        let r = run(
            &hook(
                CommandLine::from_string("cmd /C ping -n 60 127.0.0.1 > nul"),
                1_500,
            ),
            &[],
            &sink,
        );
        assert!(
            matches!(r.ending, Ending::TimedOut { .. }),
            "{:?}",
            r.ending
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }

    #[cfg(windows)]
    #[test]
    fn a_missing_program_is_reported_on_windows() {
        let (sink, _) = collect();
        let r = run(
            &hook(
                CommandLine::Argv(vec!["Z:\\nonexistent\\tool.exe".into()]),
                5_000,
            ),
            &[],
            &sink,
        );
        assert!(
            matches!(r.ending, Ending::CouldNotStart { .. }),
            "{:?}",
            r.ending
        );
    }
}
