//! What a drill records: each check with its queries, and the drill as a whole, as
//! `drills.jsonl`, `umbra history --json` and the metrics read them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use umbra_repo::verify_restored::FileCheck;

/// One query's answer, as the drill recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueryRecord {
    pub database: String,
    pub sql: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl QueryRecord {
    pub(super) fn result(db: &str, sql: &str, result: String) -> Self {
        Self {
            database: db.into(),
            sql: sql.into(),
            result: Some(result),
            error: None,
        }
    }

    pub(super) fn error(db: &str, sql: &str, error: String) -> Self {
        Self {
            database: db.into(),
            sql: sql.into(),
            result: None,
            error: Some(error),
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    /// The path as backed up (`/srv/pgdata`), or `files`, or the command.
    pub source: String,
    /// `sqlite`, `postgres`, `mariadb`, `files`, `command`, `restore`.
    pub check: String,
    pub ok: bool,
    /// What passed, and what failed.
    pub detail: Vec<String>,
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<QueryRecord>,
}

impl CheckRecord {
    pub(super) fn new(source: &str, check: &str) -> Self {
        Self {
            source: source.into(),
            check: check.into(),
            ok: true,
            detail: Vec::new(),
            seconds: 0.0,
            queries: Vec::new(),
        }
    }

    pub(super) fn fail(&mut self, why: impl Into<String>) {
        self.ok = false;
        self.detail.push(why.into());
    }

    pub(super) fn query(&mut self, q: QueryRecord) {
        if let Some(e) = &q.error {
            self.fail(format!("query `{}` on {}: {e}", q.sql, q.database));
        }
        self.queries.push(q);
    }

    /// One line: `postgres /srv/pgdata: ok (recovered ...; pg_amcheck --all ok)`.
    #[must_use]
    pub fn line(&self) -> String {
        format!(
            "{} {}: {} ({})",
            self.check,
            self.source,
            if self.ok { "ok" } else { "FAILED" },
            self.detail.join("; ")
        )
    }
}

/// One finished drill, as `umbra history` and `umbra jobs` show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillRecord {
    pub job: String,
    pub run_id: String,
    pub started: String,
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// `passed`, `failed` or `interrupted`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do about `error`, when umbra knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub checks: Vec<CheckRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<FileCheck>,
    /// What is worth a look without failing the drill (a query that found nothing where
    /// the last drill found something).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub log: PathBuf,
}

impl DrillRecord {
    #[must_use]
    pub fn passed(&self) -> bool {
        self.status == "passed"
    }

    /// When it ended.
    #[must_use]
    pub fn ended(&self) -> Option<jiff::Timestamp> {
        let start: jiff::Timestamp = self.started.parse().ok()?;
        start
            .checked_add(jiff::SignedDuration::try_from_secs_f64(self.seconds).ok()?)
            .ok()
    }
}
