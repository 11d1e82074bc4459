//! Who may write a job file that root runs.

use std::path::Path;

use umbra_core::Result;
#[cfg(unix)]
use umbra_core::{ErrorKind, UmbraError};

/// A job file runs its commands as the user who runs umbra. As root, a job file (or its
/// folder) that another user can write would let that user run commands as root: refuse
/// it, as sshd refuses such key files.
///
/// On Windows the question is one of ACLs, which umbra does not read yet: nothing is
/// refused there.
#[cfg(windows)]
pub(super) fn refuse_foreign_writers(_file: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
pub(super) fn refuse_foreign_writers(file: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !umbra_core::os::is_privileged() {
        return Ok(());
    }
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    for path in [Some(abs.as_path()), abs.parent()].into_iter().flatten() {
        let Ok(m) = std::fs::metadata(path) else {
            continue;
        };
        let sticky_dir = m.is_dir() && m.mode() & 0o1000 != 0;
        let others_write = m.mode() & 0o022 != 0 && !sticky_dir;
        if m.uid() != 0 || others_write {
            return Err(UmbraError::new(
                ErrorKind::Config,
                format!(
                    "refusing the job file {}: {} is {} (mode {:o}); as root, its commands would \
                     run as root for whoever can change it",
                    file.display(),
                    path.display(),
                    if m.uid() == 0 {
                        "writable by other users".to_string()
                    } else {
                        format!("owned by uid {}", m.uid())
                    },
                    m.mode() & 0o7777
                ),
            )
            .with_hint(format!(
                "Make it root's alone: `chown root: {0} && chmod go-w {0}`.",
                path.display()
            )));
        }
    }
    Ok(())
}
