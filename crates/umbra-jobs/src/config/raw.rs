//! The job file exactly as written: serde structs that refuse unknown keys.
//!
//! Nothing here is validated beyond types; [`super::resolve`] turns these into a
//! [`super::Config`]. Values that may be written two or three ways (a source as a path or
//! a table; a command as a string, an array or a table; a duration as seconds or `5m`)
//! have hand-written visitors so that a mistake gets a message about the job file, not
//! about serde's internals.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use umbra_core::Method;

use crate::command::OnError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub repository: Option<RawRepository>,
    /// Other repositories, by name, for `copy_to`.
    #[serde(default)]
    pub repositories: BTreeMap<String, RawRepository>,
    #[serde(default)]
    pub jobs: BTreeMap<String, RawJob>,
    /// Notification targets every job has (a job's own table adds to them).
    pub notify: Option<RawNotify>,
    pub metrics: Option<RawMetrics>,
}

/// `[metrics]`: where the Prometheus textfile goes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub textfile: Option<PathBuf>,
}

/// `[notify]` or `[jobs.NAME.notify]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub healthchecks: Option<RawTargetOrUrl>,
    pub ntfy: Option<RawTargetOrUrl>,
    pub webhook: Option<RawTargetOrUrl>,
    /// The events this table's targets are told about, unless a target says.
    pub on: Option<Vec<String>>,
    /// The timeout of one request.
    pub timeout: Option<RawDuration>,
}

/// A target: its URL, or a table with `url` and optionally `on`, `secret_file`
/// (webhook), `token_file` (ntfy).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub url: String,
    pub on: Option<Vec<String>>,
    pub secret_file: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepository {
    pub path: String,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    /// A remote repository's options, as restic's `-o` names them (`"rest.timeout"`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawOpenFiles {
    Auto,
    Required,
    Off,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    pub sources: Vec<RawSourceOrPath>,
    /// Names from `[repositories]`: each gets a copy of the run's snapshot.
    #[serde(default)]
    pub copy_to: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub exclude_caches: bool,
    #[serde(default)]
    pub iexclude: Vec<String>,
    #[serde(default)]
    pub exclude_if_present: Vec<String>,
    pub exclude_larger_than: Option<String>,
    #[serde(default)]
    pub one_file_system: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    pub host: Option<String>,
    pub schedule: Option<String>,
    pub keep: Option<umbra_repo::forget::KeepPolicy>,
    #[serde(default)]
    pub prune: bool,
    pub open_files: Option<RawOpenFiles>,
    pub snapshot: Option<Method>,
    pub lvm_snapshot_size: Option<String>,
    pub change_retries: Option<u32>,
    pub chunking: Option<String>,
    pub keep_base: Option<String>,
    pub hook_timeout: Option<RawDuration>,
    pub working_dir: Option<PathBuf>,
    #[serde(default)]
    pub hooks: RawHooks,
    #[serde(default)]
    pub quiesce: Vec<RawQuiesce>,
    pub freeze_timeout: Option<RawDuration>,
    pub quiesce_retries: Option<u32>,
    pub notify: Option<RawNotify>,
    /// How old the last success may be before `umbra jobs --check` calls the job overdue.
    pub max_age: Option<RawDuration>,
    pub drill: Option<RawDrill>,
    /// How many files are read at once (restic's `--read-concurrency`).
    pub threads: Option<u32>,
    /// `low` (default) or `normal`: the priority of reading and storing.
    pub priority: Option<String>,
    /// MB/s the backup may read from its sources.
    pub limit_read: Option<f64>,
    /// `auto`, `off`, `fastest`, `max` or a zstd level: how the backup compresses.
    pub compression: Option<String>,
    /// Settings for the `[Service]` section of the job's systemd unit.
    pub systemd: Option<BTreeMap<String, super::resources::RawUnitValue>>,
}

/// `[jobs.NAME.drill]`: how the job's restores are proven.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDrill {
    /// A check of the user's, run against the restored tree.
    pub command: Option<RawCommand>,
    /// Queries by database (a PostgreSQL or MariaDB database name, or a SQLite file).
    #[serde(default)]
    pub queries: BTreeMap<String, Vec<String>>,
    /// How many files to check against the snapshot: a number, or `"all"`.
    pub sample: Option<RawSample>,
    /// Run a drill after the job's backup when the last passed one is older than this.
    pub every: Option<RawDuration>,
    /// The bound on the whole drill.
    pub timeout: Option<RawDuration>,
    /// Where the scratch directories go (default `/var/tmp`).
    pub scratch_dir: Option<PathBuf>,
}

/// `sample = 1000` or `sample = "all"`.
#[derive(Debug, Clone, Copy)]
pub struct RawSample(pub Option<usize>);

impl<'de> Deserialize<'de> for RawSample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawSample;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of files, or \"all\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                usize::try_from(v)
                    .map(|n| RawSample(Some(n)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                usize::try_from(v)
                    .map(|n| RawSample(Some(n)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v == "all" {
                    Ok(RawSample(None))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The types of quiescer.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawQuiesceKind {
    Command,
    Sqlite,
    Postgres,
    Mysql,
    Freeze,
}

/// One name or a list of names (`unit = "a.service"` or `unit = ["a.service", "b.service"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Self::One(x) => vec![x],
            Self::Many(v) => v,
        }
    }
}

/// One `[[jobs.NAME.quiesce]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuiesce {
    #[serde(rename = "type")]
    pub kind: RawQuiesceKind,
    pub name: Option<String>,
    pub covers: Option<Vec<PathBuf>>,
    /// `sqlite`: the databases; default: every SQLite file under `covers`.
    pub databases: Option<Vec<PathBuf>>,
    /// `postgres`: a libpq connection string; the OS user to connect as; a password file.
    pub connection: Option<String>,
    pub os_user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// `mysql`: the client's connection options, and an option file with the password.
    pub socket: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub defaults_file: Option<PathBuf>,
    /// `freeze`: what to hold still.
    pub unit: Option<OneOrMany<String>>,
    pub container: Option<OneOrMany<String>>,
    pub cgroup: Option<OneOrMany<PathBuf>>,
    pub prepare: Option<RawCommand>,
    pub freeze: Option<RawCommand>,
    pub thaw: Option<RawCommand>,
    pub finish: Option<RawCommand>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHooks {
    #[serde(default)]
    pub before: Vec<RawCommand>,
    #[serde(default)]
    pub after_snapshot: Vec<RawCommand>,
    #[serde(default)]
    pub after: Vec<RawCommand>,
    #[serde(default)]
    pub on_failure: Vec<RawCommand>,
    #[serde(default)]
    pub finally: Vec<RawCommand>,
}

/// A source: `"/etc"` or `{ path = "/srv/pgdata", open_files = "required" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub path: PathBuf,
    pub open_files: Option<RawOpenFiles>,
    pub snapshot: Option<Method>,
    pub chunking: Option<String>,
    #[serde(default)]
    pub before: Vec<RawCommand>,
    #[serde(default)]
    pub after: Vec<RawCommand>,
}

/// `healthchecks = "https://..."` or `webhook = { url = "...", secret_file = "..." }`.
#[derive(Debug)]
pub struct RawTargetOrUrl(pub RawTarget);

impl<'de> Deserialize<'de> for RawTargetOrUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTargetOrUrl;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a URL, or a table with `url` and optionally `on`, `secret_file`, `token_file`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawTargetOrUrl(RawTarget {
                    url: v.to_string(),
                    on: None,
                    secret_file: None,
                    token_file: None,
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawTarget::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawTargetOrUrl)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawSourceOrPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSourceOrPath;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path, or a table with `path` and optionally `open_files`, `snapshot`, `chunking`, `before`, `after`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawSourceOrPath(RawSource {
                    path: PathBuf::from(v),
                    open_files: None,
                    snapshot: None,
                    chunking: None,
                    before: Vec::new(),
                    after: Vec::new(),
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawSource::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawSourceOrPath)
            }
        }
        d.deserialize_any(V)
    }
}

/// [`RawSource`] as written either way.
#[derive(Debug)]
pub struct RawSourceOrPath(pub RawSource);

/// A command: `"systemctl stop x"`, `["pg_ctl", "stop"]`, or a table with `run` and
/// optionally `timeout`, `on_error`, `working_dir`.
#[derive(Debug)]
pub struct RawCommand {
    pub run: RawRun,
    pub timeout: Option<RawDuration>,
    pub on_error: Option<OnError>,
    pub working_dir: Option<PathBuf>,
}

/// What to run, as written.
#[derive(Debug, Clone)]
pub enum RawRun {
    String(String),
    Argv(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommandTable {
    run: RawRun,
    timeout: Option<RawDuration>,
    on_error: Option<OnError>,
    working_dir: Option<PathBuf>,
}

struct RunVisitor;

impl<'de> Visitor<'de> for RunVisitor {
    type Value = RawRun;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command string or an array of arguments")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawRun::String(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut argv = Vec::new();
        while let Some(a) = seq.next_element::<String>()? {
            argv.push(a);
        }
        Ok(RawRun::Argv(argv))
    }
}

impl<'de> Deserialize<'de> for RawRun {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RunVisitor)
    }
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command string, an array of arguments, or a table with `run`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                RunVisitor.visit_str(v).map(RawCommand::plain)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                RunVisitor.visit_seq(seq).map(RawCommand::plain)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let t = RawCommandTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawCommand {
                    run: t.run,
                    timeout: t.timeout,
                    on_error: t.on_error,
                    working_dir: t.working_dir,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl RawCommand {
    fn plain(run: RawRun) -> Self {
        Self {
            run,
            timeout: None,
            on_error: None,
            working_dir: None,
        }
    }
}

/// A duration: whole seconds, or a string like `500ms`, `30s`, `5m`, `1h`, `7d`.
#[derive(Debug, Clone, Copy)]
pub struct RawDuration(pub Duration);

/// Parses `500ms`, `30s`, `5m`, `1h`, `1h30m`, `7d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut digits = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                Duration::from_millis(n)
            }
            's' => Duration::from_secs(n),
            'm' => Duration::from_secs(n.checked_mul(60)?),
            'h' => Duration::from_secs(n.checked_mul(3600)?),
            'd' => Duration::from_secs(n.checked_mul(86_400)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        any = true;
    }
    (digits.is_empty() && any).then_some(total)
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"30s\", \"5m\" or \"1h\" (or whole seconds)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(RawDuration(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(|v| RawDuration(Duration::from_secs(v)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v)
                    .map(RawDuration)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
