//! Opening and creating repositories.
//!
//! [`Repo`] is an open repository (the password checked) together with the lock that the
//! command needs. Commands are methods on it, each in its own module. rustic_core's typed
//! repository states (open, indexed) stay inside those methods.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustic_backend::BackendOptions;
use rustic_core::{
    ConfigOptions, Credentials, OpenStatus, Repository, RepositoryBackends, RepositoryOptions,
};
use umbra_core::{ErrorKind, Monitor, Result, UmbraError};

use crate::error::rustic;
use crate::lock::{LockDir, LockGuard, LockKind};
use crate::progress::MonitorBars;
use crate::remote::Probe;

/// Where a repository lives: a local directory (`/path`, `local:/path`), or a remote
/// store in restic's location syntax (docs/STORAGE.md). A remote location keeps what the
/// user wrote only with its secrets redacted: that is all umbra ever prints of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLocation {
    kind: LocationKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LocationKind {
    Local(PathBuf),
    Remote {
        /// What rustic_backend is given (`rest:https://...`, `rclone:remote:path`).
        backend: String,
        /// The backend's options (retries, timeout).
        options: std::collections::BTreeMap<String, String>,
        /// The location as written, its password redacted.
        shown: String,
        /// For a REST server: the repository's URL, asked once before anything else.
        rest_url: Option<String>,
    },
}

/// How long one request to a remote store may take before it is tried again (rustic's
/// default is 10 minutes: a server that stops answering would look like a hang).
const REMOTE_TIMEOUT: &str = "60s";
/// How often a failed request is tried again, with exponential backoff.
const REMOTE_RETRIES: &str = "5";

impl RepoLocation {
    /// Parses a repository string as given with `-r/--repo` or `UMBRA_REPOSITORY`.
    pub fn parse(spec: &str) -> Result<Self> {
        let raw = spec.strip_prefix("local:").unwrap_or(spec);
        if raw.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                "the repository location is empty",
            )
            .with_hint("Give a directory, for example `-r /srv/backup/repo`."));
        }
        if let Some((scheme, rest)) = raw.split_once(':') {
            match scheme {
                "rest" => return Self::rest(rest),
                "rclone" => {
                    return Ok(Self::remote(
                        format!("rclone:{rest}"),
                        raw.to_string(),
                        None,
                    ));
                }
                "s3" | "sftp" | "opendal" | "b2" | "azure" | "gs" | "swift" => {
                    return Err(UmbraError::new(
                        ErrorKind::InvalidInput,
                        format!("repository backend `{scheme}:` is not supported yet"),
                    )
                    .with_hint("Use a local directory, a REST server (`rest:https://host/path`, for example `rclone serve restic`), or `rclone:remote:path`."));
                }
                _ => {}
            }
        }
        let path = PathBuf::from(raw);
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .map_err(|e| {
                    UmbraError::new(ErrorKind::Io, "cannot read the current directory")
                        .with_source(e)
                })?
                .join(path)
        };
        Ok(Self {
            kind: LocationKind::Local(path),
        })
    }

    /// `rest:http(s)://[user:password@]host[:port]/[path]`, restic's REST protocol.
    fn rest(url: &str) -> Result<Self> {
        let Some((scheme, after)) = url.split_once("://") else {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`rest:{}` is not a URL", redact_url(url)),
            )
            .with_hint("Write it as restic does: `rest:https://user:password@host:8000/path`."));
        };
        if !["http", "https"].contains(&scheme) || after.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`rest:{}` is not an http or https URL", redact_url(url)),
            ));
        }
        // rustic's REST backend wants the repository's URL to end with a slash.
        let url = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        Ok(Self::remote(
            format!("rest:{url}"),
            format!("rest:{}", redact_url(&url)),
            Some(url),
        ))
    }

    fn remote(backend: String, shown: String, rest_url: Option<String>) -> Self {
        let options = [("timeout", REMOTE_TIMEOUT), ("retry", REMOTE_RETRIES)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            kind: LocationKind::Remote {
                backend,
                options,
                shown,
                rest_url,
            },
        }
    }

    /// Sets a backend option, as restic's `-o KEY=VALUE` names it (`rest.timeout`,
    /// `rest.retry`). A key the location's backend does not take is an error.
    pub fn set_option(&mut self, key: &str, value: &str) -> Result<()> {
        const KNOWN: [(&str, &str); 2] = [("rest.timeout", "timeout"), ("rest.retry", "retry")];
        let Some((_, name)) = KNOWN.iter().find(|(k, _)| *k == key) else {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{key}` is not a repository option umbra knows"),
            )
            .with_hint("Known: rest.timeout (for example 30s), rest.retry (a count)."));
        };
        match &mut self.kind {
            LocationKind::Remote {
                backend, options, ..
            } if backend.starts_with("rest:") || backend.starts_with("rclone:") => {
                options.insert((*name).to_string(), value.to_string());
                Ok(())
            }
            _ => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{key}` is for REST repositories, and {self} is not one"),
            )),
        }
    }

    /// A location for a local directory.
    #[must_use]
    pub fn local(path: PathBuf) -> Self {
        Self {
            kind: LocationKind::Local(path),
        }
    }

    /// The directory of a local repository; `None` for a remote one.
    #[must_use]
    pub fn local_path(&self) -> Option<&Path> {
        match &self.kind {
            LocationKind::Local(p) => Some(p),
            LocationKind::Remote { .. } => None,
        }
    }

    /// True when a repository (its `config` file) exists here. For a remote location,
    /// false also when the store cannot be asked; [`Self::remote_state`] says why.
    #[must_use]
    pub fn exists(&self) -> bool {
        match &self.kind {
            LocationKind::Local(p) => p.join("config").is_file(),
            LocationKind::Remote { .. } => {
                matches!(self.remote_state(), Ok(Some(Probe::Exists)) | Ok(None))
            }
        }
    }

    /// For a REST location: one plain request, whose failure is the error to report
    /// (unreachable, refused credentials). `None` where nothing can be asked first.
    pub(crate) fn remote_state(&self) -> Result<Option<Probe>> {
        match &self.kind {
            LocationKind::Remote {
                rest_url: Some(url),
                shown,
                ..
            } => crate::remote::probe_rest(url, shown).map(Some),
            _ => Ok(None),
        }
    }

    pub(crate) fn backends(&self) -> Result<RepositoryBackends> {
        let options = match &self.kind {
            LocationKind::Local(p) => {
                BackendOptions::default().repository(p.to_string_lossy().into_owned())
            }
            LocationKind::Remote {
                backend, options, ..
            } => BackendOptions::default()
                .repository(backend.clone())
                .options(options.clone()),
        };
        options
            .to_backends()
            .map_err(rustic("cannot open the repository's storage"))
    }

    /// Where this repository's locks are.
    pub(crate) fn lock_dir(&self) -> Result<LockDir> {
        Ok(match &self.kind {
            LocationKind::Local(p) => LockDir::of_repository(p),
            LocationKind::Remote { .. } => LockDir::Backend(self.backends()?.repository()),
        })
    }
}

/// A URL with the password of its user part replaced by `***`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(host_end);
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            let hidden = if authority[..authority.len() - host.len() - 1].contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

impl std::fmt::Display for RepoLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            LocationKind::Local(p) => write!(f, "{}", p.display()),
            LocationKind::Remote { shown, .. } => f.write_str(shown),
        }
    }
}

/// An open repository, holding the lock its command needs until it is dropped.
pub struct Repo {
    pub(crate) inner: Repository<OpenStatus>,
    pub(crate) location: RepoLocation,
    pub(crate) monitor: Arc<dyn Monitor>,
    /// Held for the life of the value; released (the lock file removed) on drop.
    pub(crate) lock: Option<LockGuard>,
    /// restic's `--host/--tag/--path`: which snapshots `latest` and the lists consider.
    pub(crate) filter: crate::snapshots::SnapshotFilter,
}

/// How to open a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// The lock the command needs; `None` for commands that must work on a locked
    /// repository (`unlock`).
    pub lock: Option<LockKind>,
    /// Read everything from the repository itself, never from the local cache. `check`
    /// needs this: a cached good copy would hide a damaged file in the repository.
    pub bypass_cache: bool,
}

impl OpenOptions {
    #[must_use]
    pub fn locked(kind: LockKind) -> Self {
        Self {
            lock: Some(kind),
            bypass_cache: false,
        }
    }
}

/// Where the local cache lives, when the command line says (`--cache-dir`,
/// `--no-cache`); otherwise `UMBRA_CACHE_DIR`, then `$XDG_CACHE_HOME/umbra`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheChoice {
    Dir(PathBuf),
    None,
}

static CACHE_CHOICE: std::sync::OnceLock<CacheChoice> = std::sync::OnceLock::new();

/// Sets the cache for every repository this process opens. Call once, before opening
/// any; later calls are ignored.
pub fn set_cache(choice: CacheChoice) {
    let _ = CACHE_CHOICE.set(choice);
}

/// The cache choice made with [`set_cache`], if any.
pub(crate) fn cache_choice() -> Option<&'static CacheChoice> {
    CACHE_CHOICE.get()
}

/// Options shared by every repository we open: our own cache directory, so that umbra
/// never shares (and so never corrupts) a cache with restic or rustic.
pub(crate) fn repository_options() -> RepositoryOptions {
    match crate::cache::base() {
        Some(dir) => RepositoryOptions::default().cache_dir(dir),
        None => RepositoryOptions::default().no_cache(true),
    }
}

impl Repo {
    /// Creates a new repository at `location`, with one key for `password`.
    ///
    /// Fails if a repository already exists there. The repository format is restic's
    /// version 2 (compressed), readable by restic 0.14 and later.
    pub fn init(
        location: &RepoLocation,
        password: &str,
        monitor: Arc<dyn Monitor>,
    ) -> Result<Self> {
        Self::init_from(location, password, monitor, None)
    }

    /// Like [`Repo::init`], with the chunker parameters (polynomial, chunk sizes) and the
    /// compression of `template` (restic's `init --copy-chunker-params`): the same file
    /// then splits into the same blobs in both repositories, so that `copy` between them
    /// deduplicates, and backups into either reuse what `copy` brought.
    pub fn init_like(
        location: &RepoLocation,
        password: &str,
        monitor: Arc<dyn Monitor>,
        template: &Repo,
    ) -> Result<Self> {
        Self::init_from(location, password, monitor, Some(template))
    }

    fn init_from(
        location: &RepoLocation,
        password: &str,
        monitor: Arc<dyn Monitor>,
        template: Option<&Repo>,
    ) -> Result<Self> {
        let exists = match location.remote_state()? {
            Some(state) => state == Probe::Exists,
            None => location.local_path().is_some() && location.exists(),
        };
        if exists {
            return Err(UmbraError::new(
                ErrorKind::RepositoryExists,
                format!("a repository already exists at {location}"),
            ));
        }
        let local = location.local_path();
        if let Some(Ok(mut entries)) = local.map(std::fs::read_dir) {
            if entries.next().is_some() {
                return Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("{location} is not empty and holds no repository"),
                )
                .with_hint("Choose an empty or new directory for the repository."));
            }
        }
        // A failed init (full disk, no inodes, no permission) must not leave a half-made
        // repository behind: remove what it created.
        let existed = local.is_some_and(Path::exists);
        let config = template.map(|t| {
            let mut config = t.inner.config().clone();
            config.id = rustic_core::Id::random().into();
            config.is_hot = None;
            config
        });
        let inner = Self::init_inner(location, password, &monitor, config).inspect_err(|_| {
            let Some(local) = local else {
                return;
            };
            if existed {
                if let Ok(entries) = std::fs::read_dir(local) {
                    for e in entries.filter_map(std::result::Result::ok) {
                        let p = e.path();
                        let _ = if p.is_dir() {
                            std::fs::remove_dir_all(&p)
                        } else {
                            std::fs::remove_file(&p)
                        };
                    }
                }
            } else {
                let _ = std::fs::remove_dir_all(local);
            }
        })?;
        Ok(Self {
            inner,
            location: location.clone(),
            monitor,
            lock: None,
            filter: crate::snapshots::SnapshotFilter::default(),
        })
    }

    fn init_inner(
        location: &RepoLocation,
        password: &str,
        monitor: &Arc<dyn Monitor>,
        config: Option<rustic_core::repofile::ConfigFile>,
    ) -> Result<Repository<OpenStatus>> {
        let backends = location.backends()?;
        let repo = Repository::new_with_progress(
            &repository_options(),
            &backends,
            MonitorBars(Arc::clone(monitor)),
        )
        .map_err(rustic("cannot open the repository's storage"))?;
        let credentials = Credentials::password(password);
        let key_options = crate::nodes::key_options();
        match config {
            Some(config) => repo.init_with_config(&credentials, &key_options, config),
            None => repo.init(&credentials, &key_options, &ConfigOptions::default()),
        }
        .map_err(|e| {
            let err = crate::error::from_rustic("cannot create the repository", e);
            if err.kind() == ErrorKind::Io {
                let hint = match location.local_path() {
                    Some(p) => format!(
                        "Check that {} can be created and written by this user.",
                        p.display()
                    ),
                    None => format!(
                        "Check that {location} answers and that its credentials allow writing."
                    ),
                };
                err.with_hint(hint)
            } else {
                err
            }
        })
    }

    /// Opens the repository at `location` with `password` and takes the lock `options` asks for.
    pub fn open(
        location: &RepoLocation,
        password: &str,
        options: OpenOptions,
        monitor: Arc<dyn Monitor>,
    ) -> Result<Self> {
        if location.local_path().is_some_and(|p| !p.exists()) {
            return Err(UmbraError::new(
                ErrorKind::RepositoryMissing,
                format!("there is no repository at {location}: the directory does not exist"),
            ));
        }
        if location.remote_state()? == Some(Probe::Missing) {
            return Err(UmbraError::new(
                ErrorKind::RepositoryNotInitialised,
                format!(
                    "there is no repository at {location}: the server has no config file there"
                ),
            )
            .with_hint(
                "Check the path in the URL, or create a repository there with `umbra init`.",
            ));
        }
        if location.local_path().is_some() && !location.exists() {
            return Err(UmbraError::new(
                ErrorKind::RepositoryNotInitialised,
                format!("{location} is not a repository: it has no config file"),
            ));
        }
        let backends = location.backends()?;
        let mut repo_opts = repository_options();
        if options.bypass_cache {
            repo_opts = RepositoryOptions::default().no_cache(true);
        }
        let inner =
            Repository::new_with_progress(&repo_opts, &backends, MonitorBars(Arc::clone(&monitor)))
                .map_err(rustic("cannot open the repository's storage"))?
                .open(&Credentials::password(password))
                .map_err(rustic("cannot open the repository"))?;
        let lock = match options.lock {
            Some(kind) => Some(LockGuard::acquire(
                location.lock_dir()?,
                &inner.key(),
                kind,
                monitor.as_ref(),
            )?),
            None => None,
        };
        if !options.bypass_cache {
            crate::cache::mark_used(&inner.config().id.to_hex());
        }
        Ok(Self {
            inner,
            location: location.clone(),
            monitor,
            lock,
            filter: crate::snapshots::SnapshotFilter::default(),
        })
    }

    /// Makes `latest` and every list of snapshots consider only the snapshots `filter`
    /// lets through (restic's `--host`, `--tag`, `--path`). Snapshots named by id are
    /// found whatever the filter.
    #[must_use]
    pub fn with_filter(mut self, filter: crate::snapshots::SnapshotFilter) -> Self {
        self.filter = filter;
        self
    }

    #[must_use]
    pub fn location(&self) -> &RepoLocation {
        &self.location
    }

    /// The repository's id, from its config file.
    #[must_use]
    pub fn id(&self) -> String {
        self.inner.config().id.to_hex().to_string()
    }

    /// Removes stale locks, or all locks with `all`; returns a description of each.
    pub fn unlock(&self, all: bool) -> Result<Vec<String>> {
        crate::lock::unlock(
            &self.location.lock_dir()?,
            &self.inner.key(),
            all,
            self.monitor.as_ref(),
        )
    }
}
