//! Files umbra creates are private, whatever the umask it was started with.
//!
//! The repository, the password file, the job file's folder, state, cache and staged
//! copies hold backups or secrets: they are created 0700 (folders) and 0600 (files), as
//! restic does, even under `umask 000`. umbra sets a umask of 077 for itself at start
//! ([`make_private`]) and gives the user's own commands (hooks, freeze/thaw commands) the
//! umask umbra was started with ([`inherited`]), so that what they create is as the user
//! expects. Restored files get the modes the snapshot recorded, set explicitly.

use std::sync::atomic::{AtomicU32, Ordering};

static INHERITED: AtomicU32 = AtomicU32::new(0o022);

/// Sets the process umask to 077, remembering the one umbra was started with. Windows has
/// no umask: files there inherit the folder's ACL, and this does nothing.
pub fn make_private() {
    #[cfg(unix)]
    set_private();
}

#[cfg(unix)]
fn set_private() {
    // SAFETY: umask cannot fail; it only swaps the process's mask.
    let old = unsafe { libc::umask(0o077) };
    // mode_t is u32 on Linux and u16 elsewhere.
    #[allow(clippy::useless_conversion)]
    INHERITED.store(u32::from(old), Ordering::Relaxed);
}

/// The umask umbra was started with, for the user's commands.
#[must_use]
pub fn inherited() -> u32 {
    INHERITED.load(Ordering::Relaxed)
}
