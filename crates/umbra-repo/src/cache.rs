//! The local cache's housekeeping, as restic does it: each repository's cache is a
//! directory named by the repository's id below one base directory; opening a repository
//! marks its directory used (its modification time), and the directories of repositories
//! not opened for [`MAX_AGE_DAYS`] are old: named on every open, removed with
//! `--cleanup-cache`.
//!
//! Why: the cache of a repository that moved or was deleted stays forever otherwise, and a
//! cache holds every snapshot, index and tree pack of its repository.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A cache directory not used for this long is old (restic's limit).
pub const MAX_AGE_DAYS: u64 = 30;

/// The directory that holds each repository's cache, or `None` without a cache.
#[must_use]
pub fn base() -> Option<PathBuf> {
    match crate::repo::cache_choice() {
        Some(crate::repo::CacheChoice::Dir(dir)) => return Some(dir.clone()),
        Some(crate::repo::CacheChoice::None) => return None,
        None => {}
    }
    std::env::var_os("UMBRA_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("umbra"))
        })
}

/// Marks the cache of the repository `id` used now. Best effort: a cache that cannot be
/// marked is at worst named old a month later.
pub fn mark_used(id: &str) {
    let Some(dir) = base().map(|b| b.join(id)) else {
        return;
    };
    if let Ok(f) = std::fs::File::open(&dir) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// The caches of other repositories than `current` not used for [`MAX_AGE_DAYS`].
#[must_use]
pub fn old(current: &str) -> Vec<PathBuf> {
    let Some(base) = base() else {
        return Vec::new();
    };
    let limit = Duration::from_secs(MAX_AGE_DAYS * 24 * 3600);
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    let mut old: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .filter(|e| is_repository_id(&e.file_name().to_string_lossy()))
        .filter(|e| e.file_name().to_string_lossy() != current)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > limit)
        })
        .map(|e| e.path())
        .collect();
    old.sort();
    old
}

/// Removes the cache directories `dirs` (from [`old`]); returns those it could not.
pub fn remove(dirs: &[PathBuf]) -> Vec<(PathBuf, std::io::Error)> {
    dirs.iter()
        .filter_map(|d| std::fs::remove_dir_all(d).err().map(|e| (d.clone(), e)))
        .collect()
}

/// A repository id: 64 hex digits (anything else in the base is not ours to touch).
fn is_repository_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}
