//! Which of a parent snapshot's files may be taken as unchanged by their times alone.
//!
//! A backup skips a file whose size, modification time, change time and inode match its
//! node in the parent snapshot, as restic does. That is only sound if any write after the
//! parent was read moved one of them. It does not always: Linux stamps files from a clock
//! that advances once a tick (4 ms at 250 Hz; ext4's small inodes keep whole seconds), so a
//! file written again in the same tick as the write before the parent's snapshot keeps
//! every time, its size and its inode (measured on btrfs: 99 of 200 files written right
//! after a snapshot). If nothing writes it later, every later backup would keep the
//! parent's old content under the new snapshot's name, beside newer copies of the other
//! files, which for a database is a torn restore. Git calls such entries "racily clean"
//! and reads them again; so does this.
//!
//! The moment a parent's view was taken comes from its consistency record
//! (`taken_at_unix_ms`, per source); a node stamped within [`RACY_MARGIN_MS`] of it, or
//! after it, does not vouch for its file (rustic_core's parent search, vendor patch 30).
//! The cost is reading again, once, the files written in the seconds before a backup.

use jiff::{SignedDuration, Timestamp};
use rustic_core::repofile::SnapshotFile;
use umbra_core::consistency::RACY_MARGIN_MS;
use umbra_core::ConsistencyRecord;

/// How far back of its own `time` an umbra snapshot from before `taken_at_unix_ms` may
/// have been taken: its `time` was set after the volume snapshots and the commands run
/// after them, which are bounded by nothing but a job's own timeouts.
const UNRECORDED_MOMENT: SignedDuration = SignedDuration::from_mins(10);

/// The time from which `parent`'s file times are too close to the moment it was read to
/// show that a file did not change since (see the module's documentation).
pub(crate) fn racy_from(parent: &SnapshotFile) -> Timestamp {
    let record = parent
        .description
        .as_deref()
        .and_then(ConsistencyRecord::from_description);
    let recorded = record
        .as_ref()
        .and_then(|r| r.sources.iter().filter_map(|s| s.taken_at_unix_ms).min())
        .and_then(|ms| i64::try_from(ms).ok())
        .and_then(|ms| Timestamp::from_millisecond(ms).ok());
    // restic's and rustic's `time` is when their backup began, before anything was read.
    let began = parent.summary.as_ref().map(|s| s.backup_start.timestamp());
    let own = began.map_or(parent.time.timestamp(), |b| b.min(parent.time.timestamp()));
    // umbra set its `time` after the snapshots and the commands after them.
    let by_umbra = record.is_some() || parent.program_version.starts_with("umbra ");
    let taken = match recorded {
        Some(at) => at.min(own),
        // umbra's without the moment: from before it was recorded, a stream's (its one file
        // is stamped with the backup's own time), or one whose record is unreadable.
        None if by_umbra => back(own, UNRECORDED_MOMENT),
        None => own,
    };
    let margin = SignedDuration::from_millis(i64::try_from(RACY_MARGIN_MS).unwrap_or(i64::MAX));
    back(taken, margin)
}

/// `at` less `by`, or the earliest time there is.
fn back(at: Timestamp, by: SignedDuration) -> Timestamp {
    at.checked_sub(by).unwrap_or(Timestamp::MIN)
}

/// `at` in milliseconds since the Unix epoch, for the consistency record.
pub(crate) fn unix_ms(at: std::time::SystemTime) -> Option<u64> {
    let since = at.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use umbra_core::{ConsistencyLevel, Method, SourceConsistency};

    fn snapshot(time: &str, record: Option<Option<u64>>) -> SnapshotFile {
        let description = record.map(|taken| {
            ConsistencyRecord {
                version: ConsistencyRecord::VERSION,
                sources: vec![SourceConsistency {
                    path: "/srv".into(),
                    method: Method::Btrfs,
                    level: ConsistencyLevel::VolumeSnapshot,
                    snapshot_ms: Some(3),
                    taken_at_unix_ms: taken,
                    changed_while_read: vec![],
                    unreadable: vec![],
                    vanished: vec![],
                    copies: vec![],
                }],
                snapshot_set_spread_ms: None,
                quiesced: vec![],
            }
            .to_description()
        });
        SnapshotFile {
            time: time.parse().expect("a test time"),
            description,
            ..SnapshotFile::default()
        }
    }

    #[test]
    fn the_recorded_moment_less_the_margin() {
        let at: Timestamp = "2026-12-04T10:00:00Z".parse().expect("a time");
        let ms = u64::try_from(at.as_millisecond()).expect("after 1970");
        // The snapshot's own time is later (set after the volume snapshot and the hooks).
        let snap = snapshot("2026-12-04T10:05:00Z[UTC]", Some(Some(ms)));
        assert_eq!(
            racy_from(&snap),
            "2026-12-04T09:59:57Z".parse().expect("a time")
        );
    }

    #[test]
    fn an_umbra_record_without_the_moment_reaches_back_ten_minutes() {
        let snap = snapshot("2026-12-04T10:05:00Z[UTC]", Some(None));
        assert_eq!(
            racy_from(&snap),
            "2026-12-04T09:54:57Z".parse().expect("a time")
        );
    }

    #[test]
    fn an_umbra_snapshot_with_an_unreadable_record_reaches_back_ten_minutes() {
        let mut snap = snapshot("2026-12-04T10:05:00Z[UTC]", None);
        snap.description = Some("{\"umbra_consistency\": 1}".to_string());
        snap.program_version = "umbra 0.1.0".to_string();
        assert_eq!(
            racy_from(&snap),
            "2026-12-04T09:54:57Z".parse().expect("a time")
        );
    }

    #[test]
    fn a_restic_snapshot_was_read_after_its_time() {
        let snap = snapshot("2026-12-04T10:05:00Z[UTC]", None);
        assert_eq!(
            racy_from(&snap),
            "2026-12-04T10:04:57Z".parse().expect("a time")
        );
    }
}
