//! The master keys this process has opened repositories with.
//!
//! Why: opening a repository derives its key from the password with scrypt (0.11-0.18 s
//! on 2 cores, the largest fixed cost of a small command), and one job run opens its
//! repository up to three times: the pre-flight, the backup, and the size for the
//! metrics. A no-change backup of 21,000 files paid 0.35 s of its 0.9 s for the second and
//! third derivations. A repository opened again in the same process with the same
//! password is opened with the master key the first open found. Its config is still read
//! and decrypted with that key, so a key that does not fit (another repository now at the
//! same place) fails that open, and the caller tries the password as usual.
//!
//! Entries live as long as the process. The password is kept only as a SHA-256 digest,
//! to match the next open against; the master key is what an open repository holds in
//! memory anyway.

use std::sync::Mutex;

use rustic_core::repofile::{KeyId, MasterKey};
use sha2::Digest;

struct Opened {
    location: String,
    password: [u8; 32],
    key: MasterKey,
    key_id: Option<KeyId>,
}

static OPENED: Mutex<Vec<Opened>> = Mutex::new(Vec::new());

fn digest(password: &str) -> [u8; 32] {
    sha2::Sha256::digest(password.as_bytes()).into()
}

/// The master key (and the id of the key file it came from) that opened `location` with
/// `password` before, in this process.
pub(crate) fn find(location: &str, password: &str) -> Option<(MasterKey, Option<KeyId>)> {
    let password = digest(password);
    let opened = OPENED.lock().ok()?;
    opened
        .iter()
        .find(|o| o.location == location && o.password == password)
        .map(|o| (o.key.clone(), o.key_id))
}

/// Remembers the master key that opened `location` with `password`.
pub(crate) fn remember(location: &str, password: &str, key: MasterKey, key_id: Option<KeyId>) {
    let password = digest(password);
    if let Ok(mut opened) = OPENED.lock() {
        opened.retain(|o| !(o.location == location && o.password == password));
        opened.push(Opened {
            location: location.to_string(),
            password,
            key,
            key_id,
        });
    }
}

/// Forgets what `location` was opened with (a key file removed, a repository created
/// anew there).
pub(crate) fn forget(location: &str) {
    if let Ok(mut opened) = OPENED.lock() {
        opened.retain(|o| o.location != location);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::location::RepoLocation;
    use crate::repo::{OpenOptions, Repo};

    fn open(location: &RepoLocation, password: &str) -> umbra_core::Result<Repo> {
        let options = OpenOptions {
            lock: None,
            bypass_cache: true,
        };
        Repo::open(
            location,
            password,
            options,
            Arc::new(umbra_core::monitor::NullMonitor),
        )
    }

    /// A second open with the same password takes the remembered key and still knows
    /// which key file is current; another password is never let in by the cache.
    #[test]
    fn a_second_open_reuses_the_key_and_a_wrong_password_is_still_refused() {
        let dir = std::env::temp_dir().join(format!("umbra-key-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let location = RepoLocation::local(dir.clone());
        let made = Repo::init(
            &location,
            "right",
            Arc::new(umbra_core::monitor::NullMonitor),
        )
        .expect("init");
        let current = made.key_id;
        drop(made);
        assert!(super::find(&location.to_string(), "right").is_none());
        let first = open(&location, "right").expect("first open");
        assert_eq!(first.key_id, current);
        assert!(super::find(&location.to_string(), "right").is_some());
        let second = open(&location, "right").expect("second open, from the cache");
        assert_eq!(second.key_id, current);
        assert!(second.keys().expect("keys").iter().any(|k| k.current));
        assert!(open(&location, "wrong").is_err());
        assert!(super::find(&location.to_string(), "wrong").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
