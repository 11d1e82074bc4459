//! What the VSS provider needs of the Volume Shadow Copy Service: the requester's calls
//! of `IVssBackupComponents`, one method each, in the order VSS documents.
//!
//! The provider's logic (which volumes, one set, retries, release, what each failure
//! means) is written against this trait, so that it is tested on any machine against a
//! fake that keeps VSS's documented state machine (`fake.rs`), while the real COM calls
//! (`com.rs`) stay a thin layer that only Windows can run.

use std::fmt;

/// A GUID (`VSS_ID`), as VSS names snapshot sets and snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub u128);

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

impl std::str::FromStr for Guid {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let hex: String = s
            .trim_matches(|c| c == '{' || c == '}')
            .chars()
            .filter(|c| *c != '-')
            .collect();
        if hex.len() != 32 {
            return Err(());
        }
        u128::from_str_radix(&hex, 16).map(Guid).map_err(|_| ())
    }
}

/// A failed call: which one, and the `HRESULT` VSS gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VssError {
    pub call: &'static str,
    pub hresult: u32,
}

pub type VssResult<T> = std::result::Result<T, VssError>;

/// `HRESULT`s the provider tells apart (vss.h, winerror.h).
pub mod hresult {
    pub const E_NOTIMPL: u32 = 0x8000_4001;
    pub const E_ACCESSDENIED: u32 = 0x8007_0005;
    pub const REGDB_E_CLASSNOTREG: u32 = 0x8004_0154;
    pub const VSS_E_BAD_STATE: u32 = 0x8004_2301;
    pub const VSS_E_OBJECT_NOT_FOUND: u32 = 0x8004_2308;
    pub const VSS_E_VOLUME_NOT_SUPPORTED: u32 = 0x8004_230C;
    pub const VSS_E_FLUSH_WRITES_TIMEOUT: u32 = 0x8004_2313;
    pub const VSS_E_HOLD_WRITES_TIMEOUT: u32 = 0x8004_2314;
    pub const VSS_E_SNAPSHOT_SET_IN_PROGRESS: u32 = 0x8004_2316;
    pub const VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED: u32 = 0x8004_2317;
    pub const VSS_E_WRITERERROR_TIMEOUT: u32 = 0x8004_23F2;
}

/// `VSS_WRITER_STATE` values past which a writer has failed.
pub const WRITER_STABLE: u32 = 1;
const WRITER_FAILED_FIRST: u32 = 6;
const WRITER_FAILED_LAST: u32 = 15;

/// One writer's state after the snapshot set was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterStatus {
    /// The writer instance, as its metadata names it too.
    pub instance: Guid,
    pub name: String,
    /// `VSS_WRITER_STATE`.
    pub state: u32,
    /// The writer's failure `HRESULT` (0 when none).
    pub failure: u32,
}

impl WriterStatus {
    /// Whether the writer failed to bring its application to a consistent point.
    #[must_use]
    pub fn failed(&self) -> bool {
        (WRITER_FAILED_FIRST..=WRITER_FAILED_LAST).contains(&self.state) || self.failure != 0
    }

    /// The state in words (`VSS_WS_FAILED_AT_FREEZE` -> "failed at freeze").
    #[must_use]
    pub fn state_name(&self) -> &'static str {
        match self.state {
            1 => "stable",
            2 => "waiting for freeze",
            3 => "waiting for thaw",
            4 => "waiting for post-snapshot",
            5 => "waiting for backup complete",
            6 => "failed at identify",
            7 => "failed at prepare backup",
            8 => "failed at prepare snapshot",
            9 => "failed at freeze",
            10 => "failed at thaw",
            11 => "failed at post-snapshot",
            12 => "failed at backup complete",
            13 => "failed at pre-restore",
            14 => "failed at post-restore",
            15 => "failed at backup shutdown",
            _ => "unknown",
        }
    }
}

/// A file set of a writer's component: a folder, a file pattern in it, and whether the
/// folders below count too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFiles {
    pub path: String,
    pub filespec: String,
    pub recursive: bool,
}

/// What a writer says it manages (`GetWriterMetadata`, every component's files, databases
/// and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterFiles {
    pub instance: Guid,
    pub name: String,
    pub files: Vec<ComponentFiles>,
}

/// The requester's side of VSS, as umbra uses it: a copy backup (`VSS_BT_COPY`, so that
/// other backup software's incremental chains are not disturbed) of whole volumes, in
/// non-component mode (every writer freezes and thaws; none is selected).
pub trait VssApi: Send {
    /// `InitializeForBackup`, `SetContext(VSS_CTX_BACKUP)` and
    /// `SetBackupState(false, false, VSS_BT_COPY, false)`.
    fn initialize_for_copy_backup(&mut self) -> VssResult<()>;
    /// `GatherWriterMetadata`, waited for.
    fn gather_writer_metadata(&mut self) -> VssResult<()>;
    /// After [`VssApi::gather_writer_metadata`]: the files each writer manages.
    fn writer_files(&mut self) -> VssResult<Vec<WriterFiles>>;
    /// `StartSnapshotSet`: the new set's id.
    fn start_snapshot_set(&mut self) -> VssResult<Guid>;
    /// `AddToSnapshotSet` for a volume (`C:\`): the snapshot's id.
    fn add_to_snapshot_set(&mut self, volume: &str) -> VssResult<Guid>;
    /// `PrepareForBackup`, waited for.
    fn prepare_for_backup(&mut self) -> VssResult<()>;
    /// `DoSnapshotSet`, waited for: the writers freeze, the volumes are flushed and held
    /// (at most 10 seconds, VSS's own limit), the shadow copies are made, all thaw.
    fn do_snapshot_set(&mut self) -> VssResult<()>;
    /// `GatherWriterStatus`, waited for, then `GetWriterStatus` for each writer.
    fn writer_status(&mut self) -> VssResult<Vec<WriterStatus>>;
    /// `GetSnapshotProperties`: the shadow copy's device path
    /// (`\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN`).
    fn snapshot_device(&mut self, snapshot: Guid) -> VssResult<String>;
    /// `BackupComplete`, waited for: tells the writers the backup is over.
    fn backup_complete(&mut self) -> VssResult<()>;
    /// `AbortBackup`: after a failure between `StartSnapshotSet` and the end.
    fn abort_backup(&mut self) -> VssResult<()>;
    /// `DeleteSnapshots(set, VSS_OBJECT_SNAPSHOT_SET, force)`.
    fn delete_snapshot_set(&mut self, set: Guid) -> VssResult<()>;
}

/// Opens a fresh requester (`CreateVssBackupComponents`), not yet initialized.
pub type OpenVss = dyn Fn() -> VssResult<Box<dyn VssApi>> + Send + Sync;
