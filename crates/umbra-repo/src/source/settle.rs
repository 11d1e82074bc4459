//! Reading a live file only once a write to it could not hide in its time stamp.
//!
//! Why: a file read in place is called unchanged when its size, times and inode are the
//! same before and after the read. A filesystem stamps a write with its clock's current
//! tick (4 ms for Linux's at 250 Hz, whole seconds for ext4's small inodes, two seconds
//! for FAT), so a write during the read that falls in the same tick as the write before
//! the read moves none of them: the read can be torn, half old and half new, and still
//! look clean. That would record `direct-unchanged` for a file that changed while read.
//!
//! How: just before the read, a file whose modification time lies within a margin of now
//! is waited for until the margin has passed, and looked at again. From then on, any write
//! is stamped with a later tick than the time seen, so the comparison after the read
//! catches it. The margin for a file stamped in fractions of a second is two ticks of the
//! clock that stamps it: this machine's coarse clock for a local filesystem ([`fine_margin`],
//! 8 ms at 250 Hz, asked of the source's own filesystem), [`FINE_MARGIN`] where the tick
//! is not known (a network filesystem, Windows); for a file stamped in whole seconds (the
//! coarse filesystems) it is [`umbra_core::consistency::RACY_MARGIN_MS`]. A file written
//! again while waited for is being written now: it is read all the same, and not called
//! unchanged.
//!
//! The wait is paid only by files written within the margin before their read: once per
//! read, a few seconds at most per file with its retries, and [`BACKUP_BUDGET`] in all
//! for a backup (a filesystem that reports every file as modified just now would
//! otherwise make every file wait). Past the budget, a file within its margin is read at
//! once and not called unchanged. Volume snapshots, clones and frozen writers need no
//! wait (nothing writes what is read), and the plan does not ask for one there.

use std::fs::{File, Metadata};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use umbra_core::consistency::RACY_MARGIN_MS;

/// The margin for a file stamped in fractions of a second where the clock's tick is not
/// known (a network filesystem, Windows): two ticks of the coarsest Linux clock (100 Hz),
/// and as much again for a server's clock slightly off.
pub(crate) const FINE_MARGIN: Duration = Duration::from_millis(40);

/// The margin for files stamped in fractions of a second on the filesystem holding
/// `path`: two ticks of the clock a local filesystem stamps with (8 ms at 250 Hz; a
/// stamp lags the time by less than one), at least 2 ms; [`FINE_MARGIN`] elsewhere.
/// As short as is safe: a file written more often than its margin is never quiet.
pub(crate) fn fine_margin(path: &std::path::Path) -> Duration {
    crate::platform::local_stamp_tick(path).map_or(FINE_MARGIN, |tick| {
        (tick * 2).clamp(Duration::from_millis(2), FINE_MARGIN)
    })
}

/// The most a backup waits for files in all.
pub(crate) const BACKUP_BUDGET: Duration = Duration::from_secs(60);

/// What a backup's reads have waited in all, against what they may.
pub(crate) struct WaitBudget {
    limit_us: u64,
    spent_us: AtomicU64,
}

impl WaitBudget {
    pub(crate) fn new(limit: Duration) -> Self {
        Self {
            limit_us: u64::try_from(limit.as_micros()).unwrap_or(u64::MAX),
            spent_us: AtomicU64::new(0),
        }
    }

    /// Whether a read may still wait (a wait begun now may run past the limit, once).
    pub(crate) fn left(&self) -> bool {
        self.spent_us.load(Ordering::Relaxed) < self.limit_us
    }

    pub(crate) fn spend(&self, waited: Duration) {
        let us = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.spent_us.fetch_add(us, Ordering::Relaxed);
    }

    /// What was waited in all.
    pub(crate) fn spent(&self) -> Duration {
        Duration::from_micros(self.spent_us.load(Ordering::Relaxed))
    }
}

/// How long to wait before reading a file last modified at `mtime`, as seen at `now`, so
/// that a write during the read cannot keep that time (`fine`: the margin for a time in
/// fractions of a second); `None` when no wait is needed.
pub(crate) fn wait_before_read(
    mtime: SystemTime,
    now: SystemTime,
    fine: Duration,
) -> Option<Duration> {
    let whole_seconds = mtime
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|d| d.subsec_nanos() == 0);
    let margin = if whole_seconds {
        Duration::from_millis(RACY_MARGIN_MS)
    } else {
        fine
    };
    match now.duration_since(mtime) {
        Ok(age) => margin.checked_sub(age).filter(|w| !w.is_zero()),
        // A time ahead of this clock (a network filesystem's, or one set by hand): a write
        // now is stamped about now, far from a time a margin or more ahead.
        Err(ahead) => (ahead.duration() < margin).then(|| ahead.duration() + margin),
    }
}

/// What [`settle`] found: the file's metadata to compare with after the read, whether a
/// write during the read will show in it, and how long it waited.
pub(crate) struct Settled {
    pub(crate) seen: Metadata,
    pub(crate) quiet: bool,
    pub(crate) waited: Duration,
}

/// Looks at `file` before its read. Waits once, when the file was written within its
/// margin and `may_wait`; a file whose time moved meanwhile is being written and is not
/// quiet, nor is one within its margin that may not be waited for.
pub(crate) fn settle(file: &File, fine: Duration, may_wait: bool) -> std::io::Result<Settled> {
    // The clock is read before the file: whatever writes after that look is stamped
    // later than this moment, less a tick.
    let now = SystemTime::now();
    let seen = file.metadata()?;
    let Some(wait) = seen
        .modified()
        .ok()
        .and_then(|t| wait_before_read(t, now, fine))
    else {
        return Ok(Settled {
            seen,
            quiet: true,
            waited: Duration::ZERO,
        });
    };
    if !may_wait {
        return Ok(Settled {
            seen,
            quiet: false,
            waited: Duration::ZERO,
        });
    }
    std::thread::sleep(wait);
    let now = SystemTime::now();
    let again = file.metadata()?;
    let quiet = again.modified().ok() == seen.modified().ok()
        && again.len() == seen.len()
        && again
            .modified()
            .ok()
            .is_some_and(|t| wait_before_read(t, now, fine).is_none());
    Ok(Settled {
        seen: again,
        quiet,
        waited: wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn a_file_written_just_now_is_waited_for_until_its_margin_has_passed() {
        let now = at(1_000, 500_000_000);
        // Stamped in fractions of a second, 10 ms ago: 30 ms more.
        assert_eq!(
            wait_before_read(at(1_000, 490_000_000), now, FINE_MARGIN),
            Some(FINE_MARGIN - Duration::from_millis(10))
        );
        // Older than the margin: read at once.
        assert_eq!(
            wait_before_read(at(1_000, 400_000_000), now, FINE_MARGIN),
            None
        );
        assert_eq!(wait_before_read(at(1, 7), now, FINE_MARGIN), None);
        // A local filesystem's own margin.
        let local = Duration::from_millis(8);
        assert_eq!(
            wait_before_read(at(1_000, 495_000_000), now, local),
            Some(Duration::from_millis(3))
        );
        assert_eq!(wait_before_read(at(1_000, 490_000_000), now, local), None);
    }

    #[test]
    fn a_backup_stops_waiting_once_its_budget_is_spent() {
        let budget = WaitBudget::new(Duration::from_millis(100));
        assert!(budget.left());
        budget.spend(Duration::from_millis(60));
        assert!(budget.left());
        budget.spend(Duration::from_millis(40));
        assert!(!budget.left());
        assert_eq!(budget.spent(), Duration::from_millis(100));
    }

    #[test]
    fn a_file_that_may_not_be_waited_for_is_not_quiet_when_it_is_recent() {
        let dir = std::env::temp_dir().join(format!("umbra-settle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("recent");
        std::fs::write(&path, b"x").expect("write");
        let file = File::open(&path).expect("open");
        // Whole seconds or not, a file written just now is within a margin of 5 s.
        let at_once = settle(&file, Duration::from_secs(5), false).expect("settle");
        let waited = settle(&file, FINE_MARGIN, true).expect("settle");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!at_once.quiet && at_once.waited.is_zero());
        assert!(waited.quiet, "nothing wrote it while it was waited for");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_local_filesystem_gets_two_ticks_of_this_clock() {
        // The test's own directory is local here (CI: a disk or tmpfs): its margin is the
        // kernel's (8 ms at 250 Hz, 20 ms at 100 Hz), not the one for an unknown tick.
        let margin = fine_margin(&std::env::temp_dir());
        assert!(
            margin >= Duration::from_millis(2) && margin < FINE_MARGIN,
            "{margin:?}"
        );
        eprintln!("measured: the margin here is {margin:?}");
    }

    #[test]
    fn a_file_stamped_in_whole_seconds_waits_for_the_coarse_margin() {
        let now = at(1_000, 500_000_000);
        assert_eq!(
            wait_before_read(at(1_000, 0), now, FINE_MARGIN),
            Some(Duration::from_millis(RACY_MARGIN_MS - 500))
        );
        assert_eq!(wait_before_read(at(997, 0), now, FINE_MARGIN), None);
    }

    #[test]
    fn a_time_ahead_of_the_clock_waits_only_when_it_is_near() {
        let now = at(1_000, 0);
        assert_eq!(
            wait_before_read(at(1_000, 10_000_000), now, FINE_MARGIN),
            Some(FINE_MARGIN + Duration::from_millis(10))
        );
        assert_eq!(
            wait_before_read(at(2_000, 10_000_000), now, FINE_MARGIN),
            None
        );
        assert_eq!(
            wait_before_read(at(1_001, 0), now, FINE_MARGIN),
            Some(Duration::from_millis(RACY_MARGIN_MS + 1_000))
        );
    }
}
