//! Never leave a service frozen: a guardian process outside umbra, and a record on disk.
//!
//! A cgroup frozen by umbra stays frozen until someone thaws it. umbra's own thaw paths
//! (the run, the watchdog at the bound, SIGINT/SIGTERM) all die with umbra: a `kill -9`,
//! the OOM killer or a crash would leave a web server or a database stopped until the next
//! umbra run. So before the freeze:
//!
//! - **A record** (`STATE/frozen/PID-NAME.json`, written and synced) names the cgroups. It
//!   is removed after the thaw; one whose owner is gone is thawed by the next run and by
//!   `umbra cleanup`, which say so.
//! - **A guardian**, forked before the freeze: its own session, moved to the root of the
//!   v2 hierarchy (so that stopping umbra's service, which kills umbra's cgroup, spares
//!   it), holding the read end of a pipe whose write end only umbra holds. When umbra ends
//!   the freeze normally it says so on the pipe and the guardian exits. When umbra dies in
//!   any way, the kernel closes the write end, the guardian sees the hang-up at once and
//!   thaws. If umbra hangs (or is stopped with SIGSTOP) the guardian thaws at its own
//!   deadline, one second after the freeze's bound.
//!
//! Why a pipe and not only `PR_SET_PDEATHSIG`: the parent-death signal fires when the
//! *thread* that forked exits, not the process, and umbra forks from whichever thread runs
//! the freeze; the pipe's hang-up comes exactly when the last holder, the process, is gone.
//!
//! The child of `fork` in a threaded program may only make async-signal-safe calls: every
//! path and value it needs is prepared before the fork, and it allocates nothing.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_snapshot::registry::Owner;

use super::cgroup::{Cgroup, Hierarchies};

/// The guardian of one freeze. Dropped without [`Guardian::dismiss`], it thaws.
pub struct Guardian {
    pid: libc::pid_t,
    /// The pipe's write end: closing it without a word means "thaw now".
    done: libc::c_int,
}

fn cstring(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| {
        UmbraError::new(
            ErrorKind::InvalidInput,
            format!("{} holds a NUL byte", p.display()),
        )
    })
}

impl Guardian {
    /// Forks the guardian for `cgroups` and `paused` containers; it thaws them if umbra
    /// dies, or after `deadline`.
    pub fn start(
        cgroups: &[Cgroup],
        paused: &[Paused],
        deadline: Duration,
        hierarchies: &Hierarchies,
    ) -> Result<Self> {
        // Everything the child needs, prepared before the fork.
        let writes: Vec<(CString, &'static [u8])> = cgroups
            .iter()
            .map(|c| {
                let (path, value) = c.thaw_write();
                cstring(&path).map(|p| (p, value.as_bytes()))
            })
            .collect::<Result<_>>()?;
        let execs: Vec<Exec> = paused
            .iter()
            .map(Paused::unpause_exec)
            .collect::<Result<_>>()?;
        let commands: Vec<(&CString, Vec<*const libc::c_char>)> =
            execs.iter().map(|e| (&e.program, e.argv())).collect();
        let procs = hierarchies
            .v2
            .as_ref()
            .map(|root| cstring(&root.join("cgroup.procs")))
            .transpose()?;
        let timeout_ms = i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX);
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: a valid array of two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(
                UmbraError::new(ErrorKind::Io, "cannot create the freeze guardian's pipe")
                    .with_source(std::io::Error::last_os_error()),
            );
        }
        let [read_end, write_end] = fds;
        // SAFETY: fork; the child below makes only async-signal-safe calls and exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let err = std::io::Error::last_os_error();
            // SAFETY: both descriptors were opened above.
            unsafe {
                libc::close(read_end);
                libc::close(write_end);
            }
            return Err(
                UmbraError::new(ErrorKind::Io, "cannot start the freeze guardian").with_source(err),
            );
        }
        if pid == 0 {
            // SAFETY: async-signal-safe calls only; never returns.
            unsafe {
                guard(
                    read_end,
                    write_end,
                    procs.as_ref(),
                    &writes,
                    &commands,
                    timeout_ms,
                )
            }
        }
        // SAFETY: the parent keeps only the write end.
        unsafe { libc::close(read_end) };
        Ok(Self {
            pid,
            done: write_end,
        })
    }

    /// The freeze ended and everything was thawed: the guardian exits without a thaw.
    pub fn dismiss(mut self) {
        // SAFETY: the descriptor is ours; one byte from a valid buffer.
        unsafe { libc::write(self.done, b"d".as_ptr().cast(), 1) };
        self.close_and_wait();
    }

    fn close_and_wait(&mut self) {
        if self.done >= 0 {
            // SAFETY: ours, closed once.
            unsafe { libc::close(self.done) };
            self.done = -1;
        }
        if self.pid > 0 {
            let mut status = 0;
            // SAFETY: our own child.
            unsafe { libc::waitpid(self.pid, &mut status, 0) };
            self.pid = 0;
        }
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        // Closing the pipe without a word: the guardian thaws (again; thawing is idempotent).
        self.close_and_wait();
    }
}

/// The guardian's whole life, in the forked child.
///
/// # Safety
/// Call only in the child of `fork`: it uses raw system calls and ends with `_exit`.
unsafe fn guard(
    read_end: libc::c_int,
    write_end: libc::c_int,
    procs: Option<&CString>,
    writes: &[(CString, &'static [u8])],
    commands: &[(&CString, Vec<*const libc::c_char>)],
    timeout_ms: i64,
) -> ! {
    libc::close(write_end);
    libc::setsid();
    if let Some(procs) = procs {
        // Out of umbra's cgroup: "0" moves the writer itself.
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
        }
    }
    let mut start = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut start);
    let thaw = loop {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
        let elapsed =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1_000_000;
        let left = timeout_ms.saturating_sub(elapsed);
        if left <= 0 {
            break true;
        }
        let mut pfd = libc::pollfd {
            fd: read_end,
            events: libc::POLLIN,
            revents: 0,
        };
        let n = libc::poll(
            &mut pfd,
            1,
            libc::c_int::try_from(left).unwrap_or(libc::c_int::MAX),
        );
        if n < 0 {
            continue; // EINTR
        }
        if n == 0 {
            break true; // the deadline
        }
        let mut byte = 0u8;
        let got = libc::read(read_end, (&mut byte as *mut u8).cast(), 1);
        // A word from umbra: done. End of file (umbra is gone) or an error: thaw.
        break !(got == 1 && byte == b'd');
    };
    if thaw {
        for (path, value) in writes {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, value.as_ptr().cast(), value.len());
                libc::close(fd);
            }
        }
        for (program, argv) in commands {
            let pid = libc::fork();
            if pid == 0 {
                libc::execve(program.as_ptr(), argv.as_ptr(), environ);
                libc::_exit(127);
            }
            if pid > 0 {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
            }
        }
    }
    libc::_exit(i32::from(thaw))
}

extern "C" {
    /// The process's environment, for `execve` in the guardian.
    static environ: *const *const libc::c_char;
}

/// A container paused through its engine (`docker pause`), where its cgroup cannot be
/// frozen directly (a rootless or remote engine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// `docker` or `podman`, as found on PATH when the job resolved it.
    pub engine: PathBuf,
    pub name: String,
}

/// A command ready for `execve`: the program's absolute path and its arguments.
struct Exec {
    program: CString,
    args: Vec<CString>,
}

impl Exec {
    /// The null-terminated argument vector; valid while `self` lives.
    fn argv(&self) -> Vec<*const libc::c_char> {
        self.args
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    }
}

impl Paused {
    fn unpause_exec(&self) -> Result<Exec> {
        let arg = |s: &str| {
            CString::new(s).map_err(|_| {
                UmbraError::new(ErrorKind::InvalidInput, format!("`{s}` holds a NUL byte"))
            })
        };
        Ok(Exec {
            program: cstring(&self.engine)?,
            args: vec![cstring(&self.engine)?, arg("unpause")?, arg(&self.name)?],
        })
    }

    /// `ENGINE pause NAME`, at most until `deadline`.
    pub fn pause(&self, deadline: std::time::Instant) -> Result<()> {
        self.run(
            "pause",
            deadline.saturating_duration_since(std::time::Instant::now()),
        )
    }

    /// `ENGINE unpause NAME`; whether it was paused. A container that is not paused (any
    /// more) counts as thawed.
    pub fn unpause(&self) -> Result<bool> {
        match self.run("unpause", Duration::from_secs(30)) {
            Ok(()) => Ok(true),
            Err(e) if e.message().contains("not paused") => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn run(&self, verb: &str, timeout: Duration) -> Result<()> {
        let what = format!("`{} {verb} {}`", self.engine.display(), self.name);
        let mut child = std::process::Command::new(&self.engine)
            .args([verb, &self.name])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| {
                UmbraError::new(ErrorKind::JobFailed, format!("cannot run {what}: {e}"))
            })?;
        let started = std::time::Instant::now();
        loop {
            let status = child.try_wait().map_err(|e| {
                UmbraError::new(ErrorKind::JobFailed, format!("cannot wait for {what}: {e}"))
            })?;
            if let Some(status) = status {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return if status.success() {
                    Ok(())
                } else {
                    Err(UmbraError::new(
                        ErrorKind::JobFailed,
                        format!("{what} failed: {}", err.trim()),
                    ))
                };
            }
            if started.elapsed() >= timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(UmbraError::new(
                    ErrorKind::JobFailed,
                    format!("{what} did not finish in {:.1} s", timeout.as_secs_f64()),
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// `program` as found on PATH (the guardian's `execve` searches nothing).
#[must_use]
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// The record of one freeze, on disk while it lasts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrozenRecord {
    pub owner: Owner,
    pub quiescer: String,
    pub cgroups: Vec<Cgroup>,
    #[serde(default)]
    pub paused: Vec<Paused>,
}

fn records_dir() -> Result<PathBuf> {
    Ok(umbra_snapshot::registry::state_dir()?.join("frozen"))
}

impl FrozenRecord {
    /// Writes the record (synced) before anything is frozen; returns its path.
    pub fn write(quiescer: &str, cgroups: &[Cgroup], paused: &[Paused]) -> Result<PathBuf> {
        let dir = records_dir()?;
        std::fs::create_dir_all(&dir).map_err(|e| UmbraError::io("cannot create", &dir, e))?;
        let safe: String = quiescer
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{}-{safe}.json", std::process::id()));
        let record = Self {
            owner: Owner::this_process(),
            quiescer: quiescer.to_string(),
            cgroups: cgroups.to_vec(),
            paused: paused.to_vec(),
        };
        let body = serde_json::to_vec_pretty(&record).map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot write the freeze record").with_source(e)
        })?;
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            umbra_core::os::sync_dir(&dir)
        };
        write().map_err(|e| UmbraError::io("cannot write the freeze record", &path, e))?;
        Ok(path)
    }
}

/// What the sweep did with one cgroup (or paused container) left on record by a run
/// that is gone.
#[derive(Debug, Clone)]
pub struct Thawed {
    /// The cgroup's directory, or `container NAME`.
    pub cgroup: PathBuf,
    pub pid: u32,
    /// Whether it was still frozen (its guardian did not get to it).
    pub was_frozen: bool,
    pub error: Option<String>,
}

/// Thaws every cgroup left on record by a run that is gone, and forgets the records.
pub fn thaw_leftovers() -> Result<Vec<Thawed>> {
    let dir = records_dir()?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(UmbraError::io("cannot read", &dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries.filter_map(std::result::Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "tmp") {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<FrozenRecord>(&text) else {
            continue;
        };
        if record.owner.is_alive() {
            continue;
        }
        let mut failed = false;
        for c in &record.cgroups {
            let was_frozen = c.is_frozen().unwrap_or(false);
            let error = c.thaw().err().map(|e| e.message().to_string());
            failed |= error.is_some();
            out.push(Thawed {
                cgroup: c.dir.clone(),
                pid: record.owner.pid,
                was_frozen,
                error,
            });
        }
        for p in &record.paused {
            let (was_frozen, error) = match p.unpause() {
                Ok(was) => (was, None),
                Err(e) => (false, Some(e.message().to_string())),
            };
            failed |= error.is_some();
            out.push(Thawed {
                cgroup: PathBuf::from(format!("container {}", p.name)),
                pid: record.owner.pid,
                was_frozen,
                error,
            });
        }
        if !failed {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(out)
}

/// Forgets this process's record of a freeze that was thawed.
pub fn forget(record: &Path) {
    let _ = std::fs::remove_file(record);
}
