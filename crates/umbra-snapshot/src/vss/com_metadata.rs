//! The writers' metadata, read through `IVssExamineWriterMetadata`, `IVssWMComponent` and
//! `IVssWMFiledesc`: which folders and patterns each writer manages, so that a source a
//! stable writer manages whole is recorded app-consistent. Like `com.rs`, these calls run
//! only on real Windows; their slots follow mingw-w64's C declarations in vsbackup.h.

use std::ffi::c_void;

use super::api::{ComponentFiles, VssResult, WriterFiles};
use super::com::{check, method, RawGuid, SysFreeString, RELEASE};

const GET_WRITER_METADATA_COUNT: usize = 10;
const GET_WRITER_METADATA: usize = 11;
const FREE_WRITER_METADATA: usize = 12;
// IVssExamineWriterMetadata, IVssWMComponent, IVssWMFiledesc (vsbackup.h).
const EXAMINE_GET_IDENTITY: usize = 3;
const EXAMINE_GET_FILE_COUNTS: usize = 4;
const EXAMINE_GET_COMPONENT: usize = 7;
const COMPONENT_GET_INFO: usize = 3;
const COMPONENT_FREE_INFO: usize = 4;
const COMPONENT_GET_FILE: usize = 5;
const COMPONENT_GET_DATABASE_FILE: usize = 6;
const COMPONENT_GET_DATABASE_LOG_FILE: usize = 7;
const FILEDESC_GET_PATH: usize = 3;
const FILEDESC_GET_FILESPEC: usize = 4;
const FILEDESC_GET_RECURSIVE: usize = 5;

/// Takes a BSTR returned by a call: its text, and the string freed.
///
/// SAFETY: `b` is null or a BSTR this caller owns.
unsafe fn take_bstr(b: *mut u16) -> String {
    if b.is_null() {
        return String::new();
    }
    let len = (0..).take_while(|&k| *b.add(k) != 0).count();
    let s = String::from_utf16_lossy(std::slice::from_raw_parts(b, len));
    SysFreeString(b);
    s
}

/// Releases a COM object this caller holds a reference to.
///
/// SAFETY: `obj` is null or a live COM object.
unsafe fn release(obj: *mut c_void) {
    if !obj.is_null() {
        method::<unsafe extern "system" fn(*mut c_void) -> u32>(obj, RELEASE)(obj);
    }
}

/// A BSTR out of a `(this, BSTR*)` method.
///
/// SAFETY: `obj` is a live object with such a method at `slot`.
unsafe fn bstr_of(obj: *mut c_void, slot: usize) -> String {
    let mut b: *mut u16 = std::ptr::null_mut();
    let hr = method::<unsafe extern "system" fn(*mut c_void, *mut *mut u16) -> i32>(obj, slot)(
        obj, &mut b,
    );
    if hr < 0 {
        return String::new();
    }
    take_bstr(b)
}

/// One file set of a component (`IVssWMFiledesc`), released.
///
/// SAFETY: `desc` is a live IVssWMFiledesc this caller owns.
unsafe fn file_set(desc: *mut c_void) -> ComponentFiles {
    let path = bstr_of(desc, FILEDESC_GET_PATH);
    let filespec = bstr_of(desc, FILEDESC_GET_FILESPEC);
    let mut recursive = 0u8;
    method::<unsafe extern "system" fn(*mut c_void, *mut u8) -> i32>(desc, FILEDESC_GET_RECURSIVE)(
        desc,
        &mut recursive,
    );
    release(desc);
    ComponentFiles {
        path,
        filespec,
        recursive: recursive != 0,
    }
}

/// Every file set of a component: its files, databases and database logs.
///
/// SAFETY: `component` is a live IVssWMComponent.
unsafe fn component_files(component: *mut c_void, out: &mut Vec<ComponentFiles>) {
    let mut info: *mut ComponentInfo = std::ptr::null_mut();
    let hr = method::<unsafe extern "system" fn(*mut c_void, *mut *mut ComponentInfo) -> i32>(
        component,
        COMPONENT_GET_INFO,
    )(component, &mut info);
    if hr < 0 || info.is_null() {
        return;
    }
    let counts = [
        (COMPONENT_GET_FILE, (*info).file_count),
        (COMPONENT_GET_DATABASE_FILE, (*info).databases),
        (COMPONENT_GET_DATABASE_LOG_FILE, (*info).log_files),
    ];
    method::<unsafe extern "system" fn(*mut c_void, *mut ComponentInfo) -> i32>(
        component,
        COMPONENT_FREE_INFO,
    )(component, info);
    for (slot, count) in counts {
        for i in 0..count {
            let mut desc: *mut c_void = std::ptr::null_mut();
            let hr = method::<unsafe extern "system" fn(*mut c_void, u32, *mut *mut c_void) -> i32>(
                component, slot,
            )(component, i, &mut desc);
            if hr >= 0 && !desc.is_null() {
                out.push(file_set(desc));
            }
        }
    }
}

/// `VSSCOMPONENTINFO` (vsbackup.h; C++ `bool` is one byte), up to the counts read here.
#[repr(C)]
struct ComponentInfo {
    component_type: i32,
    logical_path: *mut u16,
    component_name: *mut u16,
    caption: *mut u16,
    icon: *mut u8,
    icon_bytes: u32,
    restore_metadata: u8,
    notify_on_backup_complete: u8,
    selectable: u8,
    selectable_for_restore: u8,
    component_flags: u32,
    file_count: u32,
    databases: u32,
    log_files: u32,
    dependencies: u32,
}

/// Every writer's file sets, from a requester whose metadata was gathered.
///
/// SAFETY: `obj` is a live `IVssBackupComponents` after `GatherWriterMetadata`.
pub(super) unsafe fn writer_files(obj: *mut c_void) -> VssResult<Vec<WriterFiles>> {
    let mut count = 0u32;
    // SAFETY (as the function says): methods of live objects, with the argument types vsbackup.h declares;
    // every object and string received is released or freed here.
    unsafe {
        check(
            "GetWriterMetadataCount",
            method::<unsafe extern "system" fn(*mut c_void, *mut u32) -> i32>(
                obj,
                GET_WRITER_METADATA_COUNT,
            )(obj, &mut count),
        )?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let mut instance = RawGuid::default();
            let mut examine: *mut c_void = std::ptr::null_mut();
            let hr = method::<
                unsafe extern "system" fn(*mut c_void, u32, *mut RawGuid, *mut *mut c_void) -> i32,
            >(obj, GET_WRITER_METADATA)(obj, i, &mut instance, &mut examine);
            if hr < 0 || examine.is_null() {
                continue;
            }
            let (mut inst, mut writer) = (RawGuid::default(), RawGuid::default());
            let mut name: *mut u16 = std::ptr::null_mut();
            let (mut usage, mut source) = (0i32, 0i32);
            method::<
                unsafe extern "system" fn(
                    *mut c_void,
                    *mut RawGuid,
                    *mut RawGuid,
                    *mut *mut u16,
                    *mut i32,
                    *mut i32,
                ) -> i32,
            >(examine, EXAMINE_GET_IDENTITY)(
                examine,
                &mut inst,
                &mut writer,
                &mut name,
                &mut usage,
                &mut source,
            );
            let name = take_bstr(name);
            let (mut includes, mut excludes, mut components) = (0u32, 0u32, 0u32);
            method::<unsafe extern "system" fn(*mut c_void, *mut u32, *mut u32, *mut u32) -> i32>(
                examine,
                EXAMINE_GET_FILE_COUNTS,
            )(examine, &mut includes, &mut excludes, &mut components);
            let mut files = Vec::new();
            for c in 0..components {
                let mut component: *mut c_void = std::ptr::null_mut();
                let hr = method::<
                    unsafe extern "system" fn(*mut c_void, u32, *mut *mut c_void) -> i32,
                >(examine, EXAMINE_GET_COMPONENT)(
                    examine, c, &mut component
                );
                if hr >= 0 && !component.is_null() {
                    component_files(component, &mut files);
                    release(component);
                }
            }
            release(examine);
            out.push(WriterFiles {
                instance: instance.into(),
                name,
                files,
            });
        }
        method::<unsafe extern "system" fn(*mut c_void) -> i32>(obj, FREE_WRITER_METADATA)(obj);
        Ok(out)
    }
}
