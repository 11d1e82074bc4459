//! A short CPU slice for low work: an application's thread that wakes on the backup's CPU
//! gets it sooner.
//!
//! Why: Linux's CPU scheduler (EEVDF, since 6.6) lets a thread it has just picked keep the
//! CPU for its slice before a thread that wakes there may take it (1.4 ms on 2 CPUs, more
//! on more), whatever the two threads' nice values: nice sets a share of the CPU, not how
//! soon the CPU is given up. A backup computes in stretches of milliseconds (a chunk's hash,
//! its compression), so a database backend woken by its I/O on the backup's CPU can wait
//! that long. Since 6.12 a thread may ask for a shorter slice (`sched_attr.sched_runtime`,
//! 0.1 to 100 ms); low work asks for the shortest. Its share of the CPU stays the nice
//! value's. Measured beside pgbench in docs/BENCHMARKS.md (2026-12-03, evening and
//! night): two spinners at nice 19 left it 0.49 of its TPS with the slice, 0.40 without.
//! It is no reason to give low work every CPU: on both, with the slice, pgbench kept 0.64
//! of its TPS, without it 0.69.
//!
//! The threads a lowered thread starts inherit the slice as they inherit its nice value.
//! Kernels before 6.12 ignore the field; a failure changes nothing (a courtesy, as the rest
//! of low priority).

/// The slice low work asks for, in nanoseconds: the shortest the kernel grants.
pub const LOW_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` up to its first version's end (`SCHED_ATTR_SIZE_VER0`, 48 bytes).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// `SCHED_FLAG_KEEP_POLICY`: a thread umbra was started in under `SCHED_BATCH` or
/// `SCHED_IDLE` (`chrt`) stays so.
const KEEP_POLICY: u64 = 0x08;

/// Asks for [`LOW_SLICE_NS`] for the calling thread and the threads it starts from now on;
/// `nice` is the thread's nice value, which the same call sets.
pub(super) fn shorten_this_thread(nice: i32) {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        flags: KEEP_POLICY,
        nice,
        runtime: LOW_SLICE_NS,
        ..SchedAttr::default()
    };
    // SAFETY: a sched_attr of the size it states, for the calling thread (pid 0).
    unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw const attr, 0) };
}

/// The slice of thread `tid` (0: the calling thread) in nanoseconds, as `sched_getattr`
/// reports it: 0 before Linux 6.12, where a thread has no slice of its own.
pub fn of_thread(tid: i32) -> Option<u64> {
    let mut attr = SchedAttr::default();
    let size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: a buffer of `size` bytes for the attributes of thread `tid`.
    let r = unsafe { libc::syscall(libc::SYS_sched_getattr, tid, &raw mut attr, size, 0) };
    (r == 0).then_some(attr.runtime)
}
