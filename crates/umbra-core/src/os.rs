//! The few questions about the process and the machine whose answers differ between Unix
//! and Windows, asked the same way from every crate.
//!
//! Several choices hang on them, the same way on both: whether umbra runs privileged
//! (root on Unix, an elevated token on Windows) decides where state and configuration live
//! and which snapshot methods are possible; whether a process is alive decides whether a
//! lock or a staging folder left behind may be swept.

use std::path::Path;

/// True when umbra runs as root (Unix) or elevated (Windows).
#[must_use]
pub fn is_privileged() -> bool {
    imp::is_privileged()
}

/// True when a process with this id exists on this machine (one of another user counts).
#[must_use]
pub fn process_alive(pid: u32) -> bool {
    imp::process_alive(pid)
}

/// When process `pid` started, in a unit of the platform's own (clock ticks since boot on
/// Linux, field 22 of `/proc/PID/stat`; the creation FILETIME on Windows): with the pid,
/// it tells a process from a later one that reuses its pid.
#[must_use]
pub fn process_start(pid: u32) -> Option<u64> {
    imp::process_start(pid)
}

/// This machine's name.
#[must_use]
pub fn hostname() -> String {
    imp::hostname().unwrap_or_else(|| "unknown-host".into())
}

/// CPU seconds (user + system) used so far by this process, and by its children that were
/// waited for (Unix; Windows does not count children: 0).
#[must_use]
pub fn cpu_seconds() -> (f64, f64) {
    imp::cpu_seconds()
}

/// Where umbra keeps its own files on Windows (state, the default repository and its
/// password): `%ProgramData%\umbra` when elevated, `%LOCALAPPDATA%\umbra` otherwise.
/// `None` on Unix, where the XDG and FHS folders are used instead.
#[must_use]
pub fn windows_data_dir() -> Option<std::path::PathBuf> {
    if !cfg!(windows) {
        return None;
    }
    let var = if is_privileged() {
        "ProgramData"
    } else {
        "LOCALAPPDATA"
    };
    std::env::var_os(var).map(|d| std::path::PathBuf::from(d).join("umbra"))
}

/// Windows: turns on `SeBackupPrivilege` for this process when it holds it (elevated), so
/// that files opened with backup semantics are read whatever their ACLs say, as backup
/// programs do. Nothing on Unix (root reads everything). Returns whether it is on.
pub fn enable_backup_privilege() -> bool {
    imp::enable_backup_privilege()
}

/// Syncs the directory `dir`, so that names created or renamed in it survive a crash. On
/// Linux a rename is durable only once its directory is fsynced; Windows cannot open a
/// directory as a plain file, and NTFS journals the rename itself: nothing to do there.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    imp::sync_dir(dir)
}

#[cfg(unix)]
mod imp {
    use std::path::Path;

    pub(super) fn is_privileged() -> bool {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    pub(super) fn process_alive(pid: u32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) == 0 };
        alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }

    pub(super) fn process_start(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
        let after = &stat[stat.rfind(')')? + 1..];
        after.split_whitespace().nth(19)?.parse().ok()
    }

    pub(super) fn hostname() -> Option<String> {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Some(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    fn rusage(who: i32) -> f64 {
        // SAFETY: zeroed is a valid rusage, which getrusage fills.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::getrusage(who, &mut u) } != 0 {
            return 0.0;
        }
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    }

    pub(super) fn cpu_seconds() -> (f64, f64) {
        (rusage(libc::RUSAGE_SELF), rusage(libc::RUSAGE_CHILDREN))
    }

    pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }

    pub(super) fn enable_backup_privilege() -> bool {
        false
    }
}

#[cfg(windows)]
mod imp {
    use std::path::Path;

    use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, STILL_ACTIVE};
    use windows_sys::Win32::Security::{
        GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, GetExitCodeProcess, GetProcessTimes, OpenProcess, OpenProcessToken,
        PROCESS_QUERY_LIMITED_INFORMATION,
    };

    pub(super) fn is_privileged() -> bool {
        // SAFETY: plain Win32 calls on a token handle this function owns and closes.
        unsafe {
            let mut token: HANDLE = std::ptr::null_mut();
            if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
                return false;
            }
            let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
            let mut len = 0u32;
            let ok = GetTokenInformation(
                token,
                TokenElevation,
                std::ptr::addr_of_mut!(elevation).cast(),
                std::mem::size_of::<TOKEN_ELEVATION>() as u32,
                &mut len,
            );
            CloseHandle(token);
            ok != 0 && elevation.TokenIsElevated != 0
        }
    }

    pub(super) fn process_alive(pid: u32) -> bool {
        // SAFETY: plain Win32 calls on a handle this function owns and closes.
        unsafe {
            let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if handle.is_null() {
                // Access denied: it exists and belongs to someone else.
                return std::io::Error::last_os_error().raw_os_error() == Some(5);
            }
            let mut code = 0u32;
            let ok = GetExitCodeProcess(handle, &mut code);
            CloseHandle(handle);
            ok != 0 && code == STILL_ACTIVE as u32
        }
    }

    pub(super) fn process_start(pid: u32) -> Option<u64> {
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: plain Win32 calls on a handle this function owns and closes.
        unsafe {
            let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if handle.is_null() {
                return None;
            }
            let ok = GetProcessTimes(handle, &mut created, &mut exited, &mut kernel, &mut user);
            let mut code = 0u32;
            let running = GetExitCodeProcess(handle, &mut code) != 0 && code == STILL_ACTIVE as u32;
            CloseHandle(handle);
            (ok != 0 && running).then(|| {
                (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime)
            })
        }
    }

    pub(super) fn hostname() -> Option<String> {
        std::env::var("COMPUTERNAME").ok().filter(|h| !h.is_empty())
    }

    pub(super) fn cpu_seconds() -> (f64, f64) {
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: the pseudo-handle of this process and four valid out pointers.
        let ok = unsafe {
            GetProcessTimes(
                GetCurrentProcess(),
                &mut created,
                &mut exited,
                &mut kernel,
                &mut user,
            )
        };
        if ok == 0 {
            return (0.0, 0.0);
        }
        let secs = |t: FILETIME| {
            ((u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)) as f64 / 1e7
        };
        (secs(kernel) + secs(user), 0.0)
    }

    pub(super) fn sync_dir(_dir: &Path) -> std::io::Result<()> {
        Ok(())
    }

    pub(super) fn enable_backup_privilege() -> bool {
        use windows_sys::Win32::Security::{
            AdjustTokenPrivileges, LookupPrivilegeValueW, LUID_AND_ATTRIBUTES,
            SE_PRIVILEGE_ENABLED, TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES,
        };
        let name: Vec<u16> = "SeBackupPrivilege".encode_utf16().chain(Some(0)).collect();
        // SAFETY: plain Win32 calls with valid pointers, on a token handle this function
        // owns and closes.
        unsafe {
            let mut token: HANDLE = std::ptr::null_mut();
            if OpenProcessToken(
                GetCurrentProcess(),
                TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
                &mut token,
            ) == 0
            {
                return false;
            }
            let mut privileges = TOKEN_PRIVILEGES {
                PrivilegeCount: 1,
                Privileges: [LUID_AND_ATTRIBUTES {
                    Luid: std::mem::zeroed(),
                    Attributes: SE_PRIVILEGE_ENABLED,
                }],
            };
            let ok = LookupPrivilegeValueW(std::ptr::null(), name.as_ptr(), &mut privileges.Privileges[0].Luid) != 0
                && AdjustTokenPrivileges(token, 0, &privileges, 0, std::ptr::null_mut(), std::ptr::null_mut()) != 0
                // ERROR_NOT_ALL_ASSIGNED: the token does not hold it.
                && std::io::Error::last_os_error().raw_os_error() != Some(1300);
            CloseHandle(token);
            ok
        }
    }
}
