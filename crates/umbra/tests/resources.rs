//! What a backup may take from the machine (issue #18), read back from the kernel while
//! a real backup runs: with the default `priority = "low"`, the threads that read and
//! store run at nice 19 in the idle I/O class while the run's own thread keeps
//! umbra's priority, and the session's autogroup is at nice 19 meanwhile and put back
//! after (also when a signal ends the backup), and they leave one CPU free while other
//! work uses it and take it back while the machine is idle; `--priority normal` lowers
//! nothing; `--limit-read` paces the reading; a low backup reads a volume
//! snapshot's large files with `O_DIRECT` (around the page cache), a normal one and live
//! files through it.
//! The job file's keys and the units `schedule install` writes are checked in
//! `jobs_config.rs`.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::Env;

/// Every thread of `pid`: (thread id, nice, I/O class, I/O level, CPUs it may run on,
/// CPU slice in ns: 0 before Linux 6.12).
fn threads(pid: u32) -> Vec<Sample> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let Some(nice) = nice_in(&stat) else {
            continue;
        };
        // SAFETY: ioprio_get(IOPRIO_WHO_PROCESS, tid) only reads.
        let io = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, tid) } as i32;
        if io >= 0 {
            let slice = umbra_jobs::priority::slice::of_thread(tid).unwrap_or(0);
            out.push((tid, nice, io >> 13, io & 0x1fff, allowed_cpus(tid), slice));
        }
    }
    out
}

type Sample = (i32, i32, i32, i32, i32, u64);

/// One test at a time: a test's backups and spinners are the "other work" another
/// test's low backup would see.
fn turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A process using one CPU fully (nice 0) until dropped: other work on the machine.
struct Spinner(std::process::Child);

impl Spinner {
    fn start() -> Self {
        let child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        // Let the watcher of the next backup see it from its first tick.
        std::thread::sleep(Duration::from_millis(100));
        Self(child)
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How many CPUs thread `tid` may run on (0: this test's own thread); -1 if unknown.
fn allowed_cpus(tid: i32) -> i32 {
    // SAFETY: a zeroed cpu_set_t is the empty set; sched_getaffinity fills one of its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return -1;
        }
        libc::CPU_COUNT(&set)
    }
}

/// The autogroup nice value of `pid`'s session (`/autogroup-N nice K`), if the kernel
/// has autogroups.
fn autogroup_nice(pid: &str) -> Option<i32> {
    fs::read_to_string(format!("/proc/{pid}/autogroup"))
        .ok()?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// What [`sampled_backup`] saw.
struct Sampled {
    /// Every thread, every 50 ms.
    threads: Vec<Sample>,
    /// The same from 500 ms on: after the spare-CPU watcher's first looks.
    settled: Vec<Sample>,
    /// umbra's main thread (the run's own).
    main_tid: i32,
    /// umbra's session's autogroup nice, every 50 ms.
    autogroup: Vec<i32>,
    took: Duration,
    code: Option<i32>,
}

/// The nice value in a `/proc/.../stat` line: field 19, the 17th after the command's `)`.
fn nice_in(stat: &str) -> Option<i32> {
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(16)?
        .parse()
        .ok()
}

/// The nice value this test runs at: umbra's run thread keeps it.
fn own_nice() -> i32 {
    fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| nice_in(&s))
        .unwrap_or(0)
}

/// Backs up `src` with `extra` flags, sampling the threads' priorities and the session's
/// autogroup every 50 ms until it ends.
fn sampled_backup(env: &Env, src: &std::path::Path, extra: &[&str]) -> Sampled {
    let started = Instant::now();
    let mut child = env
        .umbra()
        .arg("backup")
        .args(extra)
        .arg(src)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("umbra backup");
    let mut seen = Vec::new();
    let mut settled = Vec::new();
    let mut autogroup = Vec::new();
    let pid = i32::try_from(child.id()).expect("pid");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Sampled {
                threads: seen,
                settled,
                main_tid: pid,
                autogroup,
                took: started.elapsed(),
                code: status.code(),
            };
        }
        let now = threads(child.id());
        if started.elapsed() >= Duration::from_millis(500) {
            settled.extend(now.iter().copied());
        }
        seen.extend(now);
        autogroup.extend(autogroup_nice(&child.id().to_string()));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A low backup of `src` read at 1 MB/s, returned once its session is seen lowered (give
/// it megabytes to read).
#[track_caller]
fn lowered_backup(env: &Env, src: &std::path::Path) -> std::process::Child {
    let mut child = env
        .umbra()
        .args(["backup", "--limit-read", "1"])
        .arg(src)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("umbra backup");
    let pid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while autogroup_nice(&pid) != Some(19) && Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("the backup ended ({status}) before its session was seen lowered: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        autogroup_nice(&pid),
        Some(19),
        "the session was never lowered"
    );
    child
}

fn source(env: &Env, mb: usize) -> std::path::PathBuf {
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = common::Rng(18);
    for i in 0..mb {
        fs::write(src.join(format!("f{i}")), rng.bytes(1_000_000)).expect("write");
    }
    src
}

#[test]
fn low_priority_lowers_the_readers_and_the_read_limit_paces_them() {
    let _turn = turn();
    let env = Env::new();
    env.init();
    let src = source(&env, 6);
    // 6 MB at 2 MB/s: about 3 s, time enough to look at the threads.
    let base = own_nice();
    assert!(
        base < 19,
        "the test runs at nice {base}: nothing could be seen lowered"
    );
    // umbra runs in this test's session: its autogroup is ours.
    let session = autogroup_nice("self");
    // Beside other work that uses a CPU, so that the low work leaves one free throughout.
    let spinner = Spinner::start();
    let Sampled {
        threads: seen,
        settled,
        main_tid,
        autogroup,
        took,
        code,
    } = sampled_backup(&env, &src, &["--limit-read", "2"]);
    drop(spinner);
    assert_eq!(code, Some(0));
    match session {
        Some(before) if before < 19 => {
            assert!(
                autogroup.contains(&19),
                "the session's autogroup was never at nice 19 during a low backup: {autogroup:?}"
            );
            assert_eq!(
                autogroup.first(),
                Some(&before),
                "the session was lowered before the snapshot: {autogroup:?}"
            );
            assert_eq!(
                autogroup_nice("self"),
                Some(before),
                "the session's autogroup was not put back"
            );
        }
        Some(before) => eprintln!(
            "NOT CHECKED: the session's autogroup is already at nice {before}, nothing could be seen lowered"
        ),
        None => eprintln!("NOT CHECKED: this kernel has no autogroups (/proc/self/autogroup)"),
    }
    let lowered: Vec<_> = seen.iter().filter(|t| t.1 == 19).collect();
    assert!(
        !lowered.is_empty(),
        "no thread ran at nice 19 during a low-priority backup: {seen:?}"
    );
    assert!(
        lowered.iter().all(|t| (t.2, t.3) == (3, 0)),
        "a lowered thread is not in the idle I/O class: {lowered:?}"
    );
    // A short CPU slice where the kernel has one per thread (Linux 6.12 on), and the run's
    // own thread keeps the kernel's.
    let short = umbra_jobs::priority::slice::LOW_SLICE_NS;
    if seen.iter().any(|t| t.5 != 0) {
        assert!(
            lowered.iter().all(|t| t.5 == short),
            "a lowered thread runs with another CPU slice than {short} ns: {lowered:?}"
        );
        assert!(
            seen.iter()
                .filter(|t| t.0 == main_tid)
                .all(|t| t.5 != short),
            "the run's own thread got the low work's slice: {seen:?}"
        );
        eprintln!("measured: lowered threads ask for a {short} ns CPU slice");
    } else {
        eprintln!("NOT CHECKED: this kernel (before Linux 6.12) has no CPU slice per thread");
    }
    assert!(
        seen.iter().filter(|t| t.0 == main_tid).all(|t| t.1 == base),
        "the run's own thread (snapshot, freeze, commands) was lowered: {seen:?}"
    );
    // Beside other work, low work leaves the first of this machine's CPUs free from the
    // watcher's first look on; the run's own thread keeps them all.
    let cpus = allowed_cpus(0);
    if cpus >= 2 {
        let lowered: Vec<_> = settled.iter().filter(|t| t.1 == 19).collect();
        assert!(
            !lowered.is_empty(),
            "the backup ended within 500 ms: {settled:?}"
        );
        assert!(
            lowered.iter().all(|t| t.4 == cpus - 1),
            "a lowered thread may run on other than {} of the {cpus} CPUs: {lowered:?}",
            cpus - 1
        );
        assert!(
            seen.iter().filter(|t| t.0 == main_tid).all(|t| t.4 == cpus),
            "the run's own thread lost a CPU: {seen:?}"
        );
        eprintln!("measured: lowered threads on {} of {cpus} CPUs", cpus - 1);
    } else {
        eprintln!("NOT CHECKED: this test may use {cpus} CPU(s); one is left free from two on");
    }
    // The limit is a ceiling: 6 MB cannot have been read in much less than 3 s.
    assert!(
        took >= Duration::from_millis(2400),
        "6 MB read in {took:?} under --limit-read 2"
    );
    eprintln!("measured: 6 MB under --limit-read 2 MB/s took {took:?}");

    // `--priority normal`: nothing is lowered.
    fs::write(src.join("new"), "changed").expect("write");
    let normal = sampled_backup(&env, &src, &["--priority", "normal", "--limit-read", "20"]);
    assert_eq!(normal.code, Some(0));
    assert!(
        normal.threads.iter().all(|t| t.1 == base && t.4 == cpus),
        "a thread was lowered under --priority normal: {:?}",
        normal.threads
    );
    assert!(
        normal.autogroup.iter().all(|n| Some(*n) == session),
        "the session was lowered under --priority normal: {:?}",
        normal.autogroup
    );

    // Interrupted while lowered: a signal runs no destructor, so the session comes back
    // through the release actions of the CLI's handler.
    if let Some(before) = session.filter(|n| *n < 19) {
        // 3 MB to read at 1 MB/s: the low work lasts long enough to be seen.
        fs::write(src.join("newer"), common::Rng(19).bytes(3_000_000)).expect("write");
        let child = lowered_backup(&env, &src);
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGINT) };
        let out = child.wait_with_output().expect("umbra");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(err.contains("the session's CPU priority"), "{err}");
        assert_eq!(
            autogroup_nice("self"),
            Some(before),
            "an interrupted backup left the session at nice 19: {err}"
        );

        // SIGKILL runs nothing: the session stays lowered until the next low work in it
        // finds the record of an umbra that is gone, and puts the value back.
        fs::write(src.join("newest"), common::Rng(20).bytes(3_000_000)).expect("write");
        let mut child = lowered_backup(&env, &src);
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        assert_eq!(
            autogroup_nice("self"),
            Some(19),
            "SIGKILL cannot put it back"
        );
        let next = sampled_backup(&env, &src, &[]);
        assert_eq!(next.code, Some(0));
        assert_eq!(
            autogroup_nice("self"),
            Some(before),
            "the run after a SIGKILL did not put the session back: {:?}",
            next.autogroup
        );
    }

    // Bad values are refused with what to do.
    for (flag, value, says) in [
        ("--limit-read", "0", "--limit-read 0 reads nothing"),
        ("--priority", "idle", "invalid value 'idle'"),
    ] {
        let out = env
            .umbra()
            .args(["backup", flag, value])
            .arg(&src)
            .output()
            .expect("umbra");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{flag} {value}: {err}"
        );
    }
}

/// The open flags of every file `pid` holds open whose path ends with `name`, every 20 ms
/// until it exits: (path, flags) as `/proc/PID/fdinfo` shows them.
fn open_flags_while_running(mut child: std::process::Child, name: &str) -> Vec<(String, i32)> {
    let pid = child.id();
    let mut seen = Vec::new();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            assert!(status.success(), "{err}");
            return seen;
        }
        for fd in fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy().into_owned();
            if !target.ends_with(name) {
                continue;
            }
            let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
            let flags = fs::read_to_string(info).ok().and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("flags:"))?;
                i32::from_str_radix(line.trim_start_matches("flags:").trim(), 8).ok()
            });
            if let Some(flags) = flags {
                seen.push((target, flags));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// On an idle machine a low backup's lowered threads get every CPU back; once other work
/// starts beside it, they leave the first CPU free again within a few of the watcher's
/// ticks.
#[test]
fn low_priority_gives_the_spare_cpu_back_while_the_machine_is_idle_and_takes_it_again() {
    let _turn = turn();
    let cpus = allowed_cpus(0);
    if cpus < 2 {
        eprintln!("NOT CHECKED: this test may use {cpus} CPU(s); one is left free from two on");
        return;
    }
    let env = Env::new();
    env.init();
    let src = source(&env, 8);
    // 8 MB at 2 MB/s: about 4 s, nothing else running: the watcher's first look (50 ms,
    // before the low work starts) finds the machine idle, and the lowered threads keep
    // every CPU.
    let idle = sampled_backup(&env, &src, &["--limit-read", "2"]);
    assert_eq!(idle.code, Some(0));
    let lowered: Vec<_> = idle.settled.iter().filter(|t| t.1 == 19).collect();
    let wide = lowered.iter().filter(|t| t.4 == cpus).count();
    assert!(
        wide > 0,
        "no lowered thread got the spare CPU back on an idle machine in {:?}: {lowered:?}",
        idle.took
    );
    eprintln!(
        "measured: on an idle machine {wide} of {} samples of lowered threads on all {cpus} CPUs",
        lowered.len()
    );

    // Other work starting halfway: the spare CPU is left free again within a tick or two.
    fs::write(src.join("more"), common::Rng(22).bytes(2_000_000)).expect("write");
    let mut child = env
        .umbra()
        .args(["backup", "--limit-read", "1", "--keep-base", "never"])
        .arg(&src)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("umbra backup");
    let pid = child.id();
    let mut before = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until the watcher has widened (10 MB at 1 MB/s leaves time for it).
    while !before.iter().any(|t: &Sample| t.1 == 19 && t.4 == cpus) && Instant::now() < deadline {
        before.extend(threads(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let spinner = Spinner::start();
    // Two ticks and a margin, then every lowered thread must be off the first CPU.
    std::thread::sleep(Duration::from_millis(800));
    let after = threads(pid);
    drop(spinner);
    // SIGINT, not SIGKILL: the backup puts the session's autogroup back as it ends.
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(i32::try_from(pid).expect("pid"), libc::SIGINT) };
    let _ = child.wait();
    assert!(
        before.iter().any(|t| t.1 == 19 && t.4 == cpus),
        "the second backup never got the spare CPU: {before:?}"
    );
    let lowered_after: Vec<_> = after.iter().filter(|t| t.1 == 19).collect();
    assert!(
        !lowered_after.is_empty(),
        "the backup ended too soon: {after:?}"
    );
    assert!(
        lowered_after.iter().all(|t| t.4 == cpus - 1),
        "beside a spinning process the lowered threads kept every CPU: {lowered_after:?}"
    );
}

/// The kernel's view of how a backup reads a 24 MiB file of a btrfs source, paced to last
/// a few seconds: low priority reads the volume snapshot's copy with `O_DIRECT`, normal
/// priority reads it through the page cache, and a live file (no volume snapshot) is
/// never read direct (that would make the kernel write the application's dirty pages
/// back first).
#[test]
fn low_priority_reads_a_volume_snapshots_large_files_around_the_page_cache() {
    let _turn = turn();
    let env = Env::new();
    let Some(lfs) = common::LoopFs::new("btrfs", env.dir.path(), 300) else {
        return;
    };
    env.init();
    let src = lfs.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = common::Rng(21);
    let mut backup = |name: &str, extra: &[&str]| {
        fs::write(src.join(name), rng.bytes(24 << 20)).expect("write");
        let child = env
            .umbra()
            .args(["backup", "--limit-read", "8", "--keep-base", "never"])
            .args(extra)
            .arg(&src)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("umbra backup");
        open_flags_while_running(child, name)
    };
    let direct = |seen: &[(String, i32)]| seen.iter().all(|(_, f)| f & libc::O_DIRECT != 0);
    let buffered = |seen: &[(String, i32)]| seen.iter().all(|(_, f)| f & libc::O_DIRECT == 0);

    let low = backup("low.img", &["--snapshot", "btrfs"]);
    assert!(!low.is_empty(), "the file was never seen open");
    assert!(
        low.iter().all(|(p, _)| p.contains(".umbra-snapshots")),
        "read from elsewhere than the snapshot: {low:?}"
    );
    assert!(
        direct(&low),
        "a low backup read the snapshot's file buffered: {low:?}"
    );

    let normal = backup(
        "normal.img",
        &["--snapshot", "btrfs", "--priority", "normal"],
    );
    assert!(!normal.is_empty(), "the file was never seen open");
    assert!(
        normal.iter().all(|(p, _)| p.contains(".umbra-snapshots")),
        "read from elsewhere than the snapshot: {normal:?}"
    );
    assert!(
        buffered(&normal),
        "--priority normal read direct: {normal:?}"
    );

    let live = backup("live.img", &["--open-files", "off"]);
    assert!(!live.is_empty(), "the file was never seen open");
    assert!(
        live.iter().all(|(p, _)| !p.contains(".umbra-snapshots")),
        "{live:?}"
    );
    assert!(buffered(&live), "a live file was read direct: {live:?}");
    eprintln!(
        "measured: {} samples of the snapshot's file open with O_DIRECT at low, {} and {} without at normal and live",
        low.len(),
        normal.len(),
        live.len()
    );
}
