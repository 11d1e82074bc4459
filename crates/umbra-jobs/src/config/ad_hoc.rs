//! `umbra backup PATH...` as a job: the command line becomes a [`Job`] with no job file,
//! so that an ad-hoc backup and `umbra run JOB` are one pipeline (the same phases, sweep,
//! quiescers, record and history). What only the command line can say (restic's flags
//! that a job file has no key for) travels in [`AdHoc`].

use std::path::PathBuf;

use umbra_core::{ErrorKind, Method, Result, UmbraError};
use umbra_repo::chunking::Chunking;
use umbra_snapshot::OpenFiles;

use super::{Job, JobSource, Origin, QuiesceKind, QuiesceSpec, DEFAULT_FREEZE_TIMEOUT};
use crate::bases::KeepBase;
use crate::quiesce::mysql::MysqlConnection;

/// The name ad-hoc runs are recorded under: not a valid job name (job names hold only
/// letters, digits, `-` and `_`), so it never mixes with a job's history.
pub const AD_HOC_JOB: &str = "(ad hoc)";

/// What an ad-hoc backup asks beyond what a job file can.
#[derive(Debug, Clone, Default)]
pub struct AdHoc {
    pub exclude_files: Vec<PathBuf>,
    /// Read every file, trusting no parent (`--force`).
    pub force_full_read: bool,
    /// A snapshot ID or `latest`; resolved before anything is snapshotted (`--parent`).
    pub parent: Option<String>,
    pub time: Option<jiff::Zoned>,
    pub with_atime: bool,
}

/// The command line's settings of an ad-hoc backup.
#[derive(Debug, Clone, Default)]
pub struct AdHocRequest {
    /// Absolute paths that exist.
    pub paths: Vec<PathBuf>,
    pub open_files: OpenFiles,
    pub snapshot: Option<Method>,
    pub lvm_snapshot_size: String,
    pub chunking: Chunking,
    pub exclude: Vec<String>,
    pub iexclude: Vec<String>,
    pub exclude_caches: bool,
    pub exclude_if_present: Vec<String>,
    pub exclude_larger_than: Option<u64>,
    pub one_file_system: bool,
    pub tags: Vec<String>,
    pub host: Option<String>,
    pub change_retries: u32,
    pub keep_base: KeepBase,
    pub threads: Option<usize>,
    pub resources: super::resources::Resources,
    /// `--quiesce` values, in the order given (the freeze order).
    pub quiesce: Vec<String>,
    pub extra: AdHoc,
}

fn flag_origin(key: String) -> Origin {
    Origin {
        file: PathBuf::new(),
        line: 0,
        key,
    }
}

/// The job an ad-hoc backup runs. Fails on a `--quiesce` value it cannot read.
pub fn ad_hoc_job(r: AdHocRequest) -> Result<Job> {
    let quiesce = r
        .quiesce
        .iter()
        .enumerate()
        .map(|(i, text)| quiesce_flag(text, i, &r.paths))
        .collect::<Result<Vec<_>>>()?;
    let sources = r
        .paths
        .iter()
        .map(|p| JobSource {
            path: p.clone(),
            open_files: r.open_files,
            snapshot: r.snapshot,
            chunking: r.chunking,
            before: Vec::new(),
            after: Vec::new(),
            origin: flag_origin(p.display().to_string()),
        })
        .collect();
    Ok(Job {
        name: AD_HOC_JOB.to_string(),
        sources,
        copy_to: Vec::new(),
        exclude: r.exclude,
        exclude_caches: r.exclude_caches,
        iexclude: r.iexclude,
        exclude_if_present: r.exclude_if_present,
        exclude_larger_than: r.exclude_larger_than,
        one_file_system: r.one_file_system,
        tags: r.tags,
        host: r.host,
        schedule: None,
        keep: None,
        prune: false,
        lvm_snapshot_size: r.lvm_snapshot_size,
        change_retries: r.change_retries,
        keep_base: r.keep_base,
        hooks: super::Hooks::default(),
        quiesce,
        freeze_timeout: DEFAULT_FREEZE_TIMEOUT,
        quiesce_retries: 0,
        notify: Vec::new(),
        max_age: None,
        drill: super::drill::DrillSpec::default(),
        threads: r.threads,
        resources: r.resources,
        ad_hoc: Some(r.extra),
        origin: flag_origin("umbra backup".into()),
    })
}

/// One `--quiesce TYPE[:VALUE]`:
/// - `sqlite:/srv/app/app.db` (a database; `sqlite` alone: every database under the paths),
/// - `postgres:'host=/run/postgresql user=postgres'` (a libpq connection string; `postgres`
///   alone: `dbname=postgres`),
/// - `mysql:/run/mysqld/mysqld.sock` (a socket; `mysql` alone: the client's defaults),
/// - `freeze:UNIT` (a systemd unit held still by the cgroup freezer).
pub fn quiesce_flag(text: &str, index: usize, sources: &[PathBuf]) -> Result<QuiesceSpec> {
    let (type_name, value) = match text.split_once(':') {
        Some((k, v)) => (k, Some(v.trim()).filter(|v| !v.is_empty())),
        None => (text, None),
    };
    let bad = |problem: String| {
        UmbraError::new(
            ErrorKind::InvalidInput,
            format!("--quiesce {text}: {problem}"),
        )
        .with_hint(
            "Write TYPE:VALUE: sqlite:/path/app.db, postgres:'host=/run/postgresql user=postgres', \
             mysql:/run/mysqld/mysqld.sock or freeze:UNIT; a job file takes the other settings \
             ([[jobs.NAME.quiesce]], docs/HOOKS.md).",
        )
    };
    let absolute = |v: &str| -> Result<PathBuf> {
        let p = PathBuf::from(v);
        if p.is_absolute() {
            Ok(p)
        } else {
            Err(bad(format!("{v} is relative; expected an absolute path")))
        }
    };
    let server = matches!(type_name, "postgres" | "mysql");
    let kind = match type_name {
        "sqlite" => QuiesceKind::Sqlite {
            databases: value.map(absolute).transpose()?.into_iter().collect(),
        },
        "postgres" => QuiesceKind::Postgres {
            connection: value.unwrap_or("dbname=postgres").to_string(),
            os_user: None,
            password_file: None,
        },
        "mysql" => QuiesceKind::Mysql(MysqlConnection {
            socket: value.map(absolute).transpose()?,
            host: None,
            port: None,
            user: None,
            defaults_file: None,
        }),
        "freeze" => {
            let Some(unit) = value else {
                return Err(bad(
                    "a freeze needs the unit to hold still: freeze:UNIT".into()
                ));
            };
            QuiesceKind::Freeze(crate::quiesce::FreezeTargets {
                units: vec![unit.to_string()],
                ..Default::default()
            })
        }
        other => {
            return Err(bad(format!(
                "`{other}` is not a quiescer type (sqlite, postgres, mysql or freeze)"
            )))
        }
    };
    Ok(QuiesceSpec {
        name: format!("{type_name}-{}", index + 1),
        // Servers cover the data directory they name once connected.
        covers: if server { Vec::new() } else { sources.to_vec() },
        kind,
        origin: flag_origin(format!("--quiesce {text}")),
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn quiesce_flags_read_as_the_job_file_would() {
        let src = [PathBuf::from("/srv")];
        let q = quiesce_flag("sqlite:/srv/app.db", 0, &src).expect("sqlite");
        assert_eq!(q.name, "sqlite-1");
        assert!(
            matches!(q.kind, QuiesceKind::Sqlite { ref databases } if databases == &[PathBuf::from("/srv/app.db")])
        );
        let q = quiesce_flag("postgres:host=/run/postgresql user=postgres", 1, &src).expect("pg");
        assert!(q.covers.is_empty());
        assert!(
            matches!(q.kind, QuiesceKind::Postgres { ref connection, .. } if connection == "host=/run/postgresql user=postgres")
        );
        let q = quiesce_flag("mysql:/run/mysqld/mysqld.sock", 2, &src).expect("mysql");
        assert!(
            matches!(q.kind, QuiesceKind::Mysql(ref c) if c.socket.as_deref() == Some(std::path::Path::new("/run/mysqld/mysqld.sock")))
        );
        let e = quiesce_flag("oracle:x", 0, &src).expect_err("unknown type");
        assert!(
            e.message().contains("`oracle` is not a quiescer type"),
            "{}",
            e.message()
        );
        let e = quiesce_flag("sqlite:app.db", 0, &src).expect_err("relative");
        assert!(e.message().contains("relative"), "{}", e.message());
        assert!(quiesce_flag("freeze", 0, &src).is_err());
    }
}
