//! Repository locks in restic's format, so that umbra and restic respect each other.
//!
//! rustic_core takes no locks, but a backup racing a `prune` loses data, so umbra takes
//! them itself. A lock is a small encrypted JSON file under `locks/`, exactly as restic
//! writes it: `{"time", "exclusive", "hostname", "username", "pid", "uid", "gid"}`.
//!
//! - Commands that only add data (backup) or read (restore, ls, check) take a *shared*
//!   lock; commands that remove data (forget, prune, key remove) take an *exclusive* one.
//!   An exclusive lock conflicts with every other lock.
//! - A lock is stale when it was not refreshed for 30 minutes, or when it names this host
//!   and its process no longer exists. A stale lock of this host is removed by the next
//!   umbra run; another host's stale lock is removed when it is in the way, and by
//!   `umbra unlock`.
//! - A held lock is refreshed every 5 minutes by a background thread, as restic does.
//!
//! rustic_core's backends knew no lock file type: a local repository's locks are written
//! straight into its `locks/` directory (synced and renamed into place); a remote one's go
//! through its backend, with the lock file type vendor patch 15 adds.
//!
//! Durability: a lock is written to a temporary file, synced, and renamed into place, so a
//! crash leaves either no lock or a whole one. A whole lock left by a crash is stale at
//! once on the same host (its pid is gone) and is cleared by the next run or `umbra unlock`.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;
use rustic_core::repofile::MasterKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use umbra_core::{ErrorKind, Event, Monitor, Result, UmbraError};

use crate::crypto::FileCrypto;
use rustic_core::{FileType, WriteBackend};

/// A lock older than this, not refreshed, belongs to a process that is gone.
const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// How often a held lock is rewritten with a fresh time.
const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

/// Shared or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Shared,
    Exclusive,
}

/// The content of a lock file, as restic writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockFile {
    pub time: Timestamp,
    pub exclusive: bool,
    pub hostname: String,
    #[serde(default)]
    pub username: String,
    pub pid: i64,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

impl LockFile {
    fn for_this_process(kind: LockKind) -> Self {
        let (pid, uid, gid) = crate::platform::process_ids();
        Self {
            time: Timestamp::now(),
            exclusive: kind == LockKind::Exclusive,
            hostname: hostname(),
            username: crate::nodes::current_user(),
            pid: i64::from(pid),
            uid,
            gid,
        }
    }

    /// True when the lock's owner is certainly gone.
    #[must_use]
    pub fn is_stale(&self) -> bool {
        let age = Timestamp::now().duration_since(self.time);
        if age.unsigned_abs() > STALE_AFTER {
            return true;
        }
        if self.hostname != hostname() {
            return false;
        }
        let Ok(pid) = u32::try_from(self.pid) else {
            return true;
        };
        !umbra_core::os::process_alive(pid)
    }

    /// "pid 123 on host h (user root), exclusive, since <time>": for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "{} lock of pid {} on host {} (user {}), taken {}",
            if self.exclusive {
                "an exclusive"
            } else {
                "a shared"
            },
            self.pid,
            self.hostname,
            if self.username.is_empty() {
                "?"
            } else {
                &self.username
            },
            self.time.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Where a repository's locks live: the `locks/` directory of a local repository, or the
/// `locks/` of a remote one, through its backend (vendor patch 15 gives rustic_core's
/// backends restic's lock file type).
#[derive(Clone)]
pub(crate) enum LockDir {
    Local(PathBuf),
    Backend(Arc<dyn WriteBackend>),
}

impl std::fmt::Debug for LockDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(p) => write!(f, "LockDir({})", p.display()),
            Self::Backend(b) => write!(f, "LockDir({}/locks)", b.location()),
        }
    }
}

/// A lock file's name: the hex SHA-256 of its stored bytes, as restic names files.
type Id = String;

fn backend_error(what: &str, e: &rustic_core::RusticError) -> UmbraError {
    UmbraError::new(
        ErrorKind::Io,
        format!(
            "{what}: {}",
            e.display_log().lines().next().unwrap_or_default()
        ),
    )
}

impl LockDir {
    pub(crate) fn of_repository(repo: &Path) -> Self {
        Self::Local(repo.join("locks"))
    }

    fn list(&self) -> Result<Vec<Id>> {
        let dir = match self {
            Self::Local(dir) => dir,
            Self::Backend(be) => {
                return be
                    .list(FileType::Lock)
                    .map(|ids| ids.iter().map(|id| id.to_hex().to_string()).collect())
                    .map_err(|e| backend_error("cannot list the repository's locks", &e));
            }
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(UmbraError::io("cannot list the locks in", dir, e)),
        };
        Ok(entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .collect())
    }

    fn read(&self, id: &str) -> Option<Vec<u8>> {
        match self {
            Self::Local(dir) => std::fs::read(dir.join(id)).ok(),
            Self::Backend(be) => be
                .read_full(FileType::Lock, &id.parse::<rustic_core::Id>().ok()?)
                .ok()
                .map(|b| b.to_vec()),
        }
    }

    fn write(&self, data: &[u8]) -> Result<Id> {
        let id = hex::encode(Sha256::digest(data));
        let dir = match self {
            Self::Local(dir) => dir,
            Self::Backend(be) => {
                let rid = id
                    .parse::<rustic_core::Id>()
                    .map_err(|_| UmbraError::new(ErrorKind::Internal, "a lock id is not hex"))?;
                be.write_bytes(FileType::Lock, &rid, false, data.to_vec().into())
                    .map_err(|e| backend_error("cannot write a lock file", &e))?;
                return Ok(id);
            }
        };
        std::fs::create_dir_all(dir).map_err(|e| UmbraError::io("cannot create", dir, e))?;
        let tmp = dir.join(format!(".{id}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, dir.join(&id))
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            let read_only = crate::platform::is_read_only_fs(&e);
            let err = UmbraError::io("cannot write a lock file into", dir, e);
            if read_only {
                err.with_hint(
                    "The repository is on read-only media. Commands that only read (snapshots, \
                     show, ls, diff, restore, check) work without a lock: add --no-lock.",
                )
            } else {
                err
            }
        })?;
        Ok(id)
    }

    fn remove(&self, id: &str) -> Result<()> {
        let dir = match self {
            Self::Local(dir) => dir,
            Self::Backend(be) => {
                let Ok(rid) = id.parse::<rustic_core::Id>() else {
                    return Ok(());
                };
                return match be.remove(FileType::Lock, &rid, false) {
                    Ok(()) => Ok(()),
                    // Gone already: removed by `unlock` elsewhere, or never written.
                    Err(_) if !self.list()?.iter().any(|x| x == id) => Ok(()),
                    Err(e) => Err(backend_error("cannot remove the lock file", &e)),
                };
            }
        };
        match std::fs::remove_file(dir.join(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(UmbraError::io(
                "cannot remove the lock file",
                &dir.join(id),
                e,
            )),
        }
    }
}

/// Reads the lock files of a repository. Unreadable ones (another key, damage) are
/// reported as `None` content, so they still count as "someone holds a lock".
fn read_locks(dir: &LockDir, crypto: &FileCrypto) -> Result<Vec<(Id, Option<LockFile>)>> {
    let mut out = Vec::new();
    for id in dir.list()? {
        // Removed between list and read: the lock is gone.
        let Some(data) = dir.read(&id) else { continue };
        let lock = crypto.decrypt(&data).and_then(|plain| parse_lock(&plain));
        out.push((id, lock));
    }
    Ok(out)
}

fn parse_lock(plain: &[u8]) -> Option<LockFile> {
    // Repository format 2 may store small files zstd-compressed, behind a version byte 2.
    match plain.first() {
        Some(b'{') => serde_json::from_slice(plain).ok(),
        Some(2) => serde_json::from_slice(&zstd::decode_all(&plain[1..]).ok()?).ok(),
        _ => None,
    }
}

/// Writes a lock file, returning its id.
fn write_lock(dir: &LockDir, crypto: &FileCrypto, lock: &LockFile) -> Result<Id> {
    let plain = serde_json::to_vec(lock).map_err(|e| {
        UmbraError::new(ErrorKind::Internal, "cannot serialise a lock file").with_source(e)
    })?;
    dir.write(&crypto.encrypt(&plain))
}

/// A held lock. It is refreshed in the background while held and removed on drop.
pub struct LockGuard {
    state: Arc<(Mutex<GuardState>, Condvar)>,
    refresher: Option<JoinHandle<()>>,
    /// Removes the current lock file if umbra is interrupted by a signal.
    _on_interrupt: umbra_core::interrupt::Registration,
}

struct GuardState {
    current: Id,
    released: bool,
}

impl LockGuard {
    /// Takes a lock of `kind`, after removing stale locks that stand in the way.
    pub(crate) fn acquire(
        dir: LockDir,
        key: &MasterKey,
        kind: LockKind,
        monitor: &dyn Monitor,
    ) -> Result<Self> {
        let crypto = FileCrypto::new(key)?;
        check_conflicts(&dir, &crypto, kind, monitor, None)?;
        let lock = LockFile::for_this_process(kind);
        let id = write_lock(&dir, &crypto, &lock)?;
        // Someone may have locked between our look and our write: look again, and back off
        // if an exclusive lock (or, for us exclusive, any lock) appeared meanwhile.
        if let Err(err) = check_conflicts(&dir, &crypto, kind, monitor, Some(id.clone())) {
            let _ = dir.remove(&id);
            return Err(err);
        }
        let state = Arc::new((
            Mutex::new(GuardState {
                current: id,
                released: false,
            }),
            Condvar::new(),
        ));
        // Without its refresher a lock goes stale after 30 minutes and others may remove
        // it while we still work: no refresher, no lock.
        let refresher = {
            let (state, dir) = (Arc::clone(&state), dir.clone());
            std::thread::Builder::new()
                .name("umbra-lock-refresh".into())
                .spawn(move || refresh_loop(&dir, &crypto, kind, &state))
        };
        let refresher = match refresher {
            Ok(handle) => Some(handle),
            Err(e) => {
                if let Ok(g) = state.0.lock() {
                    let _ = dir.remove(&g.current);
                }
                return Err(UmbraError::new(
                    ErrorKind::Internal,
                    "cannot start the lock refresher",
                )
                .with_source(e));
            }
        };
        let on_interrupt = {
            let state = Arc::clone(&state);
            umbra_core::interrupt::on_interrupt("repository lock", move || {
                // try_lock: the signal may arrive while the refresher holds the mutex.
                if let Ok(g) = state.0.try_lock() {
                    let _ = dir.remove(&g.current);
                }
            })
        };
        Ok(Self {
            state,
            refresher,
            _on_interrupt: on_interrupt,
        })
    }
}

fn refresh_loop(
    dir: &LockDir,
    crypto: &FileCrypto,
    kind: LockKind,
    state: &(Mutex<GuardState>, Condvar),
) {
    let (mutex, cvar) = state;
    let Ok(mut guard) = mutex.lock() else { return };
    loop {
        // Checked before every wait: a release that came before this thread first took
        // the mutex must not be slept through.
        if guard.released {
            let _ = dir.remove(&guard.current);
            return;
        }
        let Ok((g, timeout)) = cvar.wait_timeout(guard, REFRESH_EVERY) else {
            return;
        };
        guard = g;
        if timeout.timed_out() && !guard.released {
            // Write the fresh lock first, then remove the old one: never a moment unlocked.
            if let Ok(new_id) = write_lock(dir, crypto, &LockFile::for_this_process(kind)) {
                let _ = dir.remove(&guard.current);
                guard.current = new_id;
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let (mutex, cvar) = &*self.state;
        if let Ok(mut g) = mutex.lock() {
            g.released = true;
        }
        cvar.notify_all();
        if let Some(handle) = self.refresher.take() {
            let _ = handle.join();
        }
    }
}

/// Fails when another lock conflicts with taking one of `kind`; `ours` is skipped.
/// Stale locks found on the way are removed (see the module docs).
fn check_conflicts(
    dir: &LockDir,
    crypto: &FileCrypto,
    kind: LockKind,
    monitor: &dyn Monitor,
    ours: Option<Id>,
) -> Result<()> {
    for (id, lock) in read_locks(dir, crypto)? {
        if Some(&id) == ours.as_ref() {
            continue;
        }
        let Some(lock) = lock else {
            // A lock we cannot read still counts as held: another key or a damaged file.
            if kind == LockKind::Exclusive {
                return Err(locked(&format!("lock {id} (unreadable with this key)")));
            }
            continue;
        };
        // A lock of this host whose process is gone is certainly stale: clear it even when
        // it is not in the way, so that a crash's lock does not linger. Another host's lock
        // is judged by its age, which depends on clocks: clear it only when it is in the way.
        let ours_and_dead = lock.hostname == hostname() && lock.is_stale();
        let conflicts = lock.exclusive || kind == LockKind::Exclusive;
        if ours_and_dead || (conflicts && lock.is_stale()) {
            remove_stale(dir, id, &lock, monitor);
            continue;
        }
        if !conflicts {
            continue;
        }
        return Err(locked(&lock.describe()));
    }
    Ok(())
}

fn remove_stale(dir: &LockDir, id: Id, lock: &LockFile, monitor: &dyn Monitor) {
    if dir.remove(&id).is_ok() {
        monitor.event(Event::StaleLockRemoved {
            lock_id: id.clone(),
            owner: lock.describe(),
        });
    }
}

fn locked(holder: &str) -> UmbraError {
    UmbraError::new(
        ErrorKind::RepositoryLocked,
        format!("the repository is locked: it holds {holder}"),
    )
}

/// The locks other processes hold now (stale ones left out), each described; an
/// unreadable lock file counts as held.
pub(crate) fn held(dir: &LockDir, key: &MasterKey) -> Result<Vec<String>> {
    let crypto = FileCrypto::new(key)?;
    Ok(read_locks(dir, &crypto)?
        .into_iter()
        .filter(|(_, lock)| lock.as_ref().is_none_or(|l| !l.is_stale()))
        .map(|(_, lock)| lock.map_or_else(|| "an unreadable lock".to_string(), |l| l.describe()))
        .collect())
}

/// Removes stale locks (or, with `all`, every lock) and returns what was removed.
pub(crate) fn unlock(
    dir: &LockDir,
    key: &MasterKey,
    all: bool,
    monitor: &dyn Monitor,
) -> Result<Vec<String>> {
    let crypto = FileCrypto::new(key)?;
    let mut removed = Vec::new();
    for (id, lock) in read_locks(dir, &crypto)? {
        let stale = lock.as_ref().is_none_or(LockFile::is_stale);
        if all || stale {
            dir.remove(&id)?;
            let owner = lock.map_or_else(|| "an unreadable lock".to_string(), |l| l.describe());
            monitor.event(Event::StaleLockRemoved {
                lock_id: id.clone(),
                owner: owner.clone(),
            });
            removed.push(owner);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_of_a_dead_local_process_is_stale() {
        let mut lock = LockFile::for_this_process(LockKind::Shared);
        assert!(!lock.is_stale(), "our own lock is live");
        lock.pid = i64::from(i32::MAX); // no such process
        assert!(lock.is_stale());
    }

    #[test]
    fn an_old_lock_of_another_host_is_stale_and_a_young_one_is_not() {
        let mut lock = LockFile::for_this_process(LockKind::Exclusive);
        lock.hostname = "elsewhere".into();
        assert!(!lock.is_stale());
        lock.time = Timestamp::now() - jiff::SignedDuration::from_secs(31 * 60);
        assert!(lock.is_stale());
    }

    #[test]
    fn restic_lock_json_parses() {
        let json = br#"{"time":"2024-05-01T10:00:00.123456789+02:00","exclusive":false,"hostname":"h","username":"root","pid":42,"uid":0,"gid":0}"#;
        let lock = parse_lock(json).expect("restic's lock format");
        assert_eq!(lock.pid, 42);
        assert!(!lock.exclusive);
    }
}
