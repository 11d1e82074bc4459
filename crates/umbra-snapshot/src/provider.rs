//! The one small trait every snapshot method implements.
//!
//! A provider answers four questions, in order:
//! 1. `supports`: can it snapshot this source here (filesystem, rights), and if not, why?
//! 2. `prepare`: the slow work that must not happen inside the snapshot set (finding
//!    nested subvolumes, probing). Returns a [`Prepared`] snapshot, ready to take.
//! 3. [`Prepared::take`]: take the snapshot, fast, and say where its data can be read.
//!    Every artifact is recorded in the registry *before* it is created.
//! 4. `verify`: after the data was read, is what was read still trustworthy? (An LVM
//!    snapshot whose copy-on-write area overflowed is not.) Fails the backup before the
//!    snapshot is committed to the repository.
//! 5. `release`: release one artifact it created, by its record. Idempotent (releasing
//!    what is gone succeeds) and refuses anything that does not carry umbra's name.
//!
//! Each provider lives in its own file; adding one touches the planner's list, not the
//! other providers.

use std::path::{Path, PathBuf};

use umbra_core::{ConsistencyLevel, Method, Result};

use crate::mounts::Mount;
use crate::registry::{Artifact, Record, Registry};

/// What a provider needs to know about a source.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// The absolute path as the user named it.
    pub path: PathBuf,
    /// The same path with symlinks resolved: what is really snapshotted.
    pub real_path: PathBuf,
    /// The mount that holds `real_path`.
    pub mount: Mount,
    /// Whether umbra runs as root.
    pub root: bool,
    /// Whether the whole source must be captured inside the snapshot set's window:
    /// applications are quiesced around it, or `after_snapshot` commands restart them
    /// right after it. A method that can capture file by file (reflink clones, as each
    /// file is read) does so only when this is false.
    pub capture_at_once: bool,
}

/// Whether a provider can snapshot a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Yes,
    /// No, and why, in words for the user.
    No(String),
}

/// Where a taken snapshot presents the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// Read the source's data from here.
    pub read_from: PathBuf,
    /// The level this snapshot gives (before any quiescing).
    pub level: ConsistencyLevel,
    /// For snapshots that give files new identities (reflink clones): the live tree whose
    /// inode and ctime the files should keep, so the next backup still finds its parent.
    pub identity_from: Option<PathBuf>,
    /// For clones made file by file as the source is read: where they go (see
    /// [`umbra_core::PlannedSource::clone_on_read`]).
    pub clone_on_read: Option<PathBuf>,
}

/// Records artifacts for one provider while a snapshot is taken, so that the snapshot set
/// can release them in reverse order, and a crash leaves them on record.
pub struct Recorder<'a> {
    registry: &'a Registry,
    method: Method,
    pub(crate) records: Vec<Record>,
    /// What the snapshot set should tell the user (a VSS writer that failed).
    pub(crate) warnings: Vec<String>,
    /// Applications the method brought to a consistent point (VSS writers).
    pub(crate) applications: Vec<umbra_core::QuiesceRecord>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(registry: &'a Registry, method: Method) -> Self {
        Self {
            registry,
            method,
            records: Vec::new(),
            warnings: Vec::new(),
            applications: Vec::new(),
        }
    }

    /// Passes on a warning about the snapshot being taken.
    pub fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// Records an application the method itself held still (a VSS writer), for the
    /// snapshot's consistency record.
    pub fn application(&mut self, record: umbra_core::QuiesceRecord) {
        self.applications.push(record);
    }

    /// Records `artifact`; call this *before* creating it.
    pub fn record(&mut self, artifact: Artifact) -> Result<()> {
        let record = self.registry.record(self.method, artifact)?;
        self.records.push(record);
        Ok(())
    }
}

/// A snapshot that is ready to be taken.
pub trait Prepared: Send {
    /// Takes the snapshot. On error, whatever was recorded is released by the caller.
    fn take(self: Box<Self>, recorder: &mut Recorder<'_>) -> Result<Presented>;
}

/// A snapshot method.
pub trait Provider: Send + Sync {
    fn method(&self) -> Method;
    fn supports(&self, source: &SourceInfo) -> Support;
    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>>;
    fn release(&self, artifact: &Artifact) -> Result<()>;
    /// Checks, after reading, that an artifact still holds what it held when taken.
    fn verify(&self, _artifact: &Artifact) -> Result<()> {
        Ok(())
    }
    /// Whether the artifact still exists. Asked after every release, so that umbra never
    /// reports as removed what is still there. The default knows paths and mounts;
    /// providers whose artifacts are not paths (volumes, datasets) answer for those.
    fn still_present(&self, artifact: &Artifact) -> bool {
        path_present(artifact)
    }
}

/// Whether a path artifact is still there: a mount while its path is a mount point (its
/// directory may outlive it, inside a snapshot), anything else while its path exists. A
/// mount table that cannot be read counts as present: never report what we cannot see.
pub(crate) fn path_present(artifact: &Artifact) -> bool {
    let path = Path::new(&artifact.target);
    if artifact.kind == "mount" {
        return crate::mounts::MountTable::read().map_or(true, |t| t.is_mount_point(path));
    }
    path.is_absolute() && std::fs::symlink_metadata(path).is_ok()
}

/// How often, and how far apart, a release is tried before it counts as failed. Right
/// after a `kill -9` the kernel may still hold the dead process's open files and mounts
/// for a moment: a release that fails then succeeds a little later.
const RELEASE_TRIES: u32 = 10;
const RELEASE_PAUSE: std::time::Duration = std::time::Duration::from_millis(300);

/// Releases `artifact` and checks that it is gone, trying again for a few seconds.
/// `Ok` only when the artifact is really gone.
pub fn release_verified(provider: &dyn Provider, artifact: &Artifact) -> Result<()> {
    use umbra_core::{ErrorKind, UmbraError};
    let mut last = None;
    for attempt in 0..RELEASE_TRIES {
        if attempt > 0 {
            std::thread::sleep(RELEASE_PAUSE);
        }
        match provider.release(artifact) {
            Ok(()) if !provider.still_present(artifact) => return Ok(()),
            Ok(()) => {
                last = Some(UmbraError::new(
                    ErrorKind::Io,
                    format!("{artifact} is still present after its release"),
                ));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| UmbraError::new(ErrorKind::Io, "release failed")))
}

/// True when the last component of `path` starts with `prefix`: the check that keeps
/// release from ever touching something umbra did not name.
#[must_use]
pub fn named_by_umbra(path: &Path, prefix: &str) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(prefix))
}

/// Runs a command, returning its stdout; the error names the command and its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    use umbra_core::{ErrorKind, UmbraError};
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            UmbraError::new(ErrorKind::Io, format!("cannot run `{program}`: {e}"))
                .with_hint(format!("Install `{program}` (it is needed for this snapshot method), or choose another method with --snapshot."))
                .with_source(e)
        })?;
    if !out.status.success() {
        return Err(UmbraError::new(
            ErrorKind::Io,
            format!(
                "`{program} {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A short unique name for this run's artifacts: time and pid.
#[must_use]
pub fn run_tag() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{secs}-{}", std::process::id())
}
