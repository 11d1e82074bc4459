//! Steps that `umbra backup` and a job's run share.

use umbra_core::{Event, Monitor, Result};
use umbra_snapshot::registry::Registry;
use umbra_snapshot::set::sweep;
use umbra_snapshot::Planner;

/// Releases what crashed runs left behind (snapshots, mounts, clone trees), telling the
/// monitor about each. An item that cannot be released is reported and left for
/// `umbra cleanup`; it does not stop this run.
pub fn sweep_leftovers(monitor: &dyn Monitor) -> Result<()> {
    let registry = Registry::default_location()?;
    let planner = Planner::new()?;
    for s in sweep(&registry, &planner)? {
        let message = match &s.error {
            None => format!(
                "released {} left behind by an earlier run (pid {})",
                s.record.artifact, s.record.owner.pid
            ),
            Some(e) => format!(
                "cannot release {} left behind by an earlier run: {e}",
                s.record.artifact
            ),
        };
        monitor.event(Event::Warning { message });
    }
    #[cfg(unix)]
    for t in crate::quiesce::guardian::thaw_leftovers()? {
        let message = match (&t.error, t.was_frozen) {
            (Some(e), _) => format!(
                "cannot thaw {} left frozen by an earlier run (pid {}): {e}",
                t.cgroup.display(),
                t.pid
            ),
            (None, true) => format!(
                "thawed {}, left frozen by an earlier run (pid {})",
                t.cgroup.display(),
                t.pid
            ),
            // Its guardian thawed it; only the record was left.
            (None, false) => continue,
        };
        monitor.event(Event::Warning { message });
    }
    Ok(())
}

/// The user's exclude patterns plus umbra's own snapshot and staging directories, which
/// are never part of a backup.
#[must_use]
pub fn excludes(user: &[String]) -> Vec<String> {
    #[cfg_attr(windows, allow(unused_mut))]
    let mut all = user.to_vec();
    #[cfg(unix)]
    all.push(umbra_snapshot::btrfs::SNAPSHOT_DIR.to_string());
    #[cfg(unix)]
    all.push(umbra_snapshot::reflink::STAGING_DIR.to_string());
    all
}
