//! A user's command together with everything it starts, so that a timeout or Ctrl-C
//! stops all of it, not only the shell that started it.
//!
//! On Unix that is a process group: the command starts in a new group (its pid), and the
//! group is signalled. On Windows it is a job object: the command is assigned to a new job
//! right after it starts, the processes it creates join the job, and terminating the job
//! ends them all. Either way the user's command gets the umask (Unix) umbra was started
//! with, not umbra's private one.

use std::process::{Child, Command};

/// Prepares `command` to start as the root of its own tree.
pub(crate) fn prepare(command: &mut Command) {
    imp::prepare(command);
}

/// The command `sh -c SCRIPT` on Unix, `cmd /S /C "SCRIPT"` on Windows.
pub(crate) fn shell(script: &str) -> Command {
    imp::shell(script)
}

/// A started command and its descendants.
pub(crate) struct ProcessTree(imp::Tree);

impl ProcessTree {
    /// Takes charge of `child`, started from a command passed to [`prepare`].
    pub(crate) fn adopt(child: &Child) -> Self {
        Self(imp::Tree::adopt(child))
    }

    /// Asks the tree to end (SIGTERM on Unix; Windows has no polite request: this ends it).
    pub(crate) fn terminate(&self) {
        self.0.terminate();
    }

    /// Ends every process in the tree at once.
    pub(crate) fn kill(&self) {
        self.0.kill();
    }

    /// A handle that can kill the tree from another thread (an interrupt handler).
    pub(crate) fn killer(&self) -> impl Fn() + Send + Sync + 'static {
        let tree = self.0.clone();
        move || tree.kill()
    }
}

/// The signal that ended a process, on Unix.
pub(crate) fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(windows)]
    {
        let _ = status;
        None
    }
}

#[cfg(unix)]
mod imp {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    pub(super) fn prepare(command: &mut Command) {
        command.process_group(0);
        let umask = umbra_core::umask::inherited() as libc::mode_t;
        // SAFETY: umask is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(move || {
                libc::umask(umask);
                Ok(())
            });
        }
    }

    pub(super) fn shell(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script);
        c
    }

    #[derive(Clone)]
    pub(super) struct Tree {
        pgid: i32,
    }

    impl Tree {
        pub(super) fn adopt(child: &Child) -> Self {
            Self {
                pgid: i32::try_from(child.id()).unwrap_or(0),
            }
        }

        fn signal(&self, signal: i32) {
            if self.pgid > 1 {
                // SAFETY: kill(2) with a negative pid signals a process group.
                unsafe { libc::kill(-self.pgid, signal) };
            }
        }

        pub(super) fn terminate(&self) {
            self.signal(libc::SIGTERM);
        }

        pub(super) fn kill(&self) {
            self.signal(libc::SIGKILL);
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::os::windows::io::AsRawHandle;
    use std::os::windows::process::CommandExt;
    use std::process::{Child, Command};
    use std::sync::Arc;

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
    };

    /// `CREATE_NEW_PROCESS_GROUP`: Ctrl-C in umbra's console does not reach the command
    /// directly; umbra ends it through the job.
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;

    pub(super) fn prepare(command: &mut Command) {
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }

    pub(super) fn shell(script: &str) -> Command {
        let mut c = Command::new("cmd");
        // Passed as written: cmd parses its own command line (`/S` strips the outer quotes).
        c.raw_arg(format!("/S /C \"{script}\""));
        c
    }

    /// The job object, closed when the last clone goes.
    struct Job(HANDLE);

    // SAFETY: a job handle may be used from any thread.
    unsafe impl Send for Job {}
    // SAFETY: as above; TerminateJobObject is thread-safe.
    unsafe impl Sync for Job {}

    impl Drop for Job {
        fn drop(&mut self) {
            if !self.0.is_null() {
                // SAFETY: a handle this value owns.
                unsafe { CloseHandle(self.0) };
            }
        }
    }

    #[derive(Clone)]
    pub(super) struct Tree {
        job: Arc<Job>,
        pid: u32,
        /// Whether the child joined the job (it cannot where umbra's own job forbids it).
        in_job: bool,
    }

    impl Tree {
        pub(super) fn adopt(child: &Child) -> Self {
            // SAFETY: an anonymous job with default security; the handle is owned by Job.
            let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
            // SAFETY: both handles are valid; a failure leaves the child outside the job,
            // and `kill` then ends its tree with taskkill.
            let in_job = !job.is_null()
                && unsafe { AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE) } != 0;
            Self {
                job: Arc::new(Job(job)),
                pid: child.id(),
                in_job,
            }
        }

        pub(super) fn terminate(&self) {
            self.kill();
        }

        pub(super) fn kill(&self) {
            if self.in_job {
                // SAFETY: a valid job handle.
                unsafe { TerminateJobObject(self.job.0, 1) };
                return;
            }
            let _ = std::process::Command::new("taskkill")
                .args(["/F", "/T", "/PID", &self.pid.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}
