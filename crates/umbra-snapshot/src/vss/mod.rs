//! Volume Shadow Copy (Windows): one snapshot set across the distinct volumes of all
//! sources, taken at one instant, read through the shadow copies' device paths and stored
//! under the original paths, and deleted on success, failure and Ctrl-C; a crash is
//! repaired at the next run from the registry's record of the set, as on Linux.
//!
//! Why one set and not one snapshot per source: VSS freezes the writers and holds the
//! volumes' writes once per set, so every volume in it is captured at the same instant,
//! which is what the Linux providers give with their back-to-back snapshots. The planner
//! still asks per source; the provider gathers the volumes in `prepare`, takes the whole
//! set at the first `take`, and hands each source its device path.
//!
//! The calls go through [`api::VssApi`] (real COM in `com.rs`, a fake in tests), so that
//! what each VSS failure means is tested on any machine. The backup type is `VSS_BT_COPY`:
//! writers do not truncate logs or mark files backed up, so another tool's incremental
//! chain is left as it was.
//!
//! Writers: before the set, each writer's metadata says which files it manages (its
//! components' folders and patterns); after the set, each writer's state says whether it
//! brought its application to a consistent point. A source made entirely of files that
//! stable writers manage (a SQL Server data folder, with the SQL writer stable) is recorded
//! `app-consistent`; one that a failed writer manages is lowered to `volume-snapshot` (as a
//! crash would leave it), and the writer is named in a notice and in the record; any other
//! source is `volume-snapshot` (a writer vouches only for its own files).

pub mod api;
#[cfg(windows)]
pub mod com;
#[cfg(windows)]
mod com_metadata;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use umbra_core::{ConsistencyLevel, ErrorKind, Method, Result, UmbraError};

use self::api::{hresult as hr, Guid, OpenVss, VssApi, VssError, WriterFiles, WriterStatus};
use crate::provider::{Prepared, Presented, Provider, Recorder, SourceInfo, Support};
use crate::registry::Artifact;

/// The registry's kind for a snapshot set; its target is the set's id.
pub const SET_KIND: &str = "vss-set";

/// File systems whose volumes VSS can shadow.
const SHADOWABLE: [&str; 2] = ["NTFS", "ReFS"];

/// The VSS provider.
pub struct Vss {
    inner: Arc<Inner>,
}

struct Inner {
    open: Box<OpenVss>,
    batch: Mutex<Batch>,
    /// Requesters of sets still held, by set id: their backup is completed at release.
    live: Mutex<HashMap<Guid, Box<dyn VssApi>>>,
    /// Tries of the whole set when another one is in progress, and the pause between.
    tries: u32,
    pause: Duration,
    /// Whether a requester can be created here at all, asked once (wine, or a machine
    /// whose VSS service is disabled, cannot).
    available: std::sync::OnceLock<std::result::Result<(), String>>,
}

/// The sources prepared for the next set, and the set once taken.
#[derive(Default)]
struct Batch {
    /// Distinct volumes, in the order the sources named them.
    volumes: Vec<String>,
    /// Takes still to come before the batch is done.
    takes_left: usize,
    taken: Option<TakenSet>,
}

struct TakenSet {
    id: Guid,
    /// Shadow copy device path per volume.
    devices: HashMap<String, String>,
    /// What each writer manages, and its state after the set.
    files: Vec<WriterFiles>,
    writers: Vec<WriterStatus>,
    api: Box<dyn VssApi>,
}

impl Vss {
    /// A provider that opens requesters with `open` (the real one: [`Vss::system`]).
    pub fn new(open: Box<OpenVss>) -> Self {
        Self::with_retries(open, 3, Duration::from_secs(10))
    }

    /// As [`Vss::new`], trying `tries` times, `pause` apart, while another set is in
    /// progress (VSS allows one at a time on the machine).
    pub fn with_retries(open: Box<OpenVss>, tries: u32, pause: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                open,
                batch: Mutex::new(Batch::default()),
                live: Mutex::new(HashMap::new()),
                tries: tries.max(1),
                pause,
                available: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The provider over Windows' own VSS.
    #[cfg(windows)]
    #[must_use]
    pub fn system() -> Self {
        Self::new(Box::new(com::ComVss::open))
    }
}

/// The volume root that holds a source (`C:\`), as the mount table names it.
fn volume_of(info: &SourceInfo) -> String {
    info.mount.mount_point.to_string_lossy().into_owned()
}

/// Where the source is read from: the shadow copy's device, then the source's path below
/// its volume root (by text: a Windows path, whatever the machine that runs the tests).
fn read_path(device: &str, info: &SourceInfo) -> PathBuf {
    let full = info.real_path.to_string_lossy();
    let root = info.mount.mount_point.to_string_lossy();
    let rel = full
        .strip_prefix(root.as_ref())
        .unwrap_or("")
        .trim_start_matches('\\');
    PathBuf::from(format!("{}\\{rel}", device.trim_end_matches('\\')))
}

/// What a VSS failure means, for the user.
pub(crate) fn explain(e: VssError, volume: Option<&str>) -> UmbraError {
    let on = volume.map(|v| format!(" ({v})")).unwrap_or_default();
    let code = format!("{} returned 0x{:08X}", e.call, e.hresult);
    match e.hresult {
        hr::E_NOTIMPL | hr::REGDB_E_CLASSNOTREG => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!("Volume Shadow Copy is not available on this system: {code}"),
        )
        .with_hint(
            "Start the \"Volume Shadow Copy\" service, or back up without shadow copies: \
             --open-files off. Nothing was read or written.",
        ),
        hr::E_ACCESSDENIED => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!("Volume Shadow Copy refused access: {code}"),
        )
        .with_hint("Run umbra from an elevated (administrator) prompt, or use --open-files off."),
        hr::VSS_E_SNAPSHOT_SET_IN_PROGRESS => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!(
                "another shadow copy is being made on this machine (by other backup software or \
                 System Restore): {code}"
            ),
        )
        .with_hint("Run the backup again when the other one has finished."),
        hr::VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!("the volume{on} already holds as many shadow copies as it can: {code}"),
        )
        .with_hint(
            "List them with `vssadmin list shadows`, and delete the oldest with \
             `vssadmin delete shadows /for=C: /oldest` (your volume in place of C:).",
        ),
        hr::VSS_E_VOLUME_NOT_SUPPORTED => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!("the volume{on} does not support shadow copies: {code}"),
        )
        .with_hint(
            "Back it up without shadow copies: --open-files off (change detection still applies).",
        ),
        hr::VSS_E_FLUSH_WRITES_TIMEOUT | hr::VSS_E_HOLD_WRITES_TIMEOUT => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!(
                "Windows could not hold the volumes' writes within Volume Shadow Copy's \
                 10-second limit: {code}"
            ),
        )
        .with_hint(
            "The disks were too busy. Run the backup at a quieter time, or put the sources' \
             volumes in separate jobs so that each set holds fewer volumes.",
        ),
        hr::VSS_E_BAD_STATE => UmbraError::new(
            ErrorKind::Internal,
            format!("Volume Shadow Copy was called out of order: {code}"),
        ),
        _ => UmbraError::new(
            ErrorKind::SourceUnreadable,
            format!("Volume Shadow Copy failed: {code}"),
        ),
    }
}

impl Inner {
    /// Takes the set of every prepared volume: the steps VSS documents, in order, with the
    /// set recorded before it exists. Retries while another set is in progress.
    fn take_set(&self, volumes: &[String], recorder: &mut Recorder<'_>) -> Result<TakenSet> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_take_set(volumes, recorder) {
                Err(Failure::Record(e)) => return Err(e),
                Err(Failure::Vss(e, _))
                    if e.hresult == hr::VSS_E_SNAPSHOT_SET_IN_PROGRESS && attempt < self.tries =>
                {
                    std::thread::sleep(self.pause);
                }
                Err(Failure::Vss(e, volume)) => return Err(explain(e, volume.as_deref())),
                Ok(set) => return Ok(set),
            }
        }
    }

    fn try_take_set(
        &self,
        volumes: &[String],
        recorder: &mut Recorder<'_>,
    ) -> std::result::Result<TakenSet, Failure> {
        let mut api = (self.open)()?;
        api.initialize_for_copy_backup()?;
        api.gather_writer_metadata()?;
        // Without it no source is raised; the set is no worse for it.
        let files = api.writer_files().unwrap_or_default();
        let id = api.start_snapshot_set()?;
        // On record before it can exist: a crash from here on is repaired by the sweep.
        if let Err(e) = recorder.record(Artifact::new(SET_KIND, id.to_string())) {
            let _ = api.abort_backup();
            return Err(Failure::Record(e));
        }
        let result = (|| {
            let mut snapshots = Vec::with_capacity(volumes.len());
            for v in volumes {
                // A volume VSS refuses is named in the error.
                let snap = api
                    .add_to_snapshot_set(v)
                    .map_err(|e| Failure::Vss(e, Some(v.clone())))?;
                snapshots.push((v.clone(), snap));
            }
            api.prepare_for_backup()?;
            api.do_snapshot_set()?;
            let mut devices = HashMap::new();
            for (v, snap) in snapshots {
                devices.insert(v, api.snapshot_device(snap)?);
            }
            Ok(devices)
        })();
        match result {
            Ok(devices) => Ok(TakenSet {
                id,
                devices,
                files,
                writers: Vec::new(),
                api,
            }),
            Err(e) => {
                let _ = api.abort_backup();
                // Whatever DoSnapshotSet made is deleted now; the record goes with the
                // set's release (and the sweep, if umbra dies first).
                let _ = api.delete_snapshot_set(id);
                Err(e)
            }
        }
    }
}

/// Why taking a set failed: a VSS call (and the volume it was about, when it was about
/// one), or the registry.
enum Failure {
    Vss(VssError, Option<String>),
    Record(UmbraError),
}

impl From<VssError> for Failure {
    fn from(e: VssError) -> Self {
        Self::Vss(e, None)
    }
}

/// `%SystemRoot%\x` with the variable's value; unknown variables stay as written.
fn expand(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        out.push_str(&rest[..start]);
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => out.push_str(&v),
            _ => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// A path for comparison: backslashes, no trailing one, lower case (Windows paths are
/// case-insensitive).
fn comparable(path: &str) -> String {
    path.replace('/', "\\")
        .trim_end_matches('\\')
        .to_lowercase()
}

/// Whether every file below `source` belongs to one of the writer's file sets: a set of
/// all files (`*`) in the source's folder or, recursively, in one above it.
fn manages(files: &WriterFiles, source: &str) -> bool {
    let source = comparable(source);
    files.files.iter().any(|f| {
        let all = f.filespec == "*" || f.filespec == "*.*";
        let dir = comparable(&expand(&f.path));
        let inside = source == dir || (f.recursive && source.starts_with(&format!("{dir}\\")));
        all && !dir.is_empty() && inside
    })
}

/// The level of a source in the set: `app-consistent` when writers manage all of it and
/// every one of them is stable; `volume-snapshot` otherwise (a failed writer, or files no
/// writer vouches for).
fn level_of(source: &str, files: &[WriterFiles], writers: &[WriterStatus]) -> ConsistencyLevel {
    let managing: Vec<&WriterFiles> = files.iter().filter(|f| manages(f, source)).collect();
    let all_stable = !managing.is_empty()
        && managing.iter().all(|f| {
            writers
                .iter()
                .find(|w| w.instance == f.instance)
                .is_some_and(|w| !w.failed() && w.state == api::WRITER_STABLE)
        });
    if all_stable {
        ConsistencyLevel::AppConsistent
    } else {
        ConsistencyLevel::VolumeSnapshot
    }
}

/// A writer as the snapshot's record keeps it: kind `vss-writer`, its state, the folders
/// it manages, and for a failed one `failed` (which the run reports as a warning).
fn writer_record(w: &WriterStatus, files: &[WriterFiles]) -> umbra_core::QuiesceRecord {
    let mut details = std::collections::BTreeMap::new();
    details.insert("state".to_string(), w.state_name().to_string());
    if w.failed() {
        details.insert(
            "failed".to_string(),
            format!("{} (0x{:08X})", w.state_name(), w.failure),
        );
    }
    let covers = files
        .iter()
        .filter(|f| f.instance == w.instance)
        .flat_map(|f| f.files.iter().map(|c| PathBuf::from(expand(&c.path))))
        .collect();
    umbra_core::QuiesceRecord {
        name: w.name.clone(),
        kind: "vss-writer".into(),
        freeze_us: 0,
        covers,
        details,
    }
}

/// The writers that failed, as warnings naming each.
fn writer_warnings(writers: &[WriterStatus]) -> Vec<String> {
    writers
        .iter()
        .filter(|w| w.failed())
        .map(|w| {
            format!(
                "VSS writer \"{}\" {} (0x{:08X}): its application's files are in the shadow copy \
                 as a crash left them, not application-consistent",
                w.name,
                w.state_name(),
                w.failure
            )
        })
        .collect()
}

struct PreparedVss {
    inner: Arc<Inner>,
    info: SourceInfo,
}

impl Prepared for PreparedVss {
    fn take(self: Box<Self>, recorder: &mut Recorder<'_>) -> Result<Presented> {
        let inner = &self.inner;
        let mut batch = inner
            .batch
            .lock()
            .map_err(|_| UmbraError::new(ErrorKind::Internal, "the VSS batch lock is poisoned"))?;
        batch.takes_left = batch.takes_left.saturating_sub(1);
        if batch.taken.is_none() {
            let volumes = batch.volumes.clone();
            match inner.take_set(&volumes, recorder) {
                Ok(mut set) => {
                    match set.api.writer_status() {
                        Ok(writers) => {
                            for w in writer_warnings(&writers) {
                                recorder.warn(w);
                            }
                            for w in &writers {
                                recorder.application(writer_record(w, &set.files));
                            }
                            set.writers = writers;
                        }
                        Err(e) => recorder.warn(format!(
                            "the VSS writers' states cannot be read ({} returned 0x{:08X}): \
                             whether applications were consistent is unknown",
                            e.call, e.hresult
                        )),
                    }
                    batch.taken = Some(set);
                }
                Err(e) => {
                    *batch = Batch::default();
                    return Err(e);
                }
            }
        }
        let volume = volume_of(&self.info);
        let device = batch
            .taken
            .as_ref()
            .and_then(|t| t.devices.get(&volume).cloned());
        let level = batch
            .taken
            .as_ref()
            .map_or(ConsistencyLevel::VolumeSnapshot, |t| {
                level_of(&self.info.path.to_string_lossy(), &t.files, &t.writers)
            });
        if batch.takes_left == 0 {
            if let Some(set) = batch.taken.take() {
                if let Ok(mut live) = inner.live.lock() {
                    live.insert(set.id, set.api);
                }
            }
            *batch = Batch::default();
        }
        let device = device.ok_or_else(|| {
            UmbraError::new(
                ErrorKind::Internal,
                format!("the VSS snapshot set has no shadow copy of {volume}"),
            )
        })?;
        Ok(Presented {
            read_from: read_path(&device, &self.info),
            level,
            identity_from: None,
            clone_on_read: None,
        })
    }
}

impl Provider for Vss {
    fn method(&self) -> Method {
        Method::Vss
    }

    fn supports(&self, source: &SourceInfo) -> Support {
        let fs = source.mount.fs_type.as_str();
        if source.real_path.to_string_lossy().starts_with("\\\\")
            && !source.real_path.to_string_lossy().starts_with("\\\\?\\")
        {
            return Support::No("a network share has no shadow copies on this machine".into());
        }
        if !SHADOWABLE.iter().any(|s| s.eq_ignore_ascii_case(fs)) {
            return Support::No(format!(
                "{fs} volumes have no shadow copies (NTFS and ReFS do)"
            ));
        }
        if !source.root {
            return Support::No("shadow copies need an elevated (administrator) umbra".into());
        }
        let available = self
            .inner
            .available
            .get_or_init(|| match (self.inner.open)() {
                Ok(_) => Ok(()),
                Err(e) => Err(format!(
                    "Volume Shadow Copy is not available here ({} returned 0x{:08X})",
                    e.call, e.hresult
                )),
            });
        match available {
            Ok(()) => Support::Yes,
            Err(why) => Support::No(why.clone()),
        }
    }

    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>> {
        let mut batch =
            self.inner.batch.lock().map_err(|_| {
                UmbraError::new(ErrorKind::Internal, "the VSS batch lock is poisoned")
            })?;
        let volume = volume_of(source);
        if !batch.volumes.contains(&volume) {
            batch.volumes.push(volume);
        }
        batch.takes_left += 1;
        Ok(Box::new(PreparedVss {
            inner: Arc::clone(&self.inner),
            info: source.clone(),
        }))
    }

    /// Completes the backup (for a set this process holds) and deletes the set.
    /// Idempotent: a set that is gone is released.
    fn release(&self, artifact: &Artifact) -> Result<()> {
        if artifact.kind != SET_KIND {
            return Err(UmbraError::new(
                ErrorKind::Internal,
                format!("the VSS provider does not release {artifact}"),
            ));
        }
        let id: Guid = artifact.target.parse().map_err(|()| {
            UmbraError::new(
                ErrorKind::Internal,
                format!("{} is not a snapshot set id", artifact.target),
            )
        })?;
        let held = self.inner.live.lock().ok().and_then(|mut l| l.remove(&id));
        let mut api = match held {
            Some(mut api) => {
                let _ = api.backup_complete();
                api
            }
            None => {
                // After a crash: a new requester may delete the set by its id.
                let mut api = (self.inner.open)().map_err(|e| explain(e, None))?;
                api.initialize_for_copy_backup()
                    .map_err(|e| explain(e, None))?;
                api
            }
        };
        match api.delete_snapshot_set(id) {
            Ok(()) => Ok(()),
            Err(e) if e.hresult == hr::VSS_E_OBJECT_NOT_FOUND => Ok(()),
            Err(e) => Err(explain(e, None)),
        }
    }

    /// A set's presence is VSS's to say; after a successful delete it is gone.
    fn still_present(&self, _artifact: &Artifact) -> bool {
        false
    }
}
