//! The snapshot set: every source of one backup, snapshotted back to back, and released
//! together, always.
//!
//! Slow work (finding nested subvolumes, probing) happens in `prepare`, before the first
//! snapshot, so the window between the first and the last snapshot (the *spread*) is as
//! short as the methods allow. Quiescers (issue #5) will freeze applications around
//! exactly [`SnapshotSet::take`].
//!
//! Release paths, all idempotent:
//! - [`SnapshotSet::release`], after the backup, reporting failures;
//! - `Drop`, on any error path that skips the above;
//! - the interrupt registry, on SIGINT/SIGTERM;
//! - [`sweep`], at the next run, for what a `kill -9` or power loss left (the registry
//!   has it on record).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use umbra_core::interrupt::{on_interrupt, Registration};
use umbra_core::{ErrorKind, Event, Method, Monitor, PlannedSource, Result, UmbraError};

use crate::base::{Bases, KeptBase};
use crate::planner::{Planner, SourceChoice};
use crate::provider::{Provider, Recorder};
use crate::registry::{Record, Registry};

struct Held {
    registry: Registry,
    /// What was created, in creation order, with the provider that releases it and the
    /// source it was created for.
    records: Vec<(Arc<dyn Provider>, Record, PathBuf)>,
    monitor: Arc<dyn Monitor>,
}

impl Held {
    /// Releases everything, newest first; returns the failures (records are kept for those).
    fn release_all(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        while let Some((provider, record, _)) = self.records.pop() {
            match crate::provider::release_verified(provider.as_ref(), &record.artifact) {
                Ok(()) => {
                    let _ = self.registry.forget(&record);
                }
                Err(e) => {
                    let msg = format!("cannot release {}: {}", record.artifact, e.message());
                    self.monitor.event(Event::Warning {
                        message: msg.clone(),
                    });
                    failures.push(msg);
                }
            }
        }
        failures
    }
}

/// What [`SnapshotSet::keep_as_base`] did.
#[derive(Debug)]
pub enum Kept {
    /// The snapshot is kept; `previous` is the base it replaced (now released with the set).
    Yes { previous: Option<Box<KeptBase>> },
    /// This source's snapshot cannot serve as a base.
    No,
}

/// Releases a kept base now and forgets it. Idempotent.
pub fn release_base(base: &KeptBase, bases: &Bases, planner: &Planner) -> Result<()> {
    let provider = planner.provider(base.method).ok_or_else(|| {
        UmbraError::new(
            ErrorKind::Internal,
            format!("no provider for method {}", base.method),
        )
    })?;
    for artifact in &base.artifacts {
        crate::provider::release_verified(provider.as_ref(), artifact)?;
    }
    bases.forget(base)
}

/// A taken snapshot set. Dropping it releases every snapshot.
pub struct SnapshotSet {
    held: Arc<Mutex<Held>>,
    /// The sources, ready to read: `read_from` points into the snapshots.
    pub sources: Vec<PlannedSource>,
    /// Milliseconds from the start of the first snapshot to the end of the last one;
    /// `None` when no source was snapshotted.
    pub spread_ms: Option<u64>,
    /// Applications the snapshot method itself brought to a consistent point (VSS
    /// writers), for the snapshot's record; they cover no source path of their own.
    pub applications: Vec<umbra_core::QuiesceRecord>,
    _on_interrupt: Registration,
}

impl SnapshotSet {
    /// Prepares, then takes, a snapshot of every chosen source. On any failure, what was
    /// already created is released before the error is returned.
    pub fn take(
        choices: &[SourceChoice],
        registry: Registry,
        monitor: Arc<dyn Monitor>,
    ) -> Result<Self> {
        let held = Arc::new(Mutex::new(Held {
            registry: registry.clone(),
            records: Vec::new(),
            monitor: Arc::clone(&monitor),
        }));
        let on_interrupt = {
            let held = Arc::clone(&held);
            on_interrupt("volume snapshots", move || {
                if let Ok(mut h) = held.try_lock() {
                    h.release_all();
                }
            })
        };
        let set = Self {
            held,
            sources: Vec::new(),
            spread_ms: None,
            applications: Vec::new(),
            _on_interrupt: on_interrupt,
        };
        set.fill(choices, &registry)
    }

    fn fill(mut self, choices: &[SourceChoice], registry: &Registry) -> Result<Self> {
        let mut prepared = Vec::with_capacity(choices.len());
        for c in choices {
            prepared.push(c.provider.prepare(&c.info)?);
        }
        let set_start = Instant::now();
        let (mut first, mut last) = (None, None);
        for (c, p) in choices.iter().zip(prepared) {
            let started = Instant::now();
            let asked_at = std::time::SystemTime::now();
            let mut rec = Recorder::new(registry, c.method);
            let taken = p.take(&mut rec);
            // Whatever was recorded is held, even when taking failed half-way.
            if let Ok(mut h) = self.held.lock() {
                for message in rec.warnings.drain(..) {
                    h.monitor.event(umbra_core::Event::Notice { message });
                }
                self.applications.append(&mut rec.applications);
                h.records.extend(
                    rec.records
                        .into_iter()
                        .map(|r| (Arc::clone(&c.provider), r, c.info.path.clone())),
                );
            }
            let presented = taken?;
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let snapshot_ms = (c.method != Method::Direct).then(|| {
                first.get_or_insert(started.duration_since(set_start));
                last = Some(set_start.elapsed());
                ms
            });
            self.sources.push(PlannedSource {
                path: c.info.path.clone(),
                read_from: presented.read_from,
                method: c.method,
                expected: presented.level,
                identity_from: presented.identity_from,
                clone_on_read: presented.clone_on_read,
                snapshot_ms,
                taken_at: (c.method != Method::Direct).then_some(asked_at),
                base: None,
            });
        }
        self.spread_ms = first
            .zip(last)
            .map(|(f, l)| u64::try_from(l.saturating_sub(f).as_millis()).unwrap_or(u64::MAX));
        Ok(self)
    }

    /// The plan to back up: the sources as taken, with the set's spread.
    #[must_use]
    pub fn plan(&self) -> umbra_core::SourcePlan {
        umbra_core::SourcePlan {
            sources: self.sources.clone(),
            snapshot_set_spread_ms: self.spread_ms,
            quiesced: self.applications.clone(),
            substitutes: Vec::new(),
            omit: Vec::new(),
        }
    }

    /// Asks every provider whether what was read from its snapshots is still trustworthy.
    pub fn verify(&self) -> Result<()> {
        let held = match self.held.lock() {
            Ok(h) => h,
            Err(_) => return Ok(()),
        };
        for (provider, record, _) in &held.records {
            provider.verify(&record.artifact)?;
        }
        Ok(())
    }

    /// Keeps the snapshot of `source` as the base of its next backup into `repository`
    /// (see [`crate::base`]), instead of releasing it with the set. The base this replaces
    /// is handed to the set, which releases it with everything else; it is returned so
    /// that its cost can be reported first.
    ///
    /// Only a snapshot that is one artifact, from a method whose extents the next backup
    /// can compare (btrfs, reflink), is kept; otherwise this returns `Ok(Kept::No)`.
    pub fn keep_as_base(
        &self,
        source: &Path,
        bases: &Bases,
        scope: &str,
        repository: &str,
        snapshot_id: &str,
    ) -> Result<Kept> {
        let Some(planned) = self.sources.iter().find(|s| s.path == source) else {
            return Ok(Kept::No);
        };
        let mut held = self
            .held
            .lock()
            .map_err(|_| UmbraError::new(ErrorKind::Internal, "the snapshot set is poisoned"))?;
        let mine: Vec<usize> = (0..held.records.len())
            .filter(|i| held.records[*i].2 == source)
            .collect();
        let [at] = mine[..] else {
            return Ok(Kept::No);
        };
        if !matches!(planned.method, Method::Btrfs | Method::Reflink) {
            return Ok(Kept::No);
        }
        let previous = bases.find(scope, repository, source);
        let record = held.records[at].1.clone();
        // 1. The previous base's artifacts go back on record, held by this set.
        if let Some(old) = &previous {
            let provider = Arc::clone(&held.records[at].0);
            for artifact in &old.artifacts {
                let record = held.registry.record(old.method, artifact.clone())?;
                if old.method == planned.method {
                    held.records
                        .insert(0, (Arc::clone(&provider), record, source.to_path_buf()));
                }
            }
        }
        // 2. The new base, durable.
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let kept = KeptBase {
            scope: scope.to_string(),
            repository: repository.to_string(),
            source: source.to_path_buf(),
            method: planned.method,
            artifacts: vec![record.artifact.clone()],
            // Clones made file by file live in their own tree, not where the source is read.
            read_from: planned
                .clone_on_read
                .clone()
                .unwrap_or_else(|| planned.read_from.clone()),
            snapshot_id: snapshot_id.to_string(),
            created,
        };
        bases.write(&kept)?;
        // 3. Its snapshot leaves the set and the registry.
        if let Some(i) = held.records.iter().position(|(_, r, _)| r.id == record.id) {
            held.records.remove(i);
        }
        held.registry.forget(&record)?;
        Ok(Kept::Yes {
            previous: previous.map(Box::new),
        })
    }

    /// Releases every snapshot now; returns an error naming what could not be released
    /// (it stays on record for `umbra cleanup`).
    pub fn release(self) -> Result<()> {
        let failures = self
            .held
            .lock()
            .map(|mut h| h.release_all())
            .unwrap_or_default();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(umbra_core::UmbraError::new(
                umbra_core::ErrorKind::Io,
                format!(
                    "some snapshots could not be released: {}",
                    failures.join("; ")
                ),
            )
            .with_hint("Run `umbra cleanup` once whatever holds them has let go."))
        }
    }
}

impl Drop for SnapshotSet {
    fn drop(&mut self) {
        if let Ok(mut h) = self.held.lock() {
            h.release_all();
        }
    }
}

/// What a sweep did with one record.
#[derive(Debug, Clone)]
pub struct Swept {
    pub record: Record,
    /// `None` when released; the reason otherwise.
    pub error: Option<String>,
}

/// Releases what crashed runs left behind: every record whose owner is gone.
pub fn sweep(registry: &Registry, planner: &Planner) -> Result<Vec<Swept>> {
    registry.remove_abandoned_temporaries();
    let mut out = Vec::new();
    for record in registry.orphans()?.into_iter().rev() {
        let error = match planner.provider(record.method) {
            None => Some(format!("no provider for method {}", record.method)),
            Some(p) => match crate::provider::release_verified(p.as_ref(), &record.artifact) {
                Ok(()) => registry
                    .forget(&record)
                    .err()
                    .map(|e| e.message().to_string()),
                Err(e) => Some(e.message().to_string()),
            },
        };
        out.push(Swept { record, error });
    }
    Ok(out)
}
