//! The persistent registry of what umbra created: snapshots, mounts, clone trees.
//!
//! Guards release what they own on drop, and on SIGINT/SIGTERM through the interrupt
//! registry. Neither runs after `kill -9` or a power loss. So every artifact is recorded
//! here *before* it is created, and its record is removed only *after* it was released.
//! Whatever a crash leaves is therefore on record, and the next umbra run (or `umbra
//! cleanup`) releases it.
//!
//! Each record is one small JSON file, written to a temporary name, synced and renamed
//! into place: a crash leaves a whole record or none, and concurrent umbra runs never
//! write the same file. A record belongs to a process (pid, its start time and the boot
//! id, so a reused pid or a reboot is not mistaken for the owner); records of live
//! processes are left alone by the sweep.
//!
//! Location: `UMBRA_STATE_DIR`, else `/var/lib/umbra/state` for root, else
//! `$XDG_STATE_HOME/umbra` (`~/.local/state/umbra`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use umbra_core::{ErrorKind, Method, Result, UmbraError};

/// Something umbra created that must be released. `kind` is the creating provider's own
/// word for it (`btrfs-snapshot`, `mount`, `clone-tree`, `lvm-snapshot`, ...), `target` the
/// path or name that identifies it; only that provider interprets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub kind: String,
    pub target: String,
}

impl Artifact {
    pub fn new(kind: &str, target: impl Into<String>) -> Self {
        Self {
            kind: kind.to_string(),
            target: target.into(),
        }
    }

    pub fn path(kind: &str, path: &Path) -> Self {
        Self::new(kind, path.to_string_lossy().into_owned())
    }
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.target)
    }
}

/// The identity of a process, robust against pid reuse and reboots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// Start time in clock ticks since boot (field 22 of /proc/PID/stat); on Windows the
    /// process's creation time (a FILETIME, which also tells boots apart).
    pub start_ticks: u64,
    pub boot_id: String,
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn start_ticks(pid: u32) -> Option<u64> {
    umbra_core::os::process_start(pid)
}

impl Owner {
    #[must_use]
    pub fn this_process() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start_ticks: start_ticks(pid).unwrap_or(0),
            boot_id: boot_id(),
        }
    }

    /// True while the owning process still runs.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.boot_id == boot_id() && start_ticks(self.pid) == Some(self.start_ticks)
    }
}

/// One record: an artifact, the method whose provider releases it, and its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub method: Method,
    pub artifact: Artifact,
    pub owner: Owner,
    /// Unix seconds.
    pub created: u64,
}

/// umbra's state directory: `UMBRA_STATE_DIR`; on Windows `%ProgramData%\umbra\state` (elevated)
/// or `%LOCALAPPDATA%\umbra\state`; else `/var/lib/umbra/state` for root, else
/// `$XDG_STATE_HOME/umbra` (`~/.local/state/umbra`). The artifact registry and the jobs'
/// locks, logs and history live below it.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("UMBRA_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = umbra_core::os::windows_data_dir() {
        return Ok(dir.join("state"));
    }
    let base = if umbra_core::os::is_privileged() {
        PathBuf::from("/var/lib/umbra/state")
    } else if let Some(x) = std::env::var_os("XDG_STATE_HOME") {
        PathBuf::from(x).join("umbra")
    } else if let Some(h) = std::env::var_os("HOME") {
        PathBuf::from(h).join(".local/state/umbra")
    } else {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            "cannot place umbra's state directory: HOME is not set",
        )
        .with_hint("Set HOME, or UMBRA_STATE_DIR."));
    };
    Ok(base)
}

/// Writes `data` to `dir/name` so that a crash leaves the whole file or none: to a
/// temporary `.name.tmp` (which the sweep removes if abandoned), synced, renamed into
/// place, and the directory synced. Durable when this returns.
pub(crate) fn write_durably(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        umbra_core::os::sync_dir(dir)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The registry directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// The registry at its default place for this user (see the module docs).
    pub fn default_location() -> Result<Self> {
        Ok(Self::at(state_dir()?.join("artifacts")))
    }

    #[must_use]
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records `artifact` before it is created. Durable when this returns.
    pub fn record(&self, method: Method, artifact: Artifact) -> Result<Record> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| UmbraError::io("cannot create the state directory", &self.dir, e))?;
        let owner = Owner::this_process();
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut nonce = [0u8; 6];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = std::io::Read::read_exact(&mut f, &mut nonce);
        }
        let id = format!(
            "{created}-{}-{}",
            owner.pid,
            nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let record = Record {
            id,
            method,
            artifact,
            owner,
            created,
        };
        let data = serde_json::to_vec_pretty(&record).map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot serialise a registry record")
                .with_source(e)
        })?;
        write_durably(&self.dir, &format!("{}.json", record.id), &data)
            .map_err(|e| UmbraError::io("cannot write a registry record into", &self.dir, e))?;
        Ok(record)
    }

    /// Forgets a record, after its artifact was released.
    pub fn forget(&self, record: &Record) -> Result<()> {
        let path = self.dir.join(format!("{}.json", record.id));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(UmbraError::io(
                "cannot remove the registry record",
                &path,
                e,
            )),
        }
    }

    /// All records, oldest first. Unreadable files are skipped (and reported by name).
    pub fn records(&self) -> Result<(Vec<Record>, Vec<PathBuf>)> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Vec::new(), Vec::new()))
            }
            Err(e) => {
                return Err(UmbraError::io(
                    "cannot read the state directory",
                    &self.dir,
                    e,
                ))
            }
        };
        let mut records = Vec::new();
        let mut bad = Vec::new();
        for entry in entries.filter_map(std::result::Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match std::fs::read(&path)
                .ok()
                .and_then(|d| serde_json::from_slice::<Record>(&d).ok())
            {
                Some(r) => records.push(r),
                None => bad.push(path),
            }
        }
        records.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok((records, bad))
    }

    /// Removes temporary files of records that were never completed (umbra was killed
    /// between writing and renaming one). Safe: an artifact is only created after its
    /// record is in place. A temporary file counts as abandoned when its owner (the pid
    /// in its name) is gone, or when it is older than a minute.
    pub fn remove_abandoned_temporaries(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.filter_map(std::result::Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
                continue;
            };
            let pid_alive = id
                .split('-')
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(umbra_core::os::process_alive);
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 60);
            if !pid_alive || old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Records whose owner is gone: what a crash left behind.
    pub fn orphans(&self) -> Result<Vec<Record>> {
        Ok(self
            .records()?
            .0
            .into_iter()
            .filter(|r| !r.owner.is_alive())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_and_are_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = Registry::at(dir.path().join("artifacts"));
        let r = reg
            .record(
                Method::Btrfs,
                Artifact::new("btrfs-snapshot", "/mnt/.umbra-snapshots/x"),
            )
            .expect("record");
        let (all, bad) = reg.records().expect("records");
        assert_eq!(all, vec![r.clone()]);
        assert!(bad.is_empty());
        // Ours, and we are alive: not an orphan.
        assert!(reg.orphans().expect("orphans").is_empty());
        reg.forget(&r).expect("forget");
        assert!(reg.records().expect("records").0.is_empty());
    }

    #[test]
    fn abandoned_temporaries_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = Registry::at(dir.path().to_path_buf());
        let dead = dir.path().join(format!(".1-{}-aa.tmp", i32::MAX));
        let live = dir.path().join(format!(".1-{}-bb.tmp", std::process::id()));
        std::fs::write(&dead, "{").expect("write");
        std::fs::write(&live, "{").expect("write");
        reg.remove_abandoned_temporaries();
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_dead_or_reused_pid_is_not_the_owner() {
        let mut o = Owner::this_process();
        assert!(o.is_alive());
        o.start_ticks += 1;
        assert!(!o.is_alive(), "same pid, other start time: a reused pid");
        let mut o = Owner::this_process();
        o.boot_id = "another boot".into();
        assert!(!o.is_alive());
    }

    #[test]
    fn start_ticks_handles_odd_command_names() {
        assert!(start_ticks(std::process::id()).is_some());
    }
}
