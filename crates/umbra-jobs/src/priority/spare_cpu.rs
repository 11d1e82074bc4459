//! Leaving one CPU free only while something else on the machine uses it.
//!
//! Why: low work keeps off one CPU because a backup on every CPU costs a running
//! application far more than its CPU seconds (the module doc of `priority`). But on a
//! machine where nothing else runs, the CPU left free serves nobody, and on 2 cores a low
//! backup then took 1.5x the time of a normal one (7.1-7.7 s against 4.7-5.1 s for 1 GB
//! of small files in `/dev/shm`, docs/BENCHMARKS.md, 2026-12-03). A low default has to cost
//! nothing where nobody competes, so a watcher beside the low work measures what the
//! rest of the machine uses, and gives the low threads every CPU while that is under a
//! quarter of a CPU, and takes the first one away again as soon as it reaches half a
//! CPU.
//!
//! How: every [`TICK`], the CPU time of the CPUs this process may use (`/proc/stat`, per
//! CPU) less this process's own (`/proc/self/stat`, which counts its ended threads too)
//! is what the others used. The low threads are the process's threads at nice
//! [`LOW_NICE`](super::LOW_NICE) (`/proc/self/task`); each gets the current set of CPUs
//! (`sched_setaffinity`), every tick, so a thread started meanwhile follows as well.
//!
//! The first look, [`FIRST_LOOK`] long, comes before the low work starts, and decides
//! alone where it starts: on every CPU where others used under a quarter of one, else
//! off the first. Why it is worth its 50 ms: the engine sizes its pools of readers and
//! compressing threads by the CPUs of the thread that starts them, once, soon after it
//! starts, and a later look is too late for them. Started narrow on an idle machine, the
//! pools were sized for one CPU fewer (7 s against a normal run's 5 s for 1 GB of small
//! files); started wide beside pgbench, two readers on the one CPU left took more from it
//! (TPS kept 0.76 against 0.87, 4 rounds). Processes that low work starts keep the set
//! they were started with. The kernel's threads that serve this process's I/O count as
//! others: a backup whose reads keep them busy for half a CPU stays narrow (not measured).

use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// How often the watcher looks.
pub(super) const TICK: Duration = Duration::from_millis(100);
/// How long the first look, before the low work starts, takes.
pub(super) const FIRST_LOOK: Duration = Duration::from_millis(50);
/// The others' use, in CPUs, under which the low threads get every CPU (for two ticks).
pub(super) const WIDEN_BELOW: f64 = 0.25;
/// The others' use, in CPUs, from which the low threads leave the first CPU again.
pub(super) const NARROW_FROM: f64 = 0.5;

/// The watcher's thread until dropped.
pub(super) struct Watcher<'scope> {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> Watcher<'scope> {
    /// Looks once ([`FIRST_LOOK`]) and starts watching in `scope`, where the calling
    /// thread may use two CPUs or more; `None` otherwise (nothing to give or take). The
    /// bool says whether the low work may start on every CPU (else it leaves the first
    /// one free itself, before it starts anything).
    pub(super) fn start<'env>(scope: &'scope Scope<'scope, 'env>) -> Option<(Self, bool)> {
        let all = CpuSet::of_this_thread()?;
        let narrow = all.without_first()?;
        let before = Look::now(&all);
        std::thread::sleep(FIRST_LOOK);
        let first = Look::now(&all);
        let wide = first.others_since(&before)? < WIDEN_BELOW;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("umbra-spare-cpu".into())
            .spawn_scoped(scope, move || watch(&all, &narrow, wide, first, &stopped))
            .ok()?;
        let watcher = Self {
            stop: Some(stop),
            thread: Some(thread),
        };
        Some((watcher, wide))
    }
}

impl Drop for Watcher<'_> {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The machine's busy time and this process's own, at one moment.
struct Look {
    at: Instant,
    busy: Option<u64>,
    own: Option<u64>,
}

impl Look {
    fn now(set: &CpuSet) -> Self {
        Self {
            at: Instant::now(),
            busy: busy_ticks(set),
            own: own_ticks(),
        }
    }

    /// What the rest of the machine used since `before`, in CPUs; `None` without `/proc`.
    fn others_since(&self, before: &Look) -> Option<f64> {
        let busy = self.busy?.saturating_sub(before.busy?);
        let own = self.own?.saturating_sub(before.own?);
        let seconds = self.at.duration_since(before.at).as_secs_f64().max(0.001);
        Some(busy.saturating_sub(own) as f64 / clock_ticks_per_second() / seconds)
    }
}

fn watch(all: &CpuSet, narrow: &CpuSet, wide: bool, first: Look, stopped: &mpsc::Receiver<()>) {
    let (mut wide, mut quiet_ticks) = (wide, u32::from(wide));
    let mut last = first;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
        let now = Look::now(all);
        let Some(others) = now.others_since(&last) else {
            return; // no /proc: leave the low threads as they are
        };
        last = now;
        (wide, quiet_ticks) = decide(wide, quiet_ticks, others);
        apply(if wide { all } else { narrow });
    }
}

/// The next state from the others' use of CPUs in the last tick: (wide, quiet ticks in
/// a row).
pub(super) fn decide(wide: bool, quiet_ticks: u32, others: f64) -> (bool, u32) {
    if others >= NARROW_FROM {
        (false, 0)
    } else if others < WIDEN_BELOW {
        (wide || quiet_ticks + 1 >= 2, quiet_ticks + 1)
    } else {
        (wide, 0)
    }
}

/// Gives `set` to every thread of this process at the low nice value.
fn apply(set: &CpuSet) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if super::nice_in_stat(&stat) == Some(super::LOW_NICE) {
            set.give_to(tid);
        }
    }
}

/// The busy time (all but idle and I/O wait) of the CPUs in `set`, in clock ticks.
fn busy_ticks(set: &CpuSet) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let mut sum = 0;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(cpu) = fields
            .next()
            .and_then(|name| name.strip_prefix("cpu"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if !set.has(cpu) {
            continue;
        }
        // user nice system idle iowait irq softirq steal (guest is within user)
        let v: Vec<u64> = fields.take(8).filter_map(|f| f.parse().ok()).collect();
        if let [user, nice, system, _idle, _iowait, irq, softirq, steal] = v[..] {
            sum += user + nice + system + irq + softirq + steal;
        }
    }
    Some(sum)
}

/// This process's CPU time (user and system, ended threads included), in clock ticks.
fn own_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // utime and stime are fields 14 and 15 (the first after the command is field 3).
    let mut fields = super::stat_fields(&stat)?.skip(11);
    Some(fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// A set of CPUs (`cpu_set_t`).
#[derive(Clone, Copy)]
pub(super) struct CpuSet(libc::cpu_set_t);

impl CpuSet {
    /// The CPUs the calling thread may run on.
    pub(super) fn of_this_thread() -> Option<Self> {
        // SAFETY: a zeroed cpu_set_t is the empty set; sched_getaffinity on the calling
        // thread writes a set of the size given.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
                .then_some(Self(set))
        }
    }

    /// How many CPUs are in the set.
    pub(super) fn count(&self) -> usize {
        // SAFETY: counts within a valid set.
        usize::try_from(unsafe { libc::CPU_COUNT(&self.0) }).unwrap_or(0)
    }

    fn has(&self, cpu: usize) -> bool {
        let setsize = usize::try_from(libc::CPU_SETSIZE).unwrap_or(0);
        // SAFETY: `cpu` is checked against CPU_SETSIZE first.
        cpu < setsize && unsafe { libc::CPU_ISSET(cpu, &self.0) }
    }

    /// The set without its first CPU, where it has two or more.
    pub(super) fn without_first(&self) -> Option<Self> {
        if self.count() < 2 {
            return None;
        }
        let setsize = usize::try_from(libc::CPU_SETSIZE).unwrap_or(0);
        let first = (0..setsize).find(|&cpu| self.has(cpu))?;
        let mut set = *self;
        // SAFETY: `first` is below CPU_SETSIZE.
        unsafe { libc::CPU_CLR(first, &mut set.0) };
        Some(set)
    }

    /// Restricts thread `tid` (0: the calling thread) to this set. A failure changes
    /// nothing: leaving a CPU free is a courtesy.
    pub(super) fn give_to(&self, tid: i32) {
        // SAFETY: sched_setaffinity reads a set of the size given.
        unsafe {
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_after_two_quiet_ticks_and_narrows_at_once() {
        // Starts narrow; one quiet tick is not enough.
        assert_eq!(decide(false, 0, 0.1), (false, 1));
        assert_eq!(decide(false, 1, 0.1), (true, 2));
        // Between the thresholds nothing changes, and the quiet count starts again.
        assert_eq!(decide(true, 2, 0.3), (true, 0));
        assert_eq!(decide(false, 1, 0.3), (false, 0));
        // Half a CPU used by others takes the CPU back in the same tick.
        assert_eq!(decide(true, 5, 0.5), (false, 0));
        assert_eq!(decide(true, 5, 1.7), (false, 0));
    }

    #[test]
    fn this_process_counts_its_own_time_and_the_machine_its_busy_time() {
        let set = CpuSet::of_this_thread().expect("affinity");
        assert!(set.count() >= 1);
        let before = (
            busy_ticks(&set).expect("/proc/stat"),
            own_ticks().expect("stat"),
        );
        let t0 = Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let after = (
            busy_ticks(&set).expect("/proc/stat"),
            own_ticks().expect("stat"),
        );
        // 300 ms spinning is about 30 ticks of our own; the machine saw most of them too
        // (its counters are sampled at the timer tick, a process's time is exact, so the
        // two differ by a few ticks either way: the watcher's subtraction saturates).
        let own = after.1 - before.1;
        let busy = after.0 - before.0;
        assert!(
            own >= 15,
            "own time grew by {own} ticks in 300 ms of spinning"
        );
        assert!(
            busy * 10 >= own * 7,
            "the machine's busy time grew by {busy} ticks, ours by {own}"
        );
    }
}
