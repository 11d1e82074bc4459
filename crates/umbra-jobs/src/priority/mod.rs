//! How hard a run leans on the machine it backs up: `priority = "low" | "normal"`.
//!
//! Why per thread: on Linux, the nice value and the I/O priority belong to a thread, and
//! the threads it starts inherit them. So the heavy work (reading and storing, copying,
//! pruning) runs on a thread of its own that lowers itself first, and every reader thread
//! the engine starts from there is low too; the run's own thread, which takes the
//! snapshot, holds the freeze window and runs the user's commands, stays at the priority
//! umbra was started with. Low priority never lengthens a freeze or a service's stop.
//!
//! Low also reads a volume snapshot's large files around the page cache (the runner asks
//! umbra-repo for it; see its `source::direct`): caching pages nobody reads again is
//! kernel work at nobody's priority.
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
//! Why the session's autogroup too: with `sched_autogroup_enabled` (the default of
//! Debian's and most distributions' kernels), the CPU scheduler first shares the CPUs
//! between sessions, each session (`setsid`) an autogroup of equal weight, and only
//! then between the threads of a session by their nice values. A database started by
//! systemd, or by anyone with `setsid`, is a session of its own, so a backup at nice 19
//! took as much CPU from it as one at nice 0: two CPU spinners at nice 19 cut pgbench's
//! TPS to 0.41x (to 0.31x under `SCHED_IDLE`; docs/BENCHMARKS.md). So low work also sets
//! its session's autogroup nice to 19 (`/proc/self/autogroup`) while it runs, and puts
//! the previous value back when the last low work of the process ends; the snapshot, a
//! freeze and the job's commands run before or after, at the value the session had. A
//! signal puts it back through the CLI's release actions; after a `kill -9`, a record in
//! the runtime directory lets the next low work in that session put it back.
//! Where the CPU controller of a cgroup is in use (a systemd unit with `CPUWeight=`,
//! which the units of `schedule install` set), the kernel uses the cgroups' weights
//! instead of autogroups, and this setting is inert.
//!
//! Why one CPU left out: on a machine whose every CPU runs a backup thread, nice 19 and
//! the autogroup do not protect the applications. Beside pgbench on 2 cores (docs/
//! BENCHMARKS.md, 2026-12-02, late), two spinning processes at nice 19 in a nice-19
//! autogroup cut its TPS to 0.39x of a run with nothing beside it, one spinner to 0.74x,
//! though it took 15 CPU seconds in 20 s; with one CPU left free umbra's low backups let
//! it keep 0.85 of its TPS instead of 0.77 (medians of 7 and 21 rounds), at the price of
//! the window (1.30x restic's instead of 0.97x). The database's CPU time per transaction
//! and its wait in the run queue hardly grew: what grew is the time it sleeps, most
//! likely for wake-ups (its I/O completions among them) that find no CPU free. So low
//! work runs on all the CPUs it may use but the first (where it may use two or more);
//! its threads, and the processes a drill starts, inherit that like the nice value. But
//! only while other work uses that CPU: a backup's low threads get it back while the
//! rest of the machine is idle, and leave it again when it is not ([`spare_cpu`]), and
//! the engine sizes its pools for every CPU. Normal priority keeps them all.
//!
//! Why a short slice: a thread the scheduler has just picked keeps its CPU for its slice
//! before a thread that wakes there may take it, at any nice value; low work asks the
//! kernel for the shortest slice it grants, so that an application woken on the backup's
//! CPU waits about 0.1 ms for it rather than up to 1.4 ms ([`slice`]).
//!
//! On Windows a thread's priority is not inherited by the threads it starts, so low
//! priority there is the process's background mode (`PROCESS_MODE_BACKGROUND_BEGIN`: low
//! CPU, I/O and memory priority), entered for the heavy work only and left when it ends;
//! the snapshot, the freeze and the user's commands come before or after it. No CPU is
//! left free there (not measured on Windows).

use std::str::FromStr;

#[cfg(target_os = "linux")]
pub mod slice;
#[cfg(target_os = "linux")]
mod spare_cpu;

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

/// Lowers the calling thread (and what it starts from now on) to low priority, off one
/// CPU for good (a drill; a backup's low work is watched instead, see [`run_at`]).
#[cfg(unix)]
pub fn lower_this_thread() {
    // First, so that a thread seen at nice 19 is already off its CPU.
    #[cfg(target_os = "linux")]
    leave_one_cpu();
    lower_nice_and_io();
}

/// Nice 19, the idle I/O class and (Linux) a short CPU slice for the calling thread and
/// what it starts from now on.
#[cfg(unix)]
fn lower_nice_and_io() {
    // The nice value last, so that a thread seen at nice 19 has the rest already; the
    // slice's call sets nice 19 with it, `setpriority` where that call fails or is absent.
    // SAFETY: plain syscalls on the calling thread (who 0 is the caller).
    unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            LOW_IO_CLASS << IOPRIO_CLASS_SHIFT,
        );
    }
    #[cfg(target_os = "linux")]
    slice::shorten_this_thread(LOW_NICE);
    // SAFETY: as above.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, LOW_NICE) };
}

/// Keeps the calling thread, and the threads and processes it starts from now on, off
/// the first of the CPUs it may run on, where it may run on two or more (see the module
/// doc: a backup that fills every CPU costs the applications far more than its CPU
/// seconds, whatever its nice value). A failure changes nothing: it is a courtesy.
#[cfg(target_os = "linux")]
fn leave_one_cpu() {
    if let Some(narrow) = spare_cpu::CpuSet::of_this_thread().and_then(|s| s.without_first()) {
        narrow.give_to(0);
    }
}

/// The fields of a `/proc/.../stat` file after the command's `(...)`, which may itself
/// hold spaces and parentheses: the first is field 3 (the state).
#[cfg(target_os = "linux")]
fn stat_fields(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat.get(stat.rfind(')')? + 1..)?.split_whitespace())
}

/// The nice value in the text of a `/proc/.../stat` file (its field 19).
#[cfg(target_os = "linux")]
fn nice_in_stat(stat: &str) -> Option<i32> {
    stat_fields(stat)?.nth(16)?.parse().ok()
}

/// Runs `work` at `priority`: on the calling thread for normal, on a thread of its own
/// that lowers itself first for low, with the session lowered meanwhile
/// ([`lower_session`]). A panic in `work` goes on in the caller.
#[cfg(unix)]
pub fn run_at<T: Send>(priority: Priority, work: impl FnOnce() -> T + Send) -> T {
    match priority {
        Priority::Normal => work(),
        Priority::Low => std::thread::scope(|scope| {
            let _session = lower_session();
            // Gives the CPU left free back while nobody else uses it (spare_cpu's doc);
            // stopped when `work` has ended.
            #[cfg(target_os = "linux")]
            let watcher = spare_cpu::Watcher::start(scope);
            #[cfg(target_os = "linux")]
            let wide = watcher.as_ref().is_some_and(|(_, wide)| *wide);
            #[cfg(not(target_os = "linux"))]
            let wide = false;
            let handle = scope.spawn(move || {
                // On every CPU only where the watcher's first look found them idle.
                if wide {
                    lower_nice_and_io();
                } else {
                    lower_this_thread();
                }
                work()
            });
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }),
    }
}

/// The session's autogroup at nice 19 until dropped (see the module doc); nested and
/// concurrent holders in one process share one lowering, undone when the last is dropped.
#[must_use = "the session is lowered only while this lives"]
pub struct SessionLowered(());

/// Lowers this process's session (its autogroup) to nice 19 until the value returned is
/// dropped. Where the kernel has no autogroups, or they are off, nothing changes; a
/// failure to write the setting is ignored (low priority is a courtesy, not a guarantee).
#[must_use = "the session is lowered only while this lives"]
pub fn lower_session() -> SessionLowered {
    #[cfg(target_os = "linux")]
    autogroup::enter();
    SessionLowered(())
}

impl Drop for SessionLowered {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        autogroup::leave();
    }
}

#[cfg(target_os = "linux")]
mod autogroup {
    use std::sync::Mutex;

    use std::path::PathBuf;

    use umbra_core::interrupt::{on_interrupt, Registration};
    use umbra_snapshot::registry::Owner;

    /// The autogroup setting of the calling process (`/autogroup-N nice K`).
    const SETTING: &str = "/proc/self/autogroup";

    /// How many lowerings are held; the nice value to put back when none is, and the
    /// interrupt action that puts it back if a signal ends umbra first (a signal runs no
    /// destructor; the CLI's handler runs these actions, newest first, so the session
    /// is back before snapshots are released and services thawed).
    struct Held {
        count: usize,
        restore: Option<(i32, Registration)>,
    }

    static HELD: Mutex<Held> = Mutex::new(Held {
        count: 0,
        restore: None,
    });

    pub(super) fn enter() {
        let mut held = HELD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.count += 1;
        if held.count > 1 {
            return;
        }
        repair();
        held.restore = match nice() {
            Some(n) if n < super::LOW_NICE => {
                // Recorded, and put back on a signal, before it is lowered: a signal or a
                // kill between the two would otherwise leave it lowered with nothing to
                // put it back (a SIGINT in that moment once did, in CI).
                write_record(n);
                let registration = on_interrupt("the session's CPU priority", move || put_back(n));
                if set(super::LOW_NICE) {
                    Some((n, registration))
                } else {
                    drop(registration);
                    remove_record();
                    None
                }
            }
            _ => None,
        };
    }

    pub(super) fn leave() {
        let mut held = HELD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.count = held.count.saturating_sub(1);
        if held.count == 0 {
            if let Some((n, registration)) = held.restore.take() {
                drop(registration);
                put_back(n);
            }
        }
    }

    fn put_back(n: i32) {
        set(n);
        remove_record();
    }

    fn remove_record() {
        if let Some(path) = record_path() {
            let _ = std::fs::remove_file(path);
        }
    }

    // The record of a lowered session, so that a `kill -9` is repaired: the autogroup is a
    // kernel object that lives until its session ends or the machine reboots, so the
    // record lives in the runtime directory (`/run/umbra/sessions` for root,
    // `$XDG_RUNTIME_DIR/umbra/sessions` otherwise), named after the autogroup, and says
    // the value to put back and which umbra (pid, start, boot) lowered it. The next low
    // work in that session puts the value back if that umbra is gone.

    fn record_path() -> Option<PathBuf> {
        let dir = if umbra_core::os::is_privileged() {
            PathBuf::from("/run/umbra/sessions")
        } else {
            PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR")?).join("umbra/sessions")
        };
        // `/autogroup-13388 nice 0`
        let text = std::fs::read_to_string(SETTING).ok()?;
        let group = text.split_whitespace().next()?.trim_start_matches('/');
        (!group.is_empty() && !group.contains('/')).then(|| dir.join(group))
    }

    fn write_record(saved: i32) {
        let Some(path) = record_path() else { return };
        let me = Owner::this_process();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(
            &path,
            format!("{saved} {} {} {}\n", me.pid, me.start_ticks, me.boot_id),
        );
    }

    /// A record left by an umbra that is gone (killed while lowered): put its value back.
    fn repair() {
        let Some(path) = record_path() else { return };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return;
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let parsed = match fields[..] {
            [saved, pid, start, boot] => {
                saved
                    .parse::<i32>()
                    .ok()
                    .zip(
                        pid.parse()
                            .ok()
                            .zip(start.parse().ok())
                            .map(|(pid, start_ticks)| Owner {
                                pid,
                                start_ticks,
                                boot_id: boot.to_string(),
                            }),
                    )
            }
            _ => None,
        };
        let Some((saved, owner)) = parsed else {
            let _ = std::fs::remove_file(&path);
            return;
        };
        if owner.is_alive() {
            return; // that umbra still runs, and puts the value back itself
        }
        // Autogroup numbers start again at boot: a record of another boot is not ours.
        if owner.boot_id == Owner::this_process().boot_id && nice() == Some(super::LOW_NICE) {
            set(saved);
        }
        let _ = std::fs::remove_file(&path);
    }

    /// The session's autogroup nice value, if the kernel has autogroups.
    pub(super) fn nice() -> Option<i32> {
        let text = std::fs::read_to_string(SETTING).ok()?;
        text.split_whitespace().last()?.parse().ok()
    }

    /// Sets the autogroup nice value. Without CAP_SYS_ADMIN the kernel takes one change
    /// per 100 ms and answers EAGAIN in between: a change that close to the last is
    /// retried a few times.
    fn set(n: i32) -> bool {
        for _ in 0..5 {
            match std::fs::write(SETTING, n.to_string()) {
                Ok(()) => return true,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    std::thread::sleep(std::time::Duration::from_millis(110));
                }
                Err(_) => return false,
            }
        }
        false
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

// Linux: the tests read the kernel back through `/proc` and `ioprio_get`.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The tests that lower: the session's lowering is process-wide, so they take turns.
    static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        TURNS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The calling thread's nice value and I/O priority (class, level), as the kernel has
    /// them: `/proc/thread-self/stat` and `ioprio_get`.
    fn of_this_thread() -> (i32, (i32, i32)) {
        let nice = std::fs::read_to_string("/proc/thread-self/stat")
            .ok()
            .and_then(|s| nice_in_stat(&s))
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
        let _turn = turn();
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

    /// Low work asks for the shortest CPU slice, its threads inherit it, and the caller
    /// keeps its own (Linux 6.12 and later; older kernels report no slice).
    #[test]
    fn low_work_asks_for_a_short_slice_and_the_caller_keeps_its_own() {
        let _turn = turn();
        let before = slice::of_thread(0).expect("sched_getattr of this thread");
        if before == 0 {
            eprintln!("NOT CHECKED: this kernel (before Linux 6.12) has no slice per thread");
            return;
        }
        let (inside, child) = run_at(Priority::Low, || {
            let child = std::thread::spawn(|| slice::of_thread(0))
                .join()
                .expect("thread");
            (slice::of_thread(0), child)
        });
        assert_eq!(inside, Some(slice::LOW_SLICE_NS), "the low work's slice");
        assert_eq!(child, Some(slice::LOW_SLICE_NS), "a thread it started");
        assert_eq!(
            slice::of_thread(0),
            Some(before),
            "the caller's slice changed"
        );
        assert_eq!(
            run_at(Priority::Normal, || slice::of_thread(0)),
            Some(before)
        );
    }

    /// Low work lowers the session's autogroup while it runs, once however many low
    /// works overlap, and puts the value back when the last ends.
    #[cfg(target_os = "linux")]
    #[test]
    fn low_work_lowers_the_session_and_puts_it_back() {
        let _turn = turn();
        let Some(before) = autogroup::nice() else {
            eprintln!("SKIPPED: this kernel has no autogroups (/proc/self/autogroup)");
            return;
        };
        if before >= LOW_NICE {
            eprintln!("SKIPPED: this session is already at autogroup nice {before}");
            return;
        }
        let (inside, nested) = run_at(Priority::Low, || {
            let nested = run_at(Priority::Low, autogroup::nice);
            (autogroup::nice(), nested)
        });
        assert_eq!(inside, Some(LOW_NICE));
        assert_eq!(nested, Some(LOW_NICE));
        assert_eq!(
            autogroup::nice(),
            Some(before),
            "the session was not put back"
        );
        assert_eq!(run_at(Priority::Normal, autogroup::nice), Some(before));
    }

    /// A command may hold spaces and parentheses: the fields are counted from its last `)`.
    #[test]
    fn a_stat_line_is_read_after_the_command() {
        // pid (comm) state, then fields 4-18, then nice (19).
        let line = format!("42 (a) b (c) S {} 19 1 0 0\n", "7 ".repeat(15));
        assert_eq!(stat_fields(&line).and_then(|mut f| f.next()), Some("S"));
        assert_eq!(nice_in_stat(&line), Some(19));
        assert_eq!(nice_in_stat("42 (no end"), None);
        assert_eq!(nice_in_stat("42 (short) S 1 2"), None);
    }

    #[test]
    fn priorities_are_named_in_the_job_files_words() {
        assert_eq!("low".parse::<Priority>().ok(), Some(Priority::Low));
        assert_eq!("normal".parse::<Priority>().ok(), Some(Priority::Normal));
        let e = "idle".parse::<Priority>().expect_err("not a priority");
        assert!(e.message().contains("`idle` is not a priority"));
    }
}
