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

use std::sync::{Arc, Mutex};
use std::time::Instant;

use umbra_core::interrupt::{on_interrupt, Registration};
use umbra_core::{Event, Method, Monitor, PlannedSource, Result};

use crate::planner::{Planner, SourceChoice};
use crate::provider::{Provider, Recorder};
use crate::registry::{Record, Registry};

struct Held {
    registry: Registry,
    /// What was created, in creation order, with the provider that releases it.
    records: Vec<(Arc<dyn Provider>, Record)>,
    monitor: Arc<dyn Monitor>,
}

impl Held {
    /// Releases everything, newest first; returns the failures (records are kept for those).
    fn release_all(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        while let Some((provider, record)) = self.records.pop() {
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

/// A taken snapshot set. Dropping it releases every snapshot.
pub struct SnapshotSet {
    held: Arc<Mutex<Held>>,
    /// The sources, ready to read: `read_from` points into the snapshots.
    pub sources: Vec<PlannedSource>,
    /// Milliseconds from the start of the first snapshot to the end of the last one;
    /// `None` when no source was snapshotted.
    pub spread_ms: Option<u64>,
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
            let mut rec = Recorder::new(registry, c.method);
            let taken = p.take(&mut rec);
            // Whatever was recorded is held, even when taking failed half-way.
            if let Ok(mut h) = self.held.lock() {
                h.records.extend(
                    rec.records
                        .into_iter()
                        .map(|r| (Arc::clone(&c.provider), r)),
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
                snapshot_ms,
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
            quiesced: Vec::new(),
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
        for (provider, record) in &held.records {
            provider.verify(&record.artifact)?;
        }
        Ok(())
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
