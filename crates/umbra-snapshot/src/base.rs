//! Kept base snapshots (issue #22): after a successful backup from a btrfs snapshot or a
//! reflink clone tree, that snapshot can be kept as the base of the next backup of the
//! same source into the same repository. The next backup asks the filesystem which
//! extents of a large file are still the base's, and reads only the rest.
//!
//! A kept base is the one snapshot umbra does not release right after the backup, so its
//! life is written down with the same care as the registry's records:
//! - one small JSON file per (scope, repository, source) under `state_dir/bases/`,
//!   written to a temporary name, synced and renamed into place;
//! - keeping a new base first puts the old base's artifacts back into the registry under
//!   the running process, then writes the new base file, then takes the new snapshot's
//!   record out of the registry. A crash at any point leaves every artifact either on
//!   record (the next run's sweep releases it) or in a base file, never in neither;
//! - a base file whose snapshot is gone is ignored and replaced;
//! - `umbra cleanup` releases every base, and a job run releases the bases of jobs that
//!   are no longer in the job file.
//!
//! The scope is a job's name, or `cli` for `umbra backup`: two jobs backing up the same
//! source keep a base each.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use umbra_core::{ErrorKind, Method, Result, UmbraError};

use crate::registry::{state_dir, write_durably, Artifact};

/// One kept base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptBase {
    /// A job's name, or `cli`.
    pub scope: String,
    /// The repository's location, as printed (passwords redacted).
    pub repository: String,
    /// The source as the user named it.
    pub source: PathBuf,
    pub method: Method,
    /// What to release when the base goes (as the provider recorded it).
    pub artifacts: Vec<Artifact>,
    /// Where the base presents the source.
    pub read_from: PathBuf,
    /// The repository snapshot that backup saved.
    pub snapshot_id: String,
    /// Unix seconds.
    pub created: u64,
}

impl KeptBase {
    /// Whether the base can still be read (its snapshot may have been removed by hand, or
    /// by a sweep after a crash).
    #[must_use]
    pub fn present(&self) -> bool {
        self.read_from.exists()
    }

    fn file_name(&self) -> String {
        file_name(&self.scope, &self.repository, &self.source)
    }
}

/// FNV-1a: a stable name for a key (std's hasher may change between Rust versions).
fn file_name(scope: &str, repository: &str, source: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in scope
        .bytes()
        .chain([0])
        .chain(repository.bytes())
        .chain([0])
        .chain(source.as_os_str().as_encoded_bytes().iter().copied())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{scope}-{h:016x}.json")
}

/// The directory of kept bases.
#[derive(Debug, Clone)]
pub struct Bases {
    dir: PathBuf,
}

impl Bases {
    /// At `state_dir/bases`.
    pub fn default_location() -> Result<Self> {
        Ok(Self::at(state_dir()?.join("bases")))
    }

    #[must_use]
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The base kept for this source, if there is one.
    #[must_use]
    pub fn find(&self, scope: &str, repository: &str, source: &Path) -> Option<KeptBase> {
        let data = std::fs::read(self.dir.join(file_name(scope, repository, source))).ok()?;
        serde_json::from_slice::<KeptBase>(&data)
            .ok()
            .filter(|b| b.scope == scope && b.repository == repository && b.source == source)
    }

    /// Every kept base, oldest first (unreadable files are skipped).
    #[must_use]
    pub fn all(&self) -> Vec<KeptBase> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<KeptBase> = entries
            .filter_map(std::result::Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|d| serde_json::from_slice(&d).ok())
            .collect();
        out.sort_by_key(|b| b.created);
        out
    }

    /// Writes `base`, replacing the base of the same key. Durable when this returns.
    pub fn write(&self, base: &KeptBase) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| UmbraError::io("cannot create the state directory", &self.dir, e))?;
        let data = serde_json::to_vec_pretty(base).map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot serialise a kept base").with_source(e)
        })?;
        write_durably(&self.dir, &base.file_name(), &data)
            .map_err(|e| UmbraError::io("cannot write the kept base's record into", &self.dir, e))
    }

    /// Forgets `base` (after its artifacts were released or handed back to the registry),
    /// unless a newer base has taken its key meanwhile.
    pub fn forget(&self, base: &KeptBase) -> Result<()> {
        let path = self.dir.join(base.file_name());
        let current = std::fs::read(&path)
            .ok()
            .and_then(|d| serde_json::from_slice::<KeptBase>(&d).ok());
        if current.as_ref() != Some(base) {
            return Ok(());
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(UmbraError::io(
                "cannot remove the kept base's record",
                &path,
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(scope: &str, source: &str) -> KeptBase {
        KeptBase {
            scope: scope.into(),
            repository: "/srv/repo".into(),
            source: source.into(),
            method: Method::Btrfs,
            artifacts: vec![Artifact::new(
                "btrfs-snapshot",
                "/mnt/.umbra-snapshots/umbra-1",
            )],
            read_from: "/mnt/.umbra-snapshots/umbra-1/data".into(),
            snapshot_id: "ab".repeat(32),
            created: 1,
        }
    }

    #[test]
    fn a_base_is_found_by_its_key_and_replaced_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bases = Bases::at(dir.path().join("bases"));
        let a = base("db", "/mnt/data");
        bases.write(&a).expect("write");
        assert_eq!(
            bases.find("db", "/srv/repo", Path::new("/mnt/data")),
            Some(a.clone())
        );
        assert_eq!(bases.find("cli", "/srv/repo", Path::new("/mnt/data")), None);
        assert_eq!(bases.find("db", "/other", Path::new("/mnt/data")), None);
        let mut b = a.clone();
        b.snapshot_id = "cd".repeat(32);
        bases.write(&b).expect("replace");
        assert_eq!(bases.all(), vec![b.clone()]);
        // Forgetting the old one leaves the new one alone.
        bases.forget(&a).expect("forget");
        assert_eq!(bases.all(), vec![b.clone()]);
        bases.forget(&b).expect("forget");
        assert!(bases.all().is_empty());
    }
}
