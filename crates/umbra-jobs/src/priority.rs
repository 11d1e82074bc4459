//! How hard a run leans on the machine it backs up: `priority = "low" | "normal"`.
//!
//! Why per thread: on Linux, the nice value and the I/O priority belong to a thread, and
//! the threads it starts inherit them. So the heavy work (reading and storing, copying,
//! pruning) runs on a thread of its own that lowers itself first, and every reader thread
//! the engine starts from there is low too; the run's own thread, which takes the
//! snapshot, holds the freeze window and runs the user's commands, stays at the priority
//! umbra was started with. Low priority never lengthens a freeze or a service's stop.
//!
//! Low is nice 19 and the idle I/O class (`nice -n 19 ionice -c3`). The class, not a
//! best-effort level: mq-deadline, the usual scheduler of SSDs and virtual disks, orders
//! requests by class and ignores the levels, so only the idle class lets the applications'
//! I/O go first; and it bounds the wait (a request waits at most `prio_aging_expire`,
//! 10 s by default), so the backup still ends under a busy disk. BFQ serves the idle class
//! when the disk is otherwise idle: under an application that never lets the disk rest,
//! `priority = "normal"` is the way to a bounded window. With `none`, only the CPU part
//! and the units' cgroup weights act.
//!
//! On Windows a thread's priority is not inherited by the threads it starts, so low
//! priority there is the process's background mode (`PROCESS_MODE_BACKGROUND_BEGIN`: low
//! CPU, I/O and memory priority), entered for the heavy work only and left when it ends;
//! the snapshot, the freeze and the user's commands come before or after it.

use std::str::FromStr;

use umbra_core::{ErrorKind, Result, UmbraError};

/// A run's priority for its heavy work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// Nice 19, idle I/O class: the default, for machines whose applications keep
    /// running during the backup.
    #[default]
    Low,
    /// As umbra was started: for a backup window that must be as short as it can be.
    Normal,
}

/// The nice value of low priority.
pub const LOW_NICE: i32 = 19;
/// The I/O class of low priority: idle (1 real-time, 2 best-effort, 3 idle).
pub const LOW_IO_CLASS: i32 = 3;

#[cfg(unix)]
const IOPRIO_CLASS_SHIFT: i32 = 13;
#[cfg(unix)]
const IOPRIO_WHO_PROCESS: i32 = 1;

impl Priority {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
        }
    }
}

impl FromStr for Priority {
    type Err = UmbraError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "low" => Ok(Self::Low),
            "normal" => Ok(Self::Normal),
            other => Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{other}` is not a priority"),
            )
            .with_hint(
                "Use \"low\" (the default: the applications keep their speed) or \"normal\".",
            )),
        }
    }
}

/// Lowers the calling thread (and what it starts from now on) to low priority.
#[cfg(unix)]
pub fn lower_this_thread() {
    // SAFETY: plain syscalls on the calling thread (who 0 is the caller).
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, LOW_NICE);
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            LOW_IO_CLASS << IOPRIO_CLASS_SHIFT,
        );
    }
}

/// Runs `work` at `priority`: on the calling thread for normal, on a thread of its own
/// that lowers itself first for low. A panic in `work` goes on in the caller.
#[cfg(unix)]
pub fn run_at<T: Send>(priority: Priority, work: impl FnOnce() -> T + Send) -> T {
    match priority {
        Priority::Normal => work(),
        Priority::Low => std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                lower_this_thread();
                work()
            });
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }),
    }
}

/// Lowers the calling thread to background priority (low CPU, I/O and memory priority).
/// Threads it starts do not inherit it on Windows.
#[cfg(windows)]
pub fn lower_this_thread() {
    use windows_sys::Win32::System::Threading::{
        GetCurrentThread, SetThreadPriority, THREAD_MODE_BACKGROUND_BEGIN,
    };
    // SAFETY: the pseudo-handle of the calling thread.
    unsafe { SetThreadPriority(GetCurrentThread(), THREAD_MODE_BACKGROUND_BEGIN) };
}

/// Runs `work` at `priority`: for low, with the process in background mode until it ends.
#[cfg(windows)]
pub fn run_at<T: Send>(priority: Priority, work: impl FnOnce() -> T + Send) -> T {
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, SetPriorityClass, PROCESS_MODE_BACKGROUND_BEGIN,
        PROCESS_MODE_BACKGROUND_END,
    };
    /// Leaves background mode however `work` ends.
    struct Background;
    impl Drop for Background {
        fn drop(&mut self) {
            // SAFETY: the pseudo-handle of this process.
            unsafe { SetPriorityClass(GetCurrentProcess(), PROCESS_MODE_BACKGROUND_END) };
        }
    }
    match priority {
        Priority::Normal => work(),
        Priority::Low => {
            // SAFETY: the pseudo-handle of this process.
            unsafe { SetPriorityClass(GetCurrentProcess(), PROCESS_MODE_BACKGROUND_BEGIN) };
            let _background = Background;
            work()
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The calling thread's nice value and I/O priority (class, level), as the kernel has
    /// them: `/proc/thread-self/stat` and `ioprio_get`.
    fn of_this_thread() -> (i32, (i32, i32)) {
        let nice = std::fs::read_to_string("/proc/thread-self/stat")
            .ok()
            .and_then(|s| {
                // Field 19 is the nice value; fields after the command's `)` are plain.
                let after = s.rsplit_once(')')?.1;
                after.split_whitespace().nth(16)?.parse().ok()
            })
            .unwrap_or(0);
        // SAFETY: ioprio_get on the calling thread.
        let io = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) } as i32;
        (
            nice,
            (
                io >> IOPRIO_CLASS_SHIFT,
                io & ((1 << IOPRIO_CLASS_SHIFT) - 1),
            ),
        )
    }

    #[test]
    fn low_work_runs_lowered_and_the_caller_keeps_its_priority() {
        let before = of_this_thread();
        let inside = run_at(Priority::Low, of_this_thread);
        assert_eq!(inside.0, LOW_NICE.max(before.0), "nice inside: {inside:?}");
        assert_eq!(inside.1, (LOW_IO_CLASS, 0), "I/O inside: {inside:?}");
        // What the lowered thread starts is low too.
        let child = run_at(Priority::Low, || {
            std::thread::spawn(of_this_thread).join().expect("thread")
        });
        assert_eq!(child.0, LOW_NICE.max(before.0));
        assert_eq!(of_this_thread(), before, "the caller was lowered");
        assert_eq!(run_at(Priority::Normal, of_this_thread), before);
    }

    #[test]
    fn priorities_are_named_in_the_job_files_words() {
        assert_eq!("low".parse::<Priority>().ok(), Some(Priority::Low));
        assert_eq!("normal".parse::<Priority>().ok(), Some(Priority::Normal));
        let e = "idle".parse::<Priority>().expect_err("not a priority");
        assert!(e.message().contains("`idle` is not a priority"));
    }
}
