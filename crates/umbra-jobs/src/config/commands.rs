//! Hook commands as the job file writes them, resolved with the job's defaults
//! (timeout, what a failure means, working directory).

use std::path::Path;
use std::time::Duration;

use umbra_core::Result;

use super::absolute;
use super::locate::{KeyPath, Locator};
use super::raw::{RawCommand, RawRun};
use crate::command::{CommandLine, HookCommand, OnError};

pub(super) struct CommandDefaults<'a> {
    pub timeout: Duration,
    pub on_error: OnError,
    pub working_dir: Option<&'a Path>,
    pub base: &'a Path,
}

pub(super) fn commands(
    raw: Vec<RawCommand>,
    at: &KeyPath,
    d: &CommandDefaults<'_>,
    loc: &Locator<'_>,
) -> Result<Vec<HookCommand>> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, c) in raw.into_iter().enumerate() {
        let line = match c.run {
            RawRun::String(s) if s.trim().is_empty() => {
                return Err(loc.error(&at.index(i), "the command is empty"))
            }
            RawRun::Argv(a) if a.is_empty() || a[0].is_empty() => {
                return Err(loc.error(
                    &at.index(i),
                    "the argument array is empty; expected at least the program",
                ))
            }
            RawRun::String(s) => CommandLine::from_string(&s),
            RawRun::Argv(a) => CommandLine::Argv(a),
        };
        out.push(HookCommand {
            line,
            timeout: c.timeout.map_or(d.timeout, |t| t.0),
            on_error: c.on_error.unwrap_or(d.on_error),
            working_dir: c
                .working_dir
                .map(|w| absolute(d.base, &w))
                .or_else(|| d.working_dir.map(Path::to_path_buf)),
        });
    }
    Ok(out)
}
