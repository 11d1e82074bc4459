//! Job files: TOML, parsed into a validated [`Config`] before anything runs.
//!
//! Loading has three steps, each with errors that name the file, the line and the key:
//! 1. TOML syntax, and the file's shape (unknown keys, wrong types) through serde
//!    ([`raw`]);
//! 2. values that serde cannot judge: job names, schedules, durations, retention, paths
//!    that must be absolute ([`resolve`]);
//! 3. on request ([`Config::missing_paths`]), paths that must exist. `umbra config check`
//!    does this; `umbra run` leaves source paths to the planner, after the `before`
//!    commands, which may be what mounts them.
//!
//! Default locations: `/etc/umbra/umbra.toml` for root, `$XDG_CONFIG_HOME/umbra/umbra.toml`
//! (`~/.config/umbra/umbra.toml`) for others. Relative paths in a job file are relative to
//! the file's directory.

pub mod ad_hoc;
mod commands;
pub mod drill;
pub mod locate;
pub mod notify;
mod ownership;
mod quiesce;
mod raw;
mod repository;
pub mod resources;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use umbra_core::{ErrorKind, Method, Result, UmbraError};
use umbra_repo::chunking::Chunking;
use umbra_repo::forget::{parse_within, KeepPolicy};
use umbra_snapshot::OpenFiles;

use crate::bases::KeepBase;
use crate::calendar::Calendar;
use crate::command::{HookCommand, OnError};
use commands::{commands, CommandDefaults};
pub use locate::Origin;
use locate::{config_error, plain_words, KeyPath, Locator};
pub use notify::{NotifySpec, ServiceKind};
pub use quiesce::{CommandSteps, QuiesceKind, QuiesceSpec, DEFAULT_FREEZE_TIMEOUT};
use raw::{RawFile, RawJob, RawOpenFiles};
use repository::repository_spec;
pub use repository::RepositorySpec;

/// The default timeout of one command.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// A whole job file, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub repository: Option<RepositorySpec>,
    /// `[repositories.NAME]`: second copies, named by jobs' `copy_to`.
    pub repositories: BTreeMap<String, RepositorySpec>,
    pub jobs: BTreeMap<String, Job>,
    /// `[metrics] textfile`: the Prometheus textfile written after every run.
    pub metrics_textfile: Option<PathBuf>,
}

/// One `[jobs.NAME]` table.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub sources: Vec<JobSource>,
    /// Names of `[repositories]` that get a copy of each run's snapshot, in order.
    pub copy_to: Vec<String>,
    pub exclude: Vec<String>,
    pub exclude_caches: bool,
    /// restic's `--iexclude`, `--exclude-if-present`, `--exclude-larger-than` (bytes).
    pub iexclude: Vec<String>,
    pub exclude_if_present: Vec<String>,
    pub exclude_larger_than: Option<u64>,
    pub one_file_system: bool,
    pub tags: Vec<String>,
    pub host: Option<String>,
    pub schedule: Option<Calendar>,
    pub keep: Option<KeepPolicy>,
    pub prune: bool,
    pub lvm_snapshot_size: String,
    pub change_retries: u32,
    /// When a source's snapshot is kept as the base of its next backup (`keep_base`).
    pub keep_base: KeepBase,
    pub hooks: Hooks,
    /// The applications to hold still while the snapshot set is taken, in freeze order.
    pub quiesce: Vec<QuiesceSpec>,
    /// The bound on the freeze window (first freeze to last thaw).
    pub freeze_timeout: Duration,
    /// How often a snapshot set discarded for an exceeded bound is tried again.
    pub quiesce_retries: u32,
    /// Who is told about its runs (`[notify]` and `[jobs.NAME.notify]`).
    pub notify: Vec<NotifySpec>,
    /// How old its last success may be before `umbra jobs --check` calls it overdue
    /// (default: twice the interval of its schedule).
    pub max_age: Option<Duration>,
    /// How its restores are proven (`[jobs.NAME.drill]`; defaults when absent).
    pub drill: drill::DrillSpec,
    /// How many files its backup reads at once (`threads`); `None`: one per core.
    pub threads: Option<usize>,
    /// Its priority, read limit and unit settings.
    pub resources: resources::Resources,
    /// Set for `umbra backup PATH...`: the run is recorded as ad hoc, and these apply.
    pub ad_hoc: Option<ad_hoc::AdHoc>,
    pub origin: Origin,
}

/// One source of a job.
#[derive(Debug, Clone)]
pub struct JobSource {
    pub path: PathBuf,
    pub open_files: OpenFiles,
    pub snapshot: Option<Method>,
    /// How its files are cut into chunks (`chunking`, the source's or the job's).
    pub chunking: Chunking,
    pub before: Vec<HookCommand>,
    pub after: Vec<HookCommand>,
    pub origin: Origin,
}

/// A job's commands, by phase.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub before: Vec<HookCommand>,
    pub after_snapshot: Vec<HookCommand>,
    pub after: Vec<HookCommand>,
    pub on_failure: Vec<HookCommand>,
    pub finally: Vec<HookCommand>,
}

/// The job file this user reads when `-c` names none (on Windows, `umbra.toml` in
/// `%ProgramData%\umbra` or `%LOCALAPPDATA%\umbra`).
pub fn default_path() -> Result<PathBuf> {
    if let Some(dir) = umbra_core::os::windows_data_dir() {
        return Ok(dir.join("umbra.toml"));
    }
    if umbra_core::os::is_privileged() {
        return Ok(PathBuf::from("/etc/umbra/umbra.toml"));
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("umbra/umbra.toml"));
    }
    match std::env::var_os("HOME") {
        Some(h) => Ok(PathBuf::from(h).join(".config/umbra/umbra.toml")),
        None => Err(UmbraError::new(
            ErrorKind::Config,
            "cannot find the job file: HOME is not set",
        )
        .with_hint("Name the job file with -c FILE.")),
    }
}

impl Config {
    /// Reads and validates the job file at `file`.
    pub fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            let err = UmbraError::new(
                ErrorKind::Config,
                format!("cannot read the job file {}: {e}", file.display()),
            );
            if e.kind() == std::io::ErrorKind::NotFound {
                err.with_hint(format!(
                    "Create {} (docs/HOOKS.md has an example), or name another with -c FILE.",
                    file.display()
                ))
            } else {
                err.with_source(e)
            }
        })?;
        ownership::refuse_foreign_writers(file)?;
        Self::parse(file, &text)
    }

    /// Validates `text` as the contents of `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Self> {
        let root = toml::de::DeTable::parse(text).map_err(|e| {
            let line = e.span().map_or(1, |s| locate::line_of(text, s.start));
            UmbraError::new(
                ErrorKind::Config,
                format!(
                    "{}:{line}: not valid TOML: {}",
                    file.display(),
                    e.message().trim()
                ),
            )
        })?;
        let loc = Locator {
            file,
            text,
            root: Some(root.get_ref()),
        };
        let de = toml::de::Deserializer::from(root.clone());
        let raw: RawFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = KeyPath::parse(&e.path().to_string());
            let inner = e.into_inner();
            let mut origin = loc.origin(&path);
            if let Some(span) = inner.span() {
                origin.line = locate::line_of(text, span.start);
            }
            config_error(&origin, plain_words(inner.message().trim()))
        })?;
        resolve(raw, &loc)
    }

    /// The job called `name`, or an error that lists the jobs there are.
    pub fn job(&self, name: &str) -> Result<&Job> {
        self.jobs.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.jobs.keys().map(String::as_str).collect();
            UmbraError::new(
                ErrorKind::NotFound,
                format!("no job `{name}` in {}", self.file.display()),
            )
            .with_hint(if known.is_empty() {
                "The file defines no jobs: add a [jobs.NAME] table.".to_string()
            } else {
                format!("The jobs there are: {}.", known.join(", "))
            })
        })
    }

    /// Paths named in the file that do not exist: sources, the password file, working
    /// directories. One error per path.
    #[must_use]
    pub fn missing_paths(&self) -> Vec<UmbraError> {
        let mut errors = self.repository_problems();
        let mut check = |path: &Path, origin: &Origin, what: &str| {
            if std::fs::symlink_metadata(path).is_err() {
                errors.push(config_error(
                    origin,
                    format!(
                        "{what} {} does not exist; expected an existing path",
                        path.display()
                    ),
                ));
            }
        };
        for job in self.jobs.values() {
            for s in &job.sources {
                check(&s.path, &s.origin, "the source");
            }
            for cmd in job.hooks.all().chain(
                job.sources
                    .iter()
                    .flat_map(|s| s.before.iter().chain(&s.after)),
            ) {
                if let Some(dir) = &cmd.working_dir {
                    check(dir, &job.origin, "the working directory");
                }
            }
            for target in &job.notify {
                for file in target.files() {
                    check(file, &target.origin, "the notification's secret file");
                }
            }
        }
        errors
    }
}

impl Hooks {
    /// Every command of every phase.
    pub fn all(&self) -> impl Iterator<Item = &HookCommand> {
        self.before
            .iter()
            .chain(&self.after_snapshot)
            .chain(&self.after)
            .chain(&self.on_failure)
            .chain(&self.finally)
    }
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn open_files(v: Option<RawOpenFiles>) -> OpenFiles {
    match v {
        None | Some(RawOpenFiles::Auto) => OpenFiles::Auto,
        Some(RawOpenFiles::Required) => OpenFiles::Required,
        Some(RawOpenFiles::Off) => OpenFiles::Off,
    }
}

fn valid_job_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn resolve(raw: RawFile, loc: &Locator<'_>) -> Result<Config> {
    // `-c umbra.toml` has an empty parent: the file's directory is then the current one,
    // made absolute, so that commands and relative paths mean the same in every phase.
    let base = match loc.file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    };
    let base = std::path::absolute(&base).unwrap_or(base);
    let repository = raw
        .repository
        .map(|r| repository_spec(r, &KeyPath::default().key("repository"), &base, loc));
    let mut repositories = BTreeMap::new();
    for (name, r) in raw.repositories {
        let at = KeyPath::default().key("repositories").key(&name);
        repositories.insert(name, repository_spec(r, &at, &base, loc));
    }
    let file_notify = match raw.notify {
        Some(n) => notify::resolve_table(n, &KeyPath::default().key("notify"), &base, loc)?,
        None => Vec::new(),
    };
    let mut jobs = BTreeMap::new();
    for (name, job) in raw.jobs {
        let at = KeyPath::default().key("jobs").key(&name);
        if !valid_job_name(&name) {
            return Err(loc.error(
                &at,
                "a job name may hold only letters, digits, `-` and `_` (it names files and systemd units)",
            ));
        }
        for (i, target) in job.copy_to.iter().enumerate() {
            if !repositories.contains_key(target) {
                let known: Vec<&str> = repositories.keys().map(String::as_str).collect();
                return Err(loc.error(
                    &at.key("copy_to").index(i),
                    format!(
                        "`{target}` names no repository; expected one of the file's [repositories.NAME] tables{}",
                        if known.is_empty() {
                            " (it has none)".to_string()
                        } else {
                            format!(": {}", known.join(", "))
                        }
                    ),
                ));
            }
        }
        let mut job = resolve_job(name.clone(), job, &at, &base, loc)?;
        job.notify = notify::merge(&file_notify, std::mem::take(&mut job.notify));
        jobs.insert(name, job);
    }
    Ok(Config {
        file: loc.file.to_path_buf(),
        repository,
        repositories,
        jobs,
        metrics_textfile: raw
            .metrics
            .and_then(|m| m.textfile)
            .map(|p| absolute(&base, &p)),
    })
}

fn resolve_job(
    name: String,
    mut job: RawJob,
    at: &KeyPath,
    base: &Path,
    loc: &Locator<'_>,
) -> Result<Job> {
    if job.sources.is_empty() {
        return Err(loc.error(&at.key("sources"), "no sources; expected at least one path"));
    }
    let schedule = match job.schedule {
        None => None,
        Some(s) => Some(Calendar::parse(&s).map_err(|e| {
            loc.error(
                &at.key("schedule"),
                format!("`{s}` is not a systemd calendar expression: {e}"),
            )
        })?),
    };
    let keep = match job.keep {
        None => None,
        Some(policy) => {
            if policy.is_empty() {
                return Err(loc.error(
                    &at.key("keep"),
                    "the retention policy keeps nothing; expected at least one of last, hourly, daily, weekly, monthly, yearly, within",
                ));
            }
            if let Some(w) = &policy.within {
                parse_within(w)
                    .map_err(|e| loc.error(&at.key("keep").key("within"), e.message()))?;
            }
            Some(policy)
        }
    };
    if job.prune && keep.is_none() {
        return Err(loc.error(
            &at.key("prune"),
            "prune is set but there is no `keep` policy to decide what goes",
        ));
    }
    let exclude_larger_than = match &job.exclude_larger_than {
        None => None,
        Some(s) => Some(
            umbra_repo::backup::parse_size(s)
                .map_err(|e| loc.error(&at.key("exclude_larger_than"), e.message()))?,
        ),
    };
    let lvm_snapshot_size = match job.lvm_snapshot_size {
        None => "20%ORIGIN".to_string(),
        Some(s) => umbra_snapshot::lvm::parse_cow_size(&s)
            .map_err(|e| loc.error(&at.key("lvm_snapshot_size"), e))?,
    };
    // Commands run in the job file's directory unless the job names another, so that a
    // relative path in a command means what it does in the file.
    let working_dir = Some(
        job.working_dir
            .map_or_else(|| base.to_path_buf(), |w| absolute(base, &w)),
    );
    let timeout = job.hook_timeout.map_or(DEFAULT_HOOK_TIMEOUT, |t| t.0);
    let defaults = |on_error| CommandDefaults {
        timeout,
        on_error,
        working_dir: working_dir.as_deref(),
        base,
    };
    let h = at.key("hooks");
    let hooks = Hooks {
        before: commands(
            job.hooks.before,
            &h.key("before"),
            &defaults(OnError::Fail),
            loc,
        )?,
        after_snapshot: commands(
            job.hooks.after_snapshot,
            &h.key("after_snapshot"),
            &defaults(OnError::Fail),
            loc,
        )?,
        after: commands(
            job.hooks.after,
            &h.key("after"),
            &defaults(OnError::Warn),
            loc,
        )?,
        on_failure: commands(
            job.hooks.on_failure,
            &h.key("on_failure"),
            &defaults(OnError::Warn),
            loc,
        )?,
        finally: commands(
            job.hooks.finally,
            &h.key("finally"),
            &defaults(OnError::Warn),
            loc,
        )?,
    };
    let mut quiesce: Vec<QuiesceSpec> = Vec::new();
    let all_sources: Vec<PathBuf> = job.sources.iter().map(|s| s.0.path.clone()).collect();
    for (i, q) in job.quiesce.into_iter().enumerate() {
        let qat = at.key("quiesce").index(i);
        let spec = quiesce::resolve(q, i, &qat, &all_sources, &defaults(OnError::Fail), loc)?;
        if quiesce.iter().any(|o| o.name == spec.name) {
            return Err(loc.error(
                &qat.key("name"),
                format!("a second quiescer named `{}`", spec.name),
            ));
        }
        quiesce.push(spec);
    }
    let notify = match job.notify {
        Some(n) => notify::resolve_table(n, &at.key("notify"), base, loc)?,
        None => Vec::new(),
    };
    if job.max_age.is_some_and(|a| a.0.is_zero()) {
        return Err(loc.error(
            &at.key("max_age"),
            "a max_age of 0 is always overdue; expected a duration like \"26h\"",
        ));
    }
    let drill = match job.drill {
        Some(d) => drill::resolve(d, &at.key("drill"), base, &defaults(OnError::Fail), loc)?,
        None => drill::DrillSpec::default(),
    };
    let resources = resources::resolve(
        resources::RawResources {
            priority: job.priority.as_deref(),
            limit_read: job.limit_read,
            compression: job.compression.as_deref(),
            systemd: job.systemd.take().into_iter().flatten().collect(),
            threads: job.threads,
        },
        at,
        loc,
    )?;
    let job_open_files = job.open_files;
    let chunking = |text: Option<&String>, key: &KeyPath| -> Result<Option<Chunking>> {
        text.map(|t| {
            t.parse()
                .map_err(|e: UmbraError| loc.error(key, e.message()))
        })
        .transpose()
    };
    let job_chunking = chunking(job.chunking.as_ref(), &at.key("chunking"))?;
    let keep_base = match &job.keep_base {
        None => KeepBase::Auto,
        Some(k) => k
            .parse()
            .map_err(|e: UmbraError| loc.error(&at.key("keep_base"), e.message()))?,
    };
    let mut sources: Vec<JobSource> = Vec::new();
    for (i, s) in job.sources.into_iter().enumerate() {
        let s = s.0;
        let sat = at.key("sources").index(i);
        if !s.path.is_absolute() {
            return Err(loc.error(
                &sat,
                format!(
                    "the source {} is relative; expected an absolute path",
                    s.path.display()
                ),
            ));
        }
        if sources.iter().any(|o| o.path == s.path) {
            return Err(loc.error(
                &sat,
                format!("the source {} is listed twice", s.path.display()),
            ));
        }
        let source_chunking = chunking(s.chunking.as_ref(), &sat.key("chunking"))?;
        sources.push(JobSource {
            chunking: source_chunking.or(job_chunking).unwrap_or_default(),
            before: commands(s.before, &sat.key("before"), &defaults(OnError::Fail), loc)?,
            after: commands(s.after, &sat.key("after"), &defaults(OnError::Warn), loc)?,
            path: s.path,
            open_files: open_files(s.open_files.or(job_open_files)),
            snapshot: s.snapshot.or(job.snapshot),
            origin: loc.origin(&sat),
        });
    }
    Ok(Job {
        name,
        sources,
        copy_to: job.copy_to,
        exclude: job.exclude,
        exclude_caches: job.exclude_caches,
        iexclude: job.iexclude,
        exclude_if_present: job.exclude_if_present,
        exclude_larger_than,
        one_file_system: job.one_file_system,
        tags: job.tags,
        host: job.host,
        schedule,
        keep,
        prune: job.prune,
        lvm_snapshot_size,
        change_retries: job.change_retries.unwrap_or(3),
        keep_base,
        hooks,
        quiesce,
        freeze_timeout: job.freeze_timeout.map_or(DEFAULT_FREEZE_TIMEOUT, |t| t.0),
        quiesce_retries: job.quiesce_retries.unwrap_or(0),
        notify,
        max_age: job.max_age.map(|a| a.0),
        drill,
        threads: job.threads.map(|t| t as usize),
        resources,
        ad_hoc: None,
        origin: loc.origin(at),
    })
}

// The job files of these tests name Unix paths; Windows' own are in tests_windows.rs.
#[cfg(all(test, unix))]
mod tests;
#[cfg(all(test, windows))]
mod tests_windows;
