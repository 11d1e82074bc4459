//! What must be undone when umbra is interrupted by a signal.
//!
//! A guard (a repository lock today; a volume snapshot or an application freeze later)
//! releases itself on drop. A signal does not run destructors, so each guard also
//! registers a release action here for as long as it lives. The CLI's signal handler
//! calls [`release_all`] before it exits. Whatever a `kill -9` leaves behind is not
//! covered here: that is what the persistent records and the sweep at start-up are for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

type Action = Box<dyn FnOnce() + Send>;

static NEXT: AtomicU64 = AtomicU64::new(1);
static ACTIONS: Mutex<BTreeMap<u64, (String, Action)>> = Mutex::new(BTreeMap::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether [`release_all`] has started: umbra is being interrupted. Actions run newest
/// first, so a command killed by its own action is seen failing before older actions
/// (a job's) have run; code that judges such a failure asks this first.
#[must_use]
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A registration; dropping it unregisters the action without running it.
#[derive(Debug)]
pub struct Registration(u64);

/// Registers `action` (described by `what`) to run if umbra is interrupted.
pub fn on_interrupt(
    what: impl Into<String>,
    action: impl FnOnce() + Send + 'static,
) -> Registration {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut map) = ACTIONS.lock() {
        map.insert(id, (what.into(), Box::new(action)));
    }
    Registration(id)
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut map) = ACTIONS.lock() {
            map.remove(&self.0);
        }
    }
}

/// Runs every registered action, newest first (the reverse of how they were set up), and
/// returns their descriptions.
pub fn release_all() -> Vec<String> {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let actions = match ACTIONS.lock() {
        Ok(mut map) => std::mem::take(&mut *map),
        Err(_) => return Vec::new(),
    };
    let mut done = Vec::new();
    for (_, (what, action)) in actions.into_iter().rev() {
        action();
        done.push(what);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn registered_actions_run_once_and_dropped_ones_never() {
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let _keep = on_interrupt("kept", move || r.store(true, Ordering::SeqCst));
        let dropped = on_interrupt("dropped", || panic!("must not run"));
        drop(dropped);
        let done = release_all();
        assert!(done.contains(&"kept".to_string()));
        assert!(ran.load(Ordering::SeqCst));
        assert!(interrupted());
        assert!(release_all().is_empty());
    }
}
