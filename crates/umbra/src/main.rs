//! The `umbra` command.
//!
//! Exit codes (as restic's): 0 success; 1 fatal error; 3 the backup was saved, but some
//! files could not be read, or changed while they were read; 130 interrupted by SIGINT or
//! SIGTERM.

mod cli;
mod commands;
mod output;
mod settings;

use std::process::ExitCode;

use clap::Parser;
use umbra_core::{ErrorKind, UmbraError};

use crate::cli::Cli;
use crate::output::Output;
use crate::settings::Settings;

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Ok,
    /// The snapshot is saved but incomplete or partly inconsistent (unreadable files, files
    /// that changed while read): exit code 3.
    Incomplete,
    /// Stopped by SIGINT or SIGTERM after cleaning up (a job's recovery ran): exit 130.
    Interrupted,
    /// A check's own exit code (`umbra jobs --check`: 0, 1 or 2 as monitoring plugins exit).
    Code(u8),
}

pub const EXIT_FATAL: u8 = 1;
pub const EXIT_INCOMPLETE: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// On SIGINT or SIGTERM: release what guards registered (locks now; snapshots and
/// freezes later), then exit 130. Data written so far stays unreferenced until the next
/// backup reuses it or `prune` removes it; no snapshot is written for the interrupted run.
#[cfg(unix)]
fn handle_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("umbra-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                release_and_exit(if sig == SIGINT { "SIGINT" } else { "SIGTERM" });
            }
        });
}

/// On Windows, Ctrl-C and Ctrl-Break (SIGINT) and SIGTERM set a flag that a thread
/// watches; from there it is the same as on Unix.
#[cfg(windows)]
fn handle_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let int = Arc::new(AtomicBool::new(false));
    let term = Arc::new(AtomicBool::new(false));
    if signal_hook::flag::register(SIGINT, Arc::clone(&int)).is_err()
        || signal_hook::flag::register(SIGTERM, Arc::clone(&term)).is_err()
    {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("umbra-signals".into())
        .spawn(move || loop {
            if int.load(Ordering::SeqCst) {
                release_and_exit("SIGINT");
            } else if term.load(Ordering::SeqCst) {
                release_and_exit("SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        });
}

/// Runs the release actions guards registered, says what was released, exits 130.
fn release_and_exit(signal: &str) -> ! {
    let released = umbra_core::interrupt::release_all();
    eprintln!(
        "interrupted by {signal}; released: {}",
        if released.is_empty() {
            "nothing".to_string()
        } else {
            released.join(", ")
        }
    );
    std::process::exit(i32::from(EXIT_INTERRUPTED));
}

/// A command that returns after a signal (its work stopped once the handler released
/// what it held, or it saw the signal itself) must not end the process while the handler
/// is still releasing snapshots and thawing services: the handler exits with 130 when it
/// is done. Bounded, as a unit's stop is (`TimeoutStopSec=15min`).
fn await_signal_handler() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15 * 60);
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::exit(i32::from(EXIT_INTERRUPTED));
}

fn main() -> ExitCode {
    umbra_core::umask::make_private();
    umbra_core::os::enable_backup_privilege();
    let cli = Cli::parse();
    // `config check` reports the job file's problems itself.
    // So does `jobs --check`, which must answer UNKNOWN (exit 3), as a monitoring plugin.
    let read_config = !matches!(
        cli.command,
        cli::Command::Config { .. } | cli::Command::Jobs { check: true }
    );
    let settings = match Settings::resolve(&cli.global, read_config) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("error: {}\nhint: {}", err.message(), err.hint());
            return ExitCode::from(EXIT_FATAL);
        }
    };
    let out = Output::new(settings.output);
    output::library_log::install(out.monitor(), settings.output.verbosity);
    handle_signals();
    let result = commands::run(cli.command, &settings, &out);
    if umbra_core::interrupt::interrupted() {
        await_signal_handler();
    }
    match result {
        Ok(Finished::Ok) => ExitCode::SUCCESS,
        Ok(Finished::Incomplete) => ExitCode::from(EXIT_INCOMPLETE),
        Ok(Finished::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Ok(Finished::Code(code)) => ExitCode::from(code),
        Err(err) => {
            out.error(&err);
            ExitCode::from(EXIT_FATAL)
        }
    }
}

/// For commands: an error for an invalid combination of arguments.
pub fn invalid(message: impl Into<String>) -> UmbraError {
    UmbraError::new(ErrorKind::InvalidInput, message)
}
