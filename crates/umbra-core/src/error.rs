//! The error policy.
//!
//! Every error that reaches a user is an [`UmbraError`]: a [`ErrorKind`] that says what
//! class of problem it is (and so which exit code it gives), a one-line message that
//! names the problem, and a hint that says what to do about it. Lower layers (the
//! repository library, the OS) keep their own error as the `source`, so `-v` can show the
//! full chain, but the first line a user reads is always ours.
//!
//! Rules:
//! - Name the thing: the path, the repository, the snapshot id. Never the password.
//! - Say what to do next in the hint, in the imperative ("Run `umbra init` ...").
//! - Non-fatal trouble (one unreadable file among thousands) is not an error: it is an
//!   [`crate::Event`] sent to the monitor, and the command carries on.

use std::fmt;

/// What class of problem an error is. Each kind has a fixed exit code and a default hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The password does not open any key in the repository.
    WrongPassword,
    /// No repository exists at the given location.
    RepositoryMissing,
    /// A directory exists, but it holds no repository (no `config` file).
    RepositoryNotInitialised,
    /// `init` was asked for a location that already holds a repository.
    RepositoryExists,
    /// Another process holds a lock that conflicts with this command.
    RepositoryLocked,
    /// No password source was given and none can be asked for.
    PasswordMissing,
    /// A backup source does not exist or cannot be read at all.
    SourceUnreadable,
    /// The disk (or quota) holding the repository or restore target is full.
    DiskFull,
    /// The command line or a value in it is not valid.
    InvalidInput,
    /// A snapshot id, `latest` or a path did not match anything.
    NotFound,
    /// The repository's data is damaged (found by `check`, or while reading).
    RepositoryDamaged,
    /// The job file is not valid: a syntax error, an unknown key, a wrong type, a
    /// missing path. The message starts with `FILE:LINE: KEY:`.
    Config,
    /// A job is already running in another process.
    JobRunning,
    /// One of the user's commands failed (its `on_error` policy is `fail`), or a phase of
    /// a job failed.
    JobFailed,
    /// The operating system refused an operation (permissions, I/O errors).
    Io,
    /// A bug in umbra or a library: not the user's fault.
    Internal,
}

impl ErrorKind {
    /// The default advice for this kind of problem; an error may carry a more precise one.
    #[must_use]
    pub fn default_hint(self) -> &'static str {
        match self {
            Self::WrongPassword => {
                "Check the password source (--password-file, UMBRA_PASSWORD_FILE, \
                 UMBRA_PASSWORD_COMMAND, UMBRA_PASSWORD): it must hold a password of one of \
                 the repository's keys (`umbra key list` shows them)."
            }
            Self::RepositoryMissing => {
                "Check the path given with -r/--repo or UMBRA_REPOSITORY, or create a \
                 repository there with `umbra init`."
            }
            Self::RepositoryNotInitialised => {
                "The directory exists but holds no repository. Run `umbra init` to create one \
                 there, or point -r/--repo at the right directory."
            }
            Self::RepositoryExists => {
                "Use the existing repository, or choose another location for a new one."
            }
            Self::RepositoryLocked => {
                "Wait for the other umbra or restic process to finish. If it is gone (crashed \
                 or killed), remove its stale lock with `umbra unlock`."
            }
            Self::PasswordMissing => {
                "Give the password with --password-file, --password-command, \
                 UMBRA_PASSWORD_FILE, UMBRA_PASSWORD_COMMAND or UMBRA_PASSWORD (restic's \
                 RESTIC_PASSWORD* work too), or run umbra on a terminal to be asked for it."
            }
            Self::SourceUnreadable => {
                "Check that the path exists and that this user may read it (run as root to \
                 back up other users' files)."
            }
            Self::DiskFull => {
                "Free space on the disk that holds the repository (or the restore target), \
                 then run the command again. Nothing written so far is referenced by a \
                 snapshot; `umbra prune` reclaims it, but prune itself needs some free space \
                 (for its lock and new index files): free that by other means first."
            }
            Self::InvalidInput => "See `umbra help` for the accepted values.",
            Self::NotFound => "List the snapshots with `umbra snapshots`.",
            Self::RepositoryDamaged => {
                "Run `umbra check --read-data` to see the extent of the damage, and keep a copy \
                 of the repository before repairing anything."
            }
            Self::Config => {
                "Fix the job file at the line named; `umbra config check` validates it \
                 without running anything."
            }
            Self::JobRunning => {
                "Wait for the running job to finish (`umbra history JOB` shows its runs). A \
                 crashed run holds no lock: the lock is released with its process."
            }
            Self::JobFailed => {
                "The run's log (`umbra history JOB -v` names it; `umbra history -v` for an \
                 ad-hoc backup) holds each command's output and exit code."
            }
            Self::Io => "Check permissions and the health of the disk, then try again.",
            Self::Internal => {
                "This is a bug in umbra. Please report it with the output of the command run \
                 with -v."
            }
        }
    }
}

/// An error for a user to read: what went wrong, and what to do about it.
#[derive(Debug)]
pub struct UmbraError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result type used throughout umbra.
pub type Result<T, E = UmbraError> = std::result::Result<T, E>;

impl UmbraError {
    /// A new error of `kind` with a message that names the problem.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// Replaces the kind's default hint with a more precise one.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Keeps the lower-level cause, shown with `-v`.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// An I/O error on `path`, classified: a full disk and a missing path get their own kinds.
    pub fn io(what: impl fmt::Display, path: &std::path::Path, err: std::io::Error) -> Self {
        let kind = match err.raw_os_error() {
            Some(28) | Some(122) => ErrorKind::DiskFull, // ENOSPC, EDQUOT
            _ => ErrorKind::Io,
        };
        Self::new(kind, format!("{what} {}: {err}", path.display())).with_source(err)
    }

    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The advice for the user: the precise one if set, else the kind's default.
    #[must_use]
    pub fn hint(&self) -> &str {
        self.hint
            .as_deref()
            .unwrap_or_else(|| self.kind.default_hint())
    }

    /// The chain of lower-level causes, outermost first.
    #[must_use]
    pub fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(e) = cur {
            out.push(e.to_string());
            cur = e.source();
        }
        out
    }
}

impl fmt::Display for UmbraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UmbraError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_classified_as_disk_full() {
        let err = UmbraError::io(
            "cannot write",
            std::path::Path::new("/repo/data/00/x"),
            std::io::Error::from_raw_os_error(28),
        );
        assert_eq!(err.kind(), ErrorKind::DiskFull);
        assert!(err.message().contains("/repo/data/00/x"));
        assert!(err.hint().contains("Free space"));
    }

    #[test]
    fn precise_hint_overrides_default() {
        let err = UmbraError::new(ErrorKind::NotFound, "no snapshot abc").with_hint("try latest");
        assert_eq!(err.hint(), "try latest");
    }
}
