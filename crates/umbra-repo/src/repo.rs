//! Opening and creating repositories.
//!
//! [`Repo`] is an open repository (the password checked) together with the lock that the
//! command needs. Commands are methods on it, each in its own module. rustic_core's typed
//! repository states (open, indexed) stay inside those methods.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustic_core::{ConfigOptions, Credentials, OpenStatus, Repository, RepositoryOptions};
use umbra_core::{ErrorKind, Monitor, Result, UmbraError};

use crate::error::{from_rustic_at, rustic};
pub use crate::location::RepoLocation;
use crate::lock::{LockGuard, LockKind};
use crate::progress::MonitorBars;
use crate::remote::Probe;

/// An open repository, holding the lock its command needs until it is dropped.
pub struct Repo {
    pub(crate) inner: Repository<OpenStatus>,
    pub(crate) location: RepoLocation,
    pub(crate) monitor: Arc<dyn Monitor>,
    /// Held for the life of the value; released (the lock file removed) on drop.
    pub(crate) lock: Option<LockGuard>,
    /// restic's `--host/--tag/--path`: which snapshots `latest` and the lists consider.
    pub(crate) filter: crate::snapshots::SnapshotFilter,
    /// The key file the password opened (kept here: an open with the master key a
    /// previous open found, see `key_cache`, does not learn it).
    pub(crate) key_id: Option<rustic_core::repofile::KeyId>,
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
        crate::key_cache::forget(&location.to_string());
        Ok(Self {
            key_id: *inner.key_id(),
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
        // A remote store's failure names the repository: a backup may open it more than
        // once, and the server can go away between the opens.
        let name = location.to_string();
        let storage = || {
            Repository::new_with_progress(&repo_opts, &backends, MonitorBars(Arc::clone(&monitor)))
                .map_err(|e| from_rustic_at("cannot open the repository's storage", e, Some(&name)))
        };
        // Opened before in this process with this password: the master key found then
        // (no second key derivation); the password if that key does not open it.
        let reopened = match crate::key_cache::find(&name, password) {
            Some((key, key_id)) => storage()?
                .open(&Credentials::Masterkey(key))
                .ok()
                .map(|inner| (inner, key_id)),
            None => None,
        };
        let (inner, key_id) = match reopened {
            Some(opened) => opened,
            None => {
                let inner = storage()?
                    .open(&Credentials::password(password))
                    .map_err(|e| from_rustic_at("cannot open the repository", e, Some(&name)))?;
                let key_id = *inner.key_id();
                crate::key_cache::remember(&name, password, inner.key(), key_id);
                (inner, key_id)
            }
        };
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
            key_id,
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

    /// A second handle on the same open repository, holding no lock: for a long-lived
    /// reader (the web console) that must neither block `prune` nor derive the key again
    /// for every request. A read that races a `prune` fails with an error; it never
    /// changes the repository.
    #[must_use]
    pub fn reader(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            location: self.location.clone(),
            monitor: Arc::clone(&self.monitor),
            lock: None,
            filter: self.filter.clone(),
            key_id: self.key_id,
        }
    }

    /// The locks held on the repository now, by this process or others (stale ones left
    /// out), each described as "an exclusive lock of pid N on host H ...".
    pub fn held_locks(&self) -> Result<Vec<String>> {
        crate::lock::held(&self.location.lock_dir()?, &self.inner.key())
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
