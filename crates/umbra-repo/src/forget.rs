//! Retention: `forget` (remove snapshots by policy) and `prune` (reclaim their data).

use jiff::{Span, Zoned};
use rustic_core::repofile::SnapshotId;
use rustic_core::{ForgetGroups, Grouped, KeepOptions, PruneOptions, SnapshotGroupCriterion};
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::rustic;
use crate::repo::Repo;
use crate::snapshots::SnapshotInfo;

/// Which snapshots to keep, as restic's `--keep-*` flags say. Each group of snapshots
/// (same host and paths) is judged on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepPolicy {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
    /// restic's duration form: `1y2m3d4h` (years, months, days, hours).
    pub within: Option<String>,
}

impl KeepPolicy {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Parses restic's `--keep-within` durations: a sequence of `<n>y`, `<n>m` (months),
/// `<n>d` and `<n>h`.
pub fn parse_within(text: &str) -> Result<Span> {
    let bad = || {
        UmbraError::new(
            ErrorKind::InvalidInput,
            format!("`{text}` is not a duration for --keep-within"),
        )
        .with_hint(
            "Write it as restic does: years, months, days, hours, like `1y6m`, `7d` or `2d12h`.",
        )
    };
    let mut span = Span::new();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        span = match c {
            'y' => span.try_years(n),
            'm' => span.try_months(n),
            'd' => span.try_days(n),
            'h' => span.try_hours(n),
            _ => return Err(bad()),
        }
        .map_err(|_| bad())?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(span)
}

impl KeepPolicy {
    fn to_keep_options(&self) -> Result<KeepOptions> {
        let n = |v: Option<u32>| v.map(|x| i32::try_from(x).unwrap_or(i32::MAX));
        let mut k = KeepOptions::default();
        k.keep_last = n(self.last);
        k.keep_hourly = n(self.hourly);
        k.keep_daily = n(self.daily);
        k.keep_weekly = n(self.weekly);
        k.keep_monthly = n(self.monthly);
        k.keep_yearly = n(self.yearly);
        k.keep_within = self.within.as_deref().map(parse_within).transpose()?;
        Ok(k)
    }
}

/// The verdict on one snapshot.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub snapshot: SnapshotInfo,
    pub keep: bool,
    /// Why it is kept (`last`, `daily`, ...); empty when it goes.
    pub reasons: Vec<String>,
}

/// What `prune` reclaimed, measured on the repository before and after (rustic_core's
/// plan counts a repacked pack neither as removed nor as freed).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneOutcome {
    pub packs_before: u64,
    pub packs_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Packs whose still-used blobs were copied into new packs before they were removed.
    pub packs_repacked: u64,
}

impl PruneOutcome {
    #[must_use]
    pub fn bytes_freed(&self) -> u64 {
        self.bytes_before.saturating_sub(self.bytes_after)
    }
}

impl Repo {
    /// Applies `policy`, removing (unless `dry_run`) the snapshots it does not keep.
    /// Returns the verdicts, grouped by host and paths, oldest first within a group.
    pub fn forget(&self, policy: &KeepPolicy, dry_run: bool) -> Result<Vec<Verdict>> {
        self.forget_where(policy, dry_run, &|_| true)
    }

    /// Like [`Repo::forget`], judging only the snapshots `only` accepts: a job's retention
    /// applies to the job's own snapshots and leaves everything else alone.
    pub fn forget_where(
        &self,
        policy: &KeepPolicy,
        dry_run: bool,
        only: &dyn Fn(&SnapshotInfo) -> bool,
    ) -> Result<Vec<Verdict>> {
        if policy.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                "no retention policy given: forget would remove every snapshot",
            )
            .with_hint(
                "Give at least one --keep-* option, for example --keep-daily 7, or the ids of \
                 the snapshots to remove.",
            ));
        }
        let keep = policy.to_keep_options()?;
        let snaps = self
            .readable_snapshots()?
            .into_iter()
            .filter(|f| only(&SnapshotInfo::from_file(f)))
            .collect();
        let grouped = Grouped::from_items(snaps, SnapshotGroupCriterion::default());
        let groups =
            ForgetGroups::from_grouped_snapshots_with_retention(grouped, &keep, &Zoned::now())
                .map_err(rustic("cannot apply the retention policy"))?;
        let mut verdicts = Vec::new();
        for group in groups.0 {
            let mut items: Vec<Verdict> = group
                .items
                .into_iter()
                .map(|f| Verdict {
                    snapshot: SnapshotInfo::from_file(&f.snapshot),
                    keep: f.keep,
                    reasons: if f.keep { f.reasons } else { Vec::new() },
                })
                .collect();
            items.sort_by(|a, b| a.snapshot.time.cmp(&b.snapshot.time));
            verdicts.extend(items);
        }
        if !dry_run {
            let remove: Vec<SnapshotId> = verdicts
                .iter()
                .filter(|v| !v.keep)
                .filter_map(|v| v.snapshot.id.parse().ok())
                .collect();
            self.inner
                .delete_snapshots(&remove)
                .map_err(rustic("cannot remove the forgotten snapshots"))?;
        }
        Ok(verdicts)
    }

    /// Removes the snapshots `specs` name (ids, prefixes, `latest`), as restic's
    /// `forget ID...`; every one is found before any is removed, so a typo removes
    /// nothing. Returns the verdicts (all `keep: false`).
    pub fn forget_ids(&self, specs: &[String], dry_run: bool) -> Result<Vec<Verdict>> {
        let mut found: Vec<rustic_core::repofile::SnapshotFile> = Vec::new();
        for spec in specs {
            let snap = self.find(spec)?;
            if !found.iter().any(|f| f.id == snap.id) {
                found.push(snap);
            }
        }
        if !dry_run {
            let ids: Vec<SnapshotId> = found.iter().map(|f| f.id).collect();
            self.inner
                .delete_snapshots(&ids)
                .map_err(rustic("cannot remove the snapshots"))?;
        }
        Ok(found
            .iter()
            .map(|f| Verdict {
                snapshot: SnapshotInfo::from_file(f),
                keep: false,
                reasons: Vec::new(),
            })
            .collect())
    }

    /// Removes data that no snapshot references any more. Requires the exclusive lock
    /// (taken when the repository was opened), so packs are deleted at once, as restic does.
    pub fn prune(&self) -> Result<PruneOutcome> {
        let mut opts = PruneOptions::default();
        opts.instant_delete = true;
        let plan = self
            .inner
            .prune_plan(&opts)
            .map_err(rustic("cannot plan the prune"))?;
        let (bytes_before, packs_before) = self.pack_usage()?;
        let packs_repacked = plan.stats.packs.repack;
        self.inner
            .prune(&opts, plan)
            .map_err(rustic("the prune failed"))?;
        let (bytes_after, packs_after) = self.pack_usage()?;
        Ok(PruneOutcome {
            packs_before: packs_before as u64,
            packs_after: packs_after as u64,
            bytes_before,
            bytes_after,
            packs_repacked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restic_durations_parse() {
        let s = parse_within("1y2m3d4h").expect("valid");
        assert_eq!(
            (s.get_years(), s.get_months(), s.get_days(), s.get_hours()),
            (1, 2, 3, 4)
        );
        assert!(parse_within("7").is_err());
        assert!(parse_within("3w").is_err());
        assert!(parse_within("").is_err());
    }
}
