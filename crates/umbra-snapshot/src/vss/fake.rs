//! A fake Volume Shadow Copy Service for tests: the requester's state machine as VSS
//! documents it (each call valid only after the ones before it, `VSS_E_BAD_STATE`
//! otherwise), one snapshot set in progress per machine, at most 64 shadow copies per
//! volume, volumes that do not support shadow copies, writers that fail, and the
//! 10-second limit on holding writes. Wine has no VSS, so this is what the provider's
//! logic is tested against, on Linux and under wine alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::api::{hresult as hr, Guid, VssApi, VssError, VssResult, WriterFiles, WriterStatus};

/// VSS's own limit on holding the volumes' writes during `DoSnapshotSet`.
pub const HOLD_LIMIT_MS: u64 = 10_000;
/// `VSS_E_OBJECT_ALREADY_EXISTS`
const VSS_E_OBJECT_ALREADY_EXISTS: u32 = 0x8004_230D;

/// The machine VSS runs on, shared by every requester opened on it.
#[derive(Debug)]
pub struct Machine {
    /// Volumes by root (`C:\`): whether they support shadow copies.
    pub volumes: HashMap<String, bool>,
    /// Shadow copies that exist, per volume.
    pub shadows: HashMap<String, usize>,
    /// Snapshot sets that exist, with their volumes.
    pub sets: HashMap<Guid, Vec<String>>,
    pub max_per_volume: usize,
    /// The requester (by number) whose set is in progress.
    pub in_progress: Option<u64>,
    /// Writers and the states they end in after `DoSnapshotSet`.
    pub writers: Vec<WriterStatus>,
    /// What the writers' metadata says they manage.
    pub writer_files: Vec<WriterFiles>,
    /// How long flushing and holding the writes takes.
    pub hold_writes_ms: u64,
    /// `CreateVssBackupComponents` fails with this (no VSS, as under wine).
    pub unavailable: Option<u32>,
    /// Every call made, in order, as `REQUESTER:Call`.
    pub calls: Vec<String>,
    next: u128,
    requesters: u64,
}

impl Default for Machine {
    fn default() -> Self {
        Self {
            volumes: HashMap::new(),
            shadows: HashMap::new(),
            sets: HashMap::new(),
            max_per_volume: 64,
            in_progress: None,
            writers: Vec::new(),
            writer_files: Vec::new(),
            hold_writes_ms: 30,
            unavailable: None,
            calls: Vec::new(),
            next: 0x1000,
            requesters: 0,
        }
    }
}

impl Machine {
    /// A machine with these NTFS volumes.
    pub fn with_volumes(volumes: &[&str]) -> Arc<Mutex<Self>> {
        let mut m = Self::default();
        for v in volumes {
            m.volumes.insert((*v).to_string(), true);
        }
        Arc::new(Mutex::new(m))
    }

    fn id(&mut self) -> Guid {
        self.next += 1;
        Guid(0x5eed_0000_0000_0000_0000_0000_0000_0000 | self.next)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Created,
    Initialized,
    MetadataGathered,
    SetStarted,
    Prepared,
    SnapshotsDone,
    Completed,
    Aborted,
}

/// One requester (`IVssBackupComponents`) on a [`Machine`].
pub struct FakeVss {
    machine: Arc<Mutex<Machine>>,
    number: u64,
    state: State,
    set: Option<Guid>,
    snapshots: Vec<(Guid, String)>,
}

impl FakeVss {
    /// `CreateVssBackupComponents` on `machine`.
    pub fn open(machine: &Arc<Mutex<Machine>>) -> VssResult<Box<dyn VssApi>> {
        let mut m = machine.lock().expect("machine");
        if let Some(hresult) = m.unavailable {
            return Err(VssError {
                call: "CreateVssBackupComponents",
                hresult,
            });
        }
        m.requesters += 1;
        Ok(Box::new(Self {
            machine: Arc::clone(machine),
            number: m.requesters,
            state: State::Created,
            set: None,
            snapshots: Vec::new(),
        }))
    }

    /// Logs the call and checks that the requester is in `allowed`.
    fn enter(&mut self, call: &'static str, allowed: &[State]) -> VssResult<()> {
        self.machine
            .lock()
            .expect("machine")
            .calls
            .push(format!("{}:{call}", self.number));
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(VssError {
                call,
                hresult: hr::VSS_E_BAD_STATE,
            })
        }
    }

    fn end_progress(&self, m: &mut Machine) {
        if m.in_progress == Some(self.number) {
            m.in_progress = None;
        }
    }
}

impl VssApi for FakeVss {
    fn initialize_for_copy_backup(&mut self) -> VssResult<()> {
        self.enter("InitializeForBackup", &[State::Created])?;
        self.state = State::Initialized;
        Ok(())
    }

    fn gather_writer_metadata(&mut self) -> VssResult<()> {
        self.enter("GatherWriterMetadata", &[State::Initialized])?;
        self.state = State::MetadataGathered;
        Ok(())
    }

    fn writer_files(&mut self) -> VssResult<Vec<WriterFiles>> {
        self.enter(
            "GetWriterMetadata",
            &[State::MetadataGathered, State::SetStarted],
        )?;
        Ok(self.machine.lock().expect("machine").writer_files.clone())
    }

    fn start_snapshot_set(&mut self) -> VssResult<Guid> {
        self.enter("StartSnapshotSet", &[State::MetadataGathered])?;
        let mut m = self.machine.lock().expect("machine");
        if m.in_progress.is_some() {
            return Err(VssError {
                call: "StartSnapshotSet",
                hresult: hr::VSS_E_SNAPSHOT_SET_IN_PROGRESS,
            });
        }
        m.in_progress = Some(self.number);
        let id = m.id();
        self.set = Some(id);
        self.state = State::SetStarted;
        Ok(id)
    }

    fn add_to_snapshot_set(&mut self, volume: &str) -> VssResult<Guid> {
        self.enter("AddToSnapshotSet", &[State::SetStarted])?;
        let mut m = self.machine.lock().expect("machine");
        let fail = |hresult| {
            Err(VssError {
                call: "AddToSnapshotSet",
                hresult,
            })
        };
        if m.volumes.get(volume) != Some(&true) {
            return fail(hr::VSS_E_VOLUME_NOT_SUPPORTED);
        }
        if self.snapshots.iter().any(|(_, v)| v == volume) {
            return fail(VSS_E_OBJECT_ALREADY_EXISTS);
        }
        if m.shadows.get(volume).copied().unwrap_or(0) >= m.max_per_volume {
            return fail(hr::VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED);
        }
        let id = m.id();
        self.snapshots.push((id, volume.to_string()));
        Ok(id)
    }

    fn prepare_for_backup(&mut self) -> VssResult<()> {
        self.enter("PrepareForBackup", &[State::SetStarted])?;
        if self.snapshots.is_empty() {
            return Err(VssError {
                call: "PrepareForBackup",
                hresult: hr::VSS_E_BAD_STATE,
            });
        }
        self.state = State::Prepared;
        Ok(())
    }

    fn do_snapshot_set(&mut self) -> VssResult<()> {
        self.enter("DoSnapshotSet", &[State::Prepared])?;
        let mut m = self.machine.lock().expect("machine");
        self.end_progress(&mut m);
        if m.hold_writes_ms > HOLD_LIMIT_MS {
            self.state = State::Aborted;
            return Err(VssError {
                call: "DoSnapshotSet",
                hresult: hr::VSS_E_HOLD_WRITES_TIMEOUT,
            });
        }
        let volumes: Vec<String> = self.snapshots.iter().map(|(_, v)| v.clone()).collect();
        for v in &volumes {
            *m.shadows.entry(v.clone()).or_insert(0) += 1;
        }
        if let Some(set) = self.set {
            m.sets.insert(set, volumes);
        }
        self.state = State::SnapshotsDone;
        Ok(())
    }

    fn writer_status(&mut self) -> VssResult<Vec<WriterStatus>> {
        self.enter(
            "GatherWriterStatus",
            &[State::SnapshotsDone, State::Completed],
        )?;
        Ok(self.machine.lock().expect("machine").writers.clone())
    }

    fn snapshot_device(&mut self, snapshot: Guid) -> VssResult<String> {
        self.enter("GetSnapshotProperties", &[State::SnapshotsDone])?;
        let n = self
            .snapshots
            .iter()
            .position(|(id, _)| *id == snapshot)
            .ok_or(VssError {
                call: "GetSnapshotProperties",
                hresult: hr::VSS_E_OBJECT_NOT_FOUND,
            })?;
        Ok(format!(
            "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy{}",
            (snapshot.0 & 0xffff) as usize + n
        ))
    }

    fn backup_complete(&mut self) -> VssResult<()> {
        self.enter("BackupComplete", &[State::SnapshotsDone])?;
        self.state = State::Completed;
        Ok(())
    }

    fn abort_backup(&mut self) -> VssResult<()> {
        self.enter(
            "AbortBackup",
            &[
                State::MetadataGathered,
                State::SetStarted,
                State::Prepared,
                State::SnapshotsDone,
                State::Aborted,
            ],
        )?;
        let mut m = self.machine.lock().expect("machine");
        self.end_progress(&mut m);
        self.state = State::Aborted;
        Ok(())
    }

    fn delete_snapshot_set(&mut self, set: Guid) -> VssResult<()> {
        if self.state == State::Created {
            return self.enter("DeleteSnapshots", &[]);
        }
        self.enter("DeleteSnapshots", &[self.state])?;
        let mut m = self.machine.lock().expect("machine");
        let Some(volumes) = m.sets.remove(&set) else {
            return Err(VssError {
                call: "DeleteSnapshots",
                hresult: hr::VSS_E_OBJECT_NOT_FOUND,
            });
        };
        for v in volumes {
            if let Some(n) = m.shadows.get_mut(&v) {
                *n = n.saturating_sub(1);
            }
        }
        Ok(())
    }
}

/// Releasing a requester ends its set in progress, as VSS does.
impl Drop for FakeVss {
    fn drop(&mut self) {
        if let Ok(mut m) = self.machine.lock() {
            self.end_progress(&mut m);
        }
    }
}
