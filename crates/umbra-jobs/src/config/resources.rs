//! What a job's run may take from the machine: `priority`, `limit_read`, `compression`, and
//! the `[jobs.NAME.systemd]` settings its scheduled unit carries (docs/HOOKS.md,
//! "Resources").

use serde::Deserialize;
use umbra_core::{Result, UmbraError};

use super::locate::{KeyPath, Locator};
use crate::priority::Priority;
use umbra_repo::compression::Compression;

/// A job's resource settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// The priority of the heavy work (reading, storing, copying, pruning).
    pub priority: Priority,
    /// Bytes per second the backup may read from its sources; `None`: no limit.
    pub limit_read: Option<u64>,
    /// How the backup compresses (`compression`, restic's `--compression`).
    pub compression: Compression,
    /// `Key=value` lines for the `[Service]` section of the job's unit, in order.
    pub systemd: Vec<(String, String)>,
}

/// A value of `[jobs.NAME.systemd]`: what a unit file's value can be written as.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawUnitValue {
    Text(String),
    Number(i64),
    Switch(bool),
}

/// The job file's keys, as read.
pub struct RawResources<'a> {
    pub priority: Option<&'a str>,
    /// MB/s (10^6 bytes).
    pub limit_read: Option<f64>,
    pub compression: Option<&'a str>,
    pub systemd: Vec<(String, RawUnitValue)>,
    pub threads: Option<u32>,
}

/// `--limit-read` and `limit_read`, MB/s, as bytes per second; `what` names the setting.
pub fn read_limit(mb_per_s: f64, what: &str) -> std::result::Result<u64, String> {
    if !mb_per_s.is_finite() || mb_per_s <= 0.0 {
        return Err(format!(
            "{what} {mb_per_s} reads nothing; expected MB/s above 0, like 50 or 0.5"
        ));
    }
    Ok(((mb_per_s * 1e6) as u64).max(1))
}

pub(super) fn resolve(raw: RawResources<'_>, at: &KeyPath, loc: &Locator<'_>) -> Result<Resources> {
    if raw.threads == Some(0) {
        return Err(loc.error(
            &at.key("threads"),
            "0 threads read nothing; expected 1 or more",
        ));
    }
    let priority = match raw.priority {
        None => Priority::default(),
        Some(p) => p
            .parse()
            .map_err(|e: UmbraError| loc.error(&at.key("priority"), e.message()))?,
    };
    let limit_read = raw
        .limit_read
        .map(|l| read_limit(l, "a limit_read of"))
        .transpose()
        .map_err(|e| loc.error(&at.key("limit_read"), e))?;
    let compression = raw
        .compression
        .map(|c| c.parse::<Compression>())
        .transpose()
        .map_err(|e| {
            loc.error(&at.key("compression"), e.message())
                .with_hint(e.hint())
        })?
        .unwrap_or_default();
    let mut systemd = Vec::with_capacity(raw.systemd.len());
    for (key, value) in raw.systemd {
        let here = at.key("systemd").key(&key);
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(loc.error(
                &here,
                format!(
                    "`{key}` is not a systemd setting name (letters and digits, like CPUQuota)"
                ),
            ));
        }
        let text = match value {
            RawUnitValue::Text(t) => t,
            RawUnitValue::Number(n) => n.to_string(),
            RawUnitValue::Switch(b) => if b { "yes" } else { "no" }.to_string(),
        };
        if text.contains(['\n', '\r']) {
            return Err(loc.error(
                &here,
                "a unit setting is one line; the value has a line break",
            ));
        }
        if key == "ExecStart" || key == "Type" {
            return Err(loc.error(
                &here,
                format!("umbra writes `{key}=` itself; the job's unit runs `umbra run JOB`"),
            ));
        }
        systemd.push((key, text));
    }
    Ok(Resources {
        priority,
        limit_read,
        compression,
        systemd,
    })
}
