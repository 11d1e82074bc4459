//! Files stored from somewhere else than the walked tree.
//!
//! A quiescer may make a consistent copy of a file that cannot be read consistently in
//! place (a SQLite database read without a volume snapshot: the copy comes from SQLite's
//! online backup API), or produce a file the live tree must not hold (PostgreSQL's
//! `backup_label`). The plan lists such files as substitutes (named path, staged copy),
//! and the live files that must then be left out (the database's `-wal` and `-shm`).
//!
//! The archiver needs entries in the walk's order, which is path order. [`Merged`]
//! slips each substitute into the walk of its source at its place: it replaces the walked
//! entry of the same path, or is inserted before the first entry that sorts after it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use rustic_core::{
    Excludes, LocalSource, LocalSourceFilterOptions, LocalSourceSaveOptions, ReadSource,
    ReadSourceEntry, RusticResult,
};
use umbra_core::{PlannedSource, Substitute};

use crate::error::rustic;
use crate::source::{map_entry, EntryIter, PlannedOpen, ReadLog};

type Entry = ReadSourceEntry<PlannedOpen>;

/// The substitute entries that belong to `plan`'s source, in path order.
pub(crate) fn entries_for(
    plan: &PlannedSource,
    idx: usize,
    substitutes: &[Substitute],
    log: &Arc<ReadLog>,
) -> umbra_core::Result<Vec<Entry>> {
    let mut extras = Vec::new();
    for sub in substitutes
        .iter()
        .filter(|s| s.named.starts_with(&plan.path))
    {
        let local = LocalSource::new(
            LocalSourceSaveOptions::default(),
            &Excludes::default(),
            &LocalSourceFilterOptions::default(),
            &[&sub.staged],
        )
        .map_err(rustic("cannot prepare reading a staged copy"))?;
        let staged = PlannedSource {
            path: sub.named.clone(),
            read_from: sub.staged.clone(),
            identity_from: None,
            clone_on_read: None,
            base: None,
            ..plan.clone()
        };
        extras.extend(
            local
                .entries()
                .filter_map(|item| map_entry(item, &staged, idx, log))
                .filter_map(Result::ok)
                .map(|mut e| {
                    crate::nodes::stand_in_for(&mut e.node, &e.path);
                    e
                }),
        );
    }
    extras.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(extras)
}

/// A source's walk with its substitutes merged in and its omitted paths left out.
pub(crate) struct Merged {
    pub walk: EntryIter,
    pub extras: VecDeque<Entry>,
    pub omit: Vec<PathBuf>,
    pub pending: Option<Entry>,
}

impl Iterator for Merged {
    type Item = RusticResult<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let entry = match self.pending.take() {
                Some(e) => e,
                None => match self.walk.next() {
                    None => return self.extras.pop_front().map(Ok),
                    Some(Err(e)) => return Some(Err(e)),
                    Some(Ok(e)) => e,
                },
            };
            if self.omit.contains(&entry.path) {
                continue;
            }
            if self.extras.front().is_some_and(|x| x.path <= entry.path) {
                let extra = self.extras.pop_front()?;
                if extra.path != entry.path {
                    self.pending = Some(entry);
                }
                return Some(Ok(extra));
            }
            return Some(Ok(entry));
        }
    }
}
