//! The real Volume Shadow Copy Service, through `IVssBackupComponents`.
//!
//! The `windows` crate does not have this interface: it is a C++ class in vsbackup.h.
//! Its vtable is called here by slot, in vsbackup.h's order (mingw-w64's C declaration
//! lists every slot), and the requester is created with `CreateVssBackupComponentsInternal`
//! from mingw's `libvssapi.a`. Nothing else of COM is needed: a requester is used from
//! whichever thread takes or releases the set, each of which joins the multithreaded
//! apartment first.
//!
//! Wine has no VSS (`CreateVssBackupComponentsInternal` returns `E_NOTIMPL`): there the
//! calls run up to that point, and the provider reports VSS as unavailable.

use std::ffi::c_void;

use super::api::{Guid, VssApi, VssError, VssResult, WriterFiles, WriterStatus};

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct RawGuid {
    data1: u32,
    data2: u16,
    data3: u16,
    data4: [u8; 8],
}

impl From<RawGuid> for Guid {
    fn from(g: RawGuid) -> Self {
        Guid(
            (u128::from(g.data1) << 96)
                | (u128::from(g.data2) << 80)
                | (u128::from(g.data3) << 64)
                | u128::from(u64::from_be_bytes(g.data4)),
        )
    }
}

impl From<Guid> for RawGuid {
    fn from(g: Guid) -> Self {
        let v = g.0;
        Self {
            data1: (v >> 96) as u32,
            data2: (v >> 80) as u16,
            data3: (v >> 64) as u16,
            data4: (v as u64).to_be_bytes(),
        }
    }
}

/// `VSS_SNAPSHOT_PROP` (vss.h).
#[repr(C)]
struct SnapshotProp {
    snapshot_id: RawGuid,
    snapshot_set_id: RawGuid,
    snapshots_count: i32,
    snapshot_device_object: *mut u16,
    original_volume_name: *mut u16,
    originating_machine: *mut u16,
    service_machine: *mut u16,
    exposed_name: *mut u16,
    exposed_path: *mut u16,
    provider_id: RawGuid,
    snapshot_attributes: i32,
    creation_timestamp: i64,
    status: i32,
}

#[link(name = "ole32")]
extern "system" {
    fn CoInitializeEx(reserved: *mut c_void, coinit: u32) -> i32;
    #[allow(clippy::too_many_arguments)]
    fn CoInitializeSecurity(
        desc: *mut c_void,
        auth_svc_count: i32,
        auth_svc: *mut c_void,
        reserved1: *mut c_void,
        authn_level: u32,
        imp_level: u32,
        auth_list: *mut c_void,
        capabilities: u32,
        reserved3: *mut c_void,
    ) -> i32;
}

#[link(name = "oleaut32")]
extern "system" {
    pub(super) fn SysFreeString(s: *mut u16);
}

#[link(name = "vssapi")]
extern "system" {
    fn CreateVssBackupComponentsInternal(out: *mut *mut c_void) -> i32;
    fn VssFreeSnapshotPropertiesInternal(prop: *mut SnapshotProp);
}

const COINIT_MULTITHREADED: u32 = 0;
const RPC_C_AUTHN_LEVEL_PKT_PRIVACY: u32 = 6;
const RPC_C_IMP_LEVEL_IDENTIFY: u32 = 2;
const EOAC_DYNAMIC_CLOAKING: u32 = 0x40;
const VSS_CTX_BACKUP: i32 = 0;
const VSS_BT_COPY: i32 = 5;
const VSS_OBJECT_SNAPSHOT_SET: i32 = 2;
const VSS_S_ASYNC_FINISHED: i32 = 0x0004_230A;
const INFINITE: u32 = u32::MAX;

// Slots of IVssBackupComponents (vsbackup.h) and IVssAsync (vss.h).
pub(super) const RELEASE: usize = 2;
const INITIALIZE_FOR_BACKUP: usize = 5;
const SET_BACKUP_STATE: usize = 6;
const GATHER_WRITER_METADATA: usize = 9;
const PREPARE_FOR_BACKUP: usize = 14;
const ABORT_BACKUP: usize = 15;
const GATHER_WRITER_STATUS: usize = 16;
const GET_WRITER_STATUS_COUNT: usize = 17;
const FREE_WRITER_STATUS: usize = 18;
const GET_WRITER_STATUS: usize = 19;
const BACKUP_COMPLETE: usize = 27;
const SET_CONTEXT: usize = 35;
const START_SNAPSHOT_SET: usize = 36;
const ADD_TO_SNAPSHOT_SET: usize = 37;
const DO_SNAPSHOT_SET: usize = 38;
const DELETE_SNAPSHOTS: usize = 39;
const GET_SNAPSHOT_PROPERTIES: usize = 42;
const ASYNC_WAIT: usize = 4;
const ASYNC_QUERY_STATUS: usize = 5;
/// The function in `slot` of the COM object `obj`'s vtable, as `F`.
///
/// SAFETY: `obj` must be a live COM object whose vtable has a function of type `F` at
/// `slot`.
pub(super) unsafe fn method<F: Copy>(obj: *mut c_void, slot: usize) -> F {
    let vtable = *(obj as *const *const *const c_void);
    std::mem::transmute_copy(&*vtable.add(slot))
}

pub(super) fn check(call: &'static str, hr: i32) -> VssResult<()> {
    if hr < 0 {
        Err(VssError {
            call,
            hresult: hr as u32,
        })
    } else {
        Ok(())
    }
}

/// Joins the multithreaded apartment (idempotent per thread).
fn join_apartment() {
    // SAFETY: no pointers; S_FALSE when the thread already joined.
    unsafe { CoInitializeEx(std::ptr::null_mut(), COINIT_MULTITHREADED) };
}

/// A requester: an `IVssBackupComponents` this value owns.
pub struct ComVss {
    obj: *mut c_void,
}

// SAFETY: an MTA object may be called from any thread that joined the apartment, which
// every method does first.
unsafe impl Send for ComVss {}

impl ComVss {
    /// `CreateVssBackupComponents`, after joining COM with the security VSS asks for.
    pub fn open() -> VssResult<Box<dyn VssApi>> {
        join_apartment();
        // SAFETY: null and constant arguments; RPC_E_TOO_LATE (set already) is fine.
        unsafe {
            CoInitializeSecurity(
                std::ptr::null_mut(),
                -1,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                RPC_C_IMP_LEVEL_IDENTIFY,
                std::ptr::null_mut(),
                EOAC_DYNAMIC_CLOAKING,
                std::ptr::null_mut(),
            )
        };
        let mut obj = std::ptr::null_mut();
        // SAFETY: a valid out pointer.
        check("CreateVssBackupComponents", unsafe {
            CreateVssBackupComponentsInternal(&mut obj)
        })?;
        if obj.is_null() {
            return Err(VssError {
                call: "CreateVssBackupComponents",
                hresult: 0x8000_4005,
            });
        }
        Ok(Box::new(Self { obj }))
    }

    /// Calls a method returning an `IVssAsync`, waits for it, and returns its result.
    fn wait(&self, call: &'static str, slot: usize) -> VssResult<()> {
        join_apartment();
        let mut async_obj: *mut c_void = std::ptr::null_mut();
        // SAFETY: slot is one of the `IVssAsync **` methods of a live object.
        let hr = unsafe {
            method::<unsafe extern "system" fn(*mut c_void, *mut *mut c_void) -> i32>(
                self.obj, slot,
            )(self.obj, &mut async_obj)
        };
        check(call, hr)?;
        if async_obj.is_null() {
            return Ok(());
        }
        let mut status = 0i32;
        // SAFETY: a live IVssAsync, released below.
        let result = unsafe {
            let hr = method::<unsafe extern "system" fn(*mut c_void, u32) -> i32>(
                async_obj, ASYNC_WAIT,
            )(async_obj, INFINITE);
            let hr = if hr >= 0 {
                method::<unsafe extern "system" fn(*mut c_void, *mut i32, *mut i32) -> i32>(
                    async_obj,
                    ASYNC_QUERY_STATUS,
                )(async_obj, &mut status, std::ptr::null_mut())
            } else {
                hr
            };
            method::<unsafe extern "system" fn(*mut c_void) -> u32>(async_obj, RELEASE)(async_obj);
            hr
        };
        check(call, result)?;
        if status != VSS_S_ASYNC_FINISHED {
            return check(
                call,
                if status < 0 {
                    status
                } else {
                    0x8004_2302_u32 as i32
                },
            );
        }
        Ok(())
    }
}

impl Drop for ComVss {
    fn drop(&mut self) {
        join_apartment();
        // SAFETY: the reference this value owns.
        unsafe {
            method::<unsafe extern "system" fn(*mut c_void) -> u32>(self.obj, RELEASE)(self.obj)
        };
    }
}

impl VssApi for ComVss {
    fn initialize_for_copy_backup(&mut self) -> VssResult<()> {
        join_apartment();
        // SAFETY: methods of a live object, with the argument types vsbackup.h declares.
        unsafe {
            check(
                "InitializeForBackup",
                method::<unsafe extern "system" fn(*mut c_void, *mut u16) -> i32>(
                    self.obj,
                    INITIALIZE_FOR_BACKUP,
                )(self.obj, std::ptr::null_mut()),
            )?;
            check(
                "SetContext",
                method::<unsafe extern "system" fn(*mut c_void, i32) -> i32>(self.obj, SET_CONTEXT)(
                    self.obj,
                    VSS_CTX_BACKUP,
                ),
            )?;
            check(
                "SetBackupState",
                method::<unsafe extern "system" fn(*mut c_void, u8, u8, i32, u8) -> i32>(
                    self.obj,
                    SET_BACKUP_STATE,
                )(self.obj, 0, 0, VSS_BT_COPY, 0),
            )
        }
    }

    fn gather_writer_metadata(&mut self) -> VssResult<()> {
        self.wait("GatherWriterMetadata", GATHER_WRITER_METADATA)
    }

    fn writer_files(&mut self) -> VssResult<Vec<WriterFiles>> {
        join_apartment();
        // SAFETY: a live requester whose writer metadata was gathered.
        unsafe { super::com_metadata::writer_files(self.obj) }
    }

    fn start_snapshot_set(&mut self) -> VssResult<Guid> {
        join_apartment();
        let mut id = RawGuid::default();
        // SAFETY: a live object and a valid out pointer.
        check("StartSnapshotSet", unsafe {
            method::<unsafe extern "system" fn(*mut c_void, *mut RawGuid) -> i32>(
                self.obj,
                START_SNAPSHOT_SET,
            )(self.obj, &mut id)
        })?;
        Ok(id.into())
    }

    fn add_to_snapshot_set(&mut self, volume: &str) -> VssResult<Guid> {
        join_apartment();
        let mut wide: Vec<u16> = volume.encode_utf16().chain(Some(0)).collect();
        let mut id = RawGuid::default();
        // SAFETY: a live object, a NUL-terminated volume name, the null provider (VSS
        // chooses) and a valid out pointer.
        check("AddToSnapshotSet", unsafe {
            method::<unsafe extern "system" fn(*mut c_void, *mut u16, RawGuid, *mut RawGuid) -> i32>(
                self.obj,
                ADD_TO_SNAPSHOT_SET,
            )(self.obj, wide.as_mut_ptr(), RawGuid::default(), &mut id)
        })?;
        Ok(id.into())
    }

    fn prepare_for_backup(&mut self) -> VssResult<()> {
        self.wait("PrepareForBackup", PREPARE_FOR_BACKUP)
    }

    fn do_snapshot_set(&mut self) -> VssResult<()> {
        self.wait("DoSnapshotSet", DO_SNAPSHOT_SET)
    }

    fn writer_status(&mut self) -> VssResult<Vec<WriterStatus>> {
        self.wait("GatherWriterStatus", GATHER_WRITER_STATUS)?;
        let mut count = 0u32;
        // SAFETY: methods of a live object; each BSTR returned is freed here.
        unsafe {
            check(
                "GetWriterStatusCount",
                method::<unsafe extern "system" fn(*mut c_void, *mut u32) -> i32>(
                    self.obj,
                    GET_WRITER_STATUS_COUNT,
                )(self.obj, &mut count),
            )?;
            let mut out = Vec::with_capacity(count as usize);
            for i in 0..count {
                let (mut instance, mut writer) = (RawGuid::default(), RawGuid::default());
                let mut name: *mut u16 = std::ptr::null_mut();
                let (mut state, mut failure) = (0i32, 0i32);
                let hr = method::<
                    unsafe extern "system" fn(
                        *mut c_void,
                        u32,
                        *mut RawGuid,
                        *mut RawGuid,
                        *mut *mut u16,
                        *mut i32,
                        *mut i32,
                    ) -> i32,
                >(self.obj, GET_WRITER_STATUS)(
                    self.obj,
                    i,
                    &mut instance,
                    &mut writer,
                    &mut name,
                    &mut state,
                    &mut failure,
                );
                if hr < 0 {
                    continue;
                }
                let text = if name.is_null() {
                    String::from("(unnamed writer)")
                } else {
                    let len = (0..).take_while(|&k| *name.add(k) != 0).count();
                    let s = String::from_utf16_lossy(std::slice::from_raw_parts(name, len));
                    SysFreeString(name);
                    s
                };
                out.push(WriterStatus {
                    instance: instance.into(),
                    name: text,
                    state: state as u32,
                    failure: failure as u32,
                });
            }
            method::<unsafe extern "system" fn(*mut c_void) -> i32>(self.obj, FREE_WRITER_STATUS)(
                self.obj,
            );
            Ok(out)
        }
    }

    fn snapshot_device(&mut self, snapshot: Guid) -> VssResult<String> {
        join_apartment();
        // SAFETY: a zeroed VSS_SNAPSHOT_PROP is what GetSnapshotProperties fills; its
        // strings are freed with VssFreeSnapshotProperties.
        unsafe {
            let mut prop: SnapshotProp = std::mem::zeroed();
            check(
                "GetSnapshotProperties",
                method::<unsafe extern "system" fn(*mut c_void, RawGuid, *mut SnapshotProp) -> i32>(
                    self.obj,
                    GET_SNAPSHOT_PROPERTIES,
                )(self.obj, snapshot.into(), &mut prop),
            )?;
            let p = prop.snapshot_device_object;
            let device = if p.is_null() {
                String::new()
            } else {
                let len = (0..).take_while(|&k| *p.add(k) != 0).count();
                String::from_utf16_lossy(std::slice::from_raw_parts(p, len))
            };
            VssFreeSnapshotPropertiesInternal(&mut prop);
            Ok(device)
        }
    }

    fn backup_complete(&mut self) -> VssResult<()> {
        self.wait("BackupComplete", BACKUP_COMPLETE)
    }

    fn abort_backup(&mut self) -> VssResult<()> {
        join_apartment();
        // SAFETY: a method of a live object.
        check("AbortBackup", unsafe {
            method::<unsafe extern "system" fn(*mut c_void) -> i32>(self.obj, ABORT_BACKUP)(
                self.obj,
            )
        })
    }

    fn delete_snapshot_set(&mut self, set: Guid) -> VssResult<()> {
        join_apartment();
        let (mut deleted, mut kept) = (0i32, RawGuid::default());
        // SAFETY: a live object and valid out pointers.
        check("DeleteSnapshots", unsafe {
            method::<
                unsafe extern "system" fn(
                    *mut c_void,
                    RawGuid,
                    i32,
                    i32,
                    *mut i32,
                    *mut RawGuid,
                ) -> i32,
            >(self.obj, DELETE_SNAPSHOTS)(
                self.obj,
                set.into(),
                VSS_OBJECT_SNAPSHOT_SET,
                1,
                &mut deleted,
                &mut kept,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On real Windows this opens a requester; wine has no VSS and refuses at the first
    /// call, which is all of the real path this machine can run.
    #[test]
    fn the_real_requester_is_created_or_refused_as_wine_does() {
        match ComVss::open() {
            Ok(_) => eprintln!("CreateVssBackupComponents succeeded: real VSS is present"),
            Err(e) => {
                eprintln!(
                    "CreateVssBackupComponents refused with 0x{:08X}: wine has no VSS, so the \
                     calls after it run only on real Windows (their logic is tested against the \
                     fake)",
                    e.hresult
                );
                assert_eq!(e.call, "CreateVssBackupComponents");
                assert_eq!(e.hresult, super::super::api::hresult::E_NOTIMPL);
                let err = super::super::explain(e, None);
                assert!(err.message().contains("not available"));
            }
        }
    }

    #[test]
    fn guids_cross_the_boundary_unchanged() {
        let g = Guid(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        let raw: RawGuid = g.into();
        assert_eq!(raw.data1, 0x0123_4567);
        assert_eq!(Guid::from(raw), g);
        assert_eq!(g.to_string(), "{01234567-89ab-cdef-0011-223344556677}");
    }
}
