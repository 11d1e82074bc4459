//! When each repository was last checked and pruned: one JSON line per `umbra check`,
//! `umbra prune` (and `forget --prune`) and per prune a job's retention ran, in
//! `STATE/maintenance.jsonl`. The web console's health page reads it ("last check",
//! "last prune"); nothing else in the repository records either.
//!
//! Durability: best effort. A line is appended with one write; a failure to write it is
//! returned to the caller, which says so and goes on (the check or prune itself is done).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use umbra_core::{Result, UmbraError};

/// One check or prune of a repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MaintenanceRecord {
    /// When it ended (RFC 3339).
    pub time: String,
    /// `check` or `prune`.
    pub kind: String,
    /// The repository as users see it (its location, no secrets).
    pub repository: String,
    /// Whether it found the repository healthy (check) or finished (prune).
    pub ok: bool,
    /// What it did, in a few words (`all data read`, `3 -> 2 packs`).
    pub detail: String,
}

fn file() -> Result<PathBuf> {
    Ok(umbra_snapshot::registry::state_dir()?.join("maintenance.jsonl"))
}

/// Appends a record for `repository`.
pub fn append(kind: &str, repository: &str, ok: bool, detail: &str) -> Result<()> {
    let path = file()?;
    let record = MaintenanceRecord {
        time: jiff::Timestamp::now().to_string(),
        kind: kind.to_string(),
        repository: repository.to_string(),
        ok,
        detail: detail.to_string(),
    };
    let mut line = serde_json::to_string(&record).unwrap_or_default();
    line.push('\n');
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| UmbraError::io("cannot create umbra's state directory", dir, e))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| UmbraError::io("cannot record the check or prune", &path, e))
}

/// The last record of `kind` for `repository`, if any (torn lines are skipped).
#[must_use]
pub fn last(kind: &str, repository: &str) -> Option<MaintenanceRecord> {
    let f = std::fs::File::open(file().ok()?).ok()?;
    std::io::BufReader::new(f)
        .lines()
        .map_while(std::result::Result::ok)
        .filter_map(|l| serde_json::from_str::<MaintenanceRecord>(&l).ok())
        .filter(|r| r.kind == kind && r.repository == repository)
        .last()
}
