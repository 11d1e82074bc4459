//! One opened repository, shared by every request.
//!
//! Opening a repository derives its key (scrypt, about 0.1 s) and browsing needs its
//! index in memory; doing either per request would make the snapshot list crawl. The
//! console opens the repository once, without a lock (it must never block a backup's or
//! a prune's lock for as long as it runs), and keeps the snapshot list and the index
//! until the repository's snapshots change: each request lists `snapshots/` (one
//! directory listing) and reloads only when the set of ids differs. An error drops
//! everything, so that the next request opens the repository again; an unreachable
//! repository is an error page, never a crash.

use std::sync::{Arc, Mutex};

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::view::{RepoView, TreeRef};
use umbra_repo::{Repo, SnapshotInfo};

/// How the console opens the repository (the CLI knows locations and passwords).
pub trait RepoSource: Send + Sync {
    /// Opens the repository without a lock.
    fn open(&self) -> Result<Repo>;
    /// The repository as users may see it (no secrets).
    fn describe(&self) -> String;
}

struct Loaded {
    repo: Repo,
    ids: Vec<String>,
    snapshots: Arc<Vec<SnapshotInfo>>,
    view: Option<Arc<RepoView>>,
}

/// The shared repository state. Every method blocks; call them off the async runtime.
pub struct SharedRepo {
    source: Box<dyn RepoSource>,
    loaded: Mutex<Option<Loaded>>,
}

impl SharedRepo {
    #[must_use]
    pub fn new(source: Box<dyn RepoSource>) -> Self {
        Self {
            source,
            loaded: Mutex::new(None),
        }
    }

    #[must_use]
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    fn with_fresh<T>(&self, f: impl FnOnce(&mut Loaded) -> Result<T>) -> Result<T> {
        let mut guard = self.loaded.lock().map_err(|_| poisoned())?;
        let result = (|| {
            if guard.is_none() {
                let repo = self.source.open()?;
                *guard = Some(Loaded {
                    repo,
                    ids: Vec::new(),
                    snapshots: Arc::new(Vec::new()),
                    view: None,
                });
            }
            let loaded = guard.as_mut().ok_or_else(poisoned)?;
            let ids = loaded.repo.snapshot_file_ids()?;
            if ids != loaded.ids || (loaded.snapshots.is_empty() && !ids.is_empty()) {
                let mut snapshots = loaded.repo.snapshots()?;
                snapshots.sort_by(|a, b| b.time.cmp(&a.time));
                loaded.snapshots = Arc::new(snapshots);
                loaded.ids = ids;
                loaded.view = None;
            }
            f(loaded)
        })();
        if result.is_err() {
            *guard = None;
        }
        result
    }

    /// All snapshots, newest first.
    pub fn snapshots(&self) -> Result<Arc<Vec<SnapshotInfo>>> {
        self.with_fresh(|l| Ok(Arc::clone(&l.snapshots)))
    }

    /// The snapshot `id` names (a full id or a unique prefix).
    pub fn snapshot(&self, id: &str) -> Result<SnapshotInfo> {
        let all = self.snapshots()?;
        let found: Vec<&SnapshotInfo> = all.iter().filter(|s| s.id.starts_with(id)).collect();
        match found.as_slice() {
            [one] if !id.is_empty() => Ok((*one).clone()),
            [] | [_] => Err(UmbraError::new(
                ErrorKind::NotFound,
                format!("there is no snapshot `{id}` in the repository"),
            )
            .with_hint("The snapshots page lists them all.")),
            _ => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{id}` names {} snapshots", found.len()),
            )
            .with_hint("Use more of the id.")),
        }
    }

    /// The repository with its index loaded, for browsing.
    pub fn view(&self) -> Result<Arc<RepoView>> {
        self.with_fresh(|l| {
            if let Some(v) = &l.view {
                return Ok(Arc::clone(v));
            }
            let view = Arc::new(RepoView::open(l.repo.reader())?);
            l.view = Some(Arc::clone(&view));
            Ok(view)
        })
    }

    /// The snapshot `id` names, the view to browse it, and its root directory.
    pub fn tree_of(&self, id: &str) -> Result<(SnapshotInfo, Arc<RepoView>, TreeRef)> {
        let snap = self.snapshot(id)?;
        let view = self.view()?;
        let root = view
            .snapshots()
            .iter()
            .find(|s| s.id == snap.id)
            .map(|s| s.tree)
            .ok_or_else(|| {
                UmbraError::new(
                    ErrorKind::NotFound,
                    "the snapshot is gone (forgotten meanwhile)",
                )
            })?;
        Ok((snap, view, root))
    }

    /// A second handle on the open repository, for one command (`dump`, `diff`).
    pub fn reader(&self) -> Result<Repo> {
        self.with_fresh(|l| Ok(l.repo.reader()))
    }

    /// The locks others hold on the repository now.
    pub fn held_locks(&self) -> Result<Vec<String>> {
        self.with_fresh(|l| l.repo.held_locks())
    }
}

fn poisoned() -> UmbraError {
    UmbraError::new(
        ErrorKind::Internal,
        "the console's repository state was poisoned by a panic",
    )
}
