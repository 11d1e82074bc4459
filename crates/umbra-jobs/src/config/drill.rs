//! `[jobs.NAME.drill]`: how a job's backups are proven restorable (docs/DRILL.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use umbra_core::Result;

use super::absolute;
use super::commands::{commands, CommandDefaults};
use super::locate::{KeyPath, Locator};
use super::raw::RawDrill;
use crate::command::{HookCommand, OnError};

/// The default number of files checked against the snapshot.
pub const DEFAULT_SAMPLE: usize = 1000;
/// The default bound on a whole drill.
pub const DEFAULT_DRILL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A job's drill settings.
#[derive(Debug, Clone)]
pub struct DrillSpec {
    pub command: Option<HookCommand>,
    /// Queries by database: a PostgreSQL or MariaDB database, or a SQLite file (its path
    /// as backed up, or its file name).
    pub queries: BTreeMap<String, Vec<String>>,
    /// Files checked against the snapshot; `None` for all.
    pub sample: Option<usize>,
    pub every: Option<Duration>,
    pub timeout: Duration,
    /// Where scratch directories are made.
    pub scratch_dir: PathBuf,
}

impl Default for DrillSpec {
    fn default() -> Self {
        Self {
            command: None,
            queries: BTreeMap::new(),
            sample: Some(DEFAULT_SAMPLE),
            every: None,
            timeout: DEFAULT_DRILL_TIMEOUT,
            scratch_dir: PathBuf::from("/var/tmp"),
        }
    }
}

pub(super) fn resolve(
    raw: RawDrill,
    at: &KeyPath,
    base: &Path,
    defaults: &CommandDefaults<'_>,
    loc: &Locator<'_>,
) -> Result<DrillSpec> {
    let timeout = raw.timeout.map_or(DEFAULT_DRILL_TIMEOUT, |t| t.0);
    if timeout.is_zero() {
        return Err(loc.error(
            &at.key("timeout"),
            "a drill timeout of 0 leaves no time to restore",
        ));
    }
    let command = match raw.command {
        Some(c) => commands(
            vec![c],
            &at.key("command"),
            &CommandDefaults {
                timeout,
                on_error: OnError::Fail,
                working_dir: defaults.working_dir,
                base: defaults.base,
            },
            loc,
        )?
        .pop(),
        None => None,
    };
    for (db, list) in &raw.queries {
        for (i, q) in list.iter().enumerate() {
            if q.trim().is_empty() {
                return Err(loc.error(&at.key("queries").key(db).index(i), "the query is empty"));
            }
        }
    }
    if raw.every.is_some_and(|e| e.0.is_zero()) {
        return Err(loc.error(
            &at.key("every"),
            "a drill every 0 s; expected a duration like \"7d\"",
        ));
    }
    Ok(DrillSpec {
        command,
        queries: raw.queries,
        sample: raw.sample.map_or(Some(DEFAULT_SAMPLE), |s| s.0),
        every: raw.every.map(|e| e.0),
        timeout,
        scratch_dir: raw
            .scratch_dir
            .map_or_else(|| PathBuf::from("/var/tmp"), |d| absolute(base, &d)),
    })
}
