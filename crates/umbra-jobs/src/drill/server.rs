//! A database server started on a restored copy: a child of umbra, in its own process
//! group, as the data directory's owner, dying with umbra.
//!
//! The parent-death signal (SIGKILL) is set after the switch to the owner's user, since a
//! change of credentials clears it; so even `kill -9` of umbra takes the server with it.
//! The signal follows the *thread* that started the server: servers are started from the
//! drill's own thread, which outlives them.
//!
//! On Windows a server runs as umbra's own user, is ended with `TerminateProcess` (no
//! signals), and ownership is not changed; the Unix-only calls are in this file alone.

use std::fs::File;
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed (with its group) when dropped.
pub struct Server {
    child: Child,
    pub name: &'static str,
}

/// The signals a server is asked to stop with (libc's numbers, the same on every Unix).
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// The uid and gid that own `path` (0 and 0 on Windows).
pub fn owner_of(path: &Path) -> std::io::Result<(u32, u32)> {
    let m = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok((m.uid(), m.gid()))
    }
    #[cfg(windows)]
    {
        let _ = m;
        Ok((0, 0))
    }
}

/// Gives `path` to `owner` (nothing on Windows).
pub fn give_to(path: &Path, owner: (u32, u32)) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1))
    }
    #[cfg(windows)]
    {
        let _ = (path, owner);
        Ok(())
    }
}

/// Makes the directory `dir` private (0700) to `owner` (only the folder's ACL on Windows).
pub fn make_private_to(dir: &Path, owner: (u32, u32)) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    give_to(dir, owner)
}

/// Kills the process group `g` (on Windows, the process `g`).
pub fn kill_group(g: i32) {
    if g <= 1 {
        return;
    }
    #[cfg(unix)]
    // SAFETY: signalling a process group the drill started.
    unsafe {
        libc::kill(-g, libc::SIGKILL);
    }
    #[cfg(windows)]
    {
        let _ = std::process::Command::new("taskkill")
            .args(["/F", "/T", "/PID", &g.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The name of user `uid`, for clients' `-U`.
#[must_use]
pub fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

impl Server {
    /// Starts `cmd` as `owner`, its output appended to `log`.
    pub fn start(
        mut cmd: Command,
        owner: (u32, u32),
        log: &Path,
        name: &'static str,
    ) -> std::io::Result<Self> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        // The log must be writable by the server's user too, for servers that reopen it.
        let _ = give_to(log, owner);
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        #[cfg(unix)]
        cmd.uid(owner.0).gid(owner.1);
        #[cfg(unix)]
        // SAFETY: only async-signal-safe calls (setpgid, prctl, getppid) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // umbra may have died between fork and prctl.
                if libc::getppid() == 1 {
                    libc::_exit(1);
                }
                // Drilled servers run at low priority, beside the production ones.
                libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                Ok(())
            });
        }
        Ok(Self {
            child: cmd.spawn()?,
            name,
        })
    }

    /// Its process group (= its pid).
    #[must_use]
    pub fn pgid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Its exit status, if it has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks it to stop with `signal`, waits up to `grace`, then kills its group.
    /// True when it stopped by itself.
    pub fn stop(mut self, signal: i32, grace: Duration) -> bool {
        #[cfg(unix)]
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.pgid(), signal);
        }
        #[cfg(windows)]
        {
            let _ = signal;
            let _ = self.child.kill();
        }
        let t = Instant::now();
        while t.elapsed() < grace {
            if self.exited().is_some() {
                self.kill_group();
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn kill_group(&mut self) {
        kill_group(self.pgid());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Waits until `ready()` is true, the server ends, or `deadline` passes.
pub fn wait_ready(
    server: &mut Server,
    deadline: Instant,
    ready: &dyn Fn() -> bool,
) -> Result<Duration, String> {
    let t = Instant::now();
    loop {
        if ready() {
            return Ok(t.elapsed());
        }
        if let Some(status) = server.exited() {
            return Err(format!("{} ended during recovery ({status})", server.name));
        }
        if Instant::now() >= deadline {
            return Err("the drill's time limit passed before the server was ready".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What the server's log says went wrong, for an error: its first `PANIC`, `FATAL` or
/// `ERROR` lines (the reason; a server's last lines are mostly its shutdown), then its
/// last `lines` lines.
#[must_use]
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let last = &all[all.len().saturating_sub(lines)..];
    let mut shown: Vec<&str> = all
        .iter()
        .filter(|l| {
            l.contains("PANIC")
                || l.contains("FATAL")
                || l.contains("[ERROR]")
                || l.contains("ERROR:")
        })
        .filter(|l| !last.contains(l))
        .take(2)
        .copied()
        .collect();
    shown.extend_from_slice(last);
    shown.join(" | ")
}

/// Runs a client (a check, a query) to its end or until `deadline`, when it is killed:
/// nothing a drill starts outlives the drill's time limit.
pub fn output_by(cmd: &mut Command, deadline: Instant) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    // SAFETY: only async-signal-safe calls between fork and exec. A client dies with
    // umbra too (Ctrl-C exits while a check may be running).
    #[cfg(unix)]
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut o = Vec::new();
        if let Some(s) = out.as_mut() {
            let _ = s.read_to_end(&mut o);
        }
        o
    });
    let mut e = Vec::new();
    let err_reader = std::thread::spawn(move || {
        if let Some(s) = err.as_mut() {
            let _ = s.read_to_end(&mut e);
        }
        e
    });
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "killed at the drill's time limit",
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(std::process::Output {
        status,
        stdout: reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}
