//! Verifying a repository.

use std::collections::{HashMap, HashSet};

use rustic_core::repofile::{IndexFile, SnapshotFile};
use rustic_core::{BlobId, CheckOptions, OpenStatus, ReadSubsetOption, Repository};
use serde::Serialize;
use umbra_core::Result;

use crate::error::rustic;
use crate::repo::Repo;

/// How much of the packs' data `check` reads and verifies.
#[derive(Debug, Clone, Copy)]
pub enum ReadData {
    /// None: the structure only.
    None,
    /// Every pack (`--read-data`).
    All,
    /// A part (`--read-data-subset`), parsed by [`ReadData::subset`].
    Subset(ReadSubsetOption),
}

impl ReadData {
    /// restic's `--read-data-subset` values: `n/t` (the n-th of t groups of packs, by pack
    /// id), `x%` (a random x percent of the data), or a size (`500MiB`: random packs of
    /// about that much).
    pub fn subset(spec: &str) -> Result<Self> {
        spec.parse::<ReadSubsetOption>()
            .map(Self::Subset)
            .map_err(|e| {
                umbra_core::UmbraError::new(
                    umbra_core::ErrorKind::InvalidInput,
                    format!("`{spec}` is not a valid --read-data-subset"),
                )
                .with_hint("Give n/t (for example 2/5), a percentage (10%) or a size (500MiB).")
                .with_source(*e)
            })
    }
}

/// One finding of `check`.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `error` damages data; `warning` is harmless but worth fixing (for example
    /// unreferenced pack files left by an interrupted backup, which `prune` removes).
    pub severity: &'static str,
    pub message: String,
}

impl Repo {
    /// Checks the repository's structure; with `read_data`, also reads and verifies
    /// every pack file. Open the repository with [`crate::OpenOptions::bypass_cache`], or a
    /// cached copy may hide damage in the repository.
    ///
    /// With `check_unused`, blobs the index holds that no snapshot uses are errors, as in
    /// restic's own tests (`CheckUnused`), and blobs stored in more than one pack are
    /// warnings: neither loses data, and `prune` removes both.
    pub fn check(self, read_data: ReadData, check_unused: bool) -> Result<Vec<Finding>> {
        let mut opts = CheckOptions::default();
        match read_data {
            ReadData::None => {}
            ReadData::All => opts.read_data = true,
            ReadData::Subset(subset) => {
                opts.read_data = true;
                opts.read_data_subset = subset;
            }
        }
        // Never trust our cache to stand in for the repository.
        opts.trust_cache = false;
        // A damaged snapshot file is one finding, not a reason to check nothing.
        let (snaps, damaged) = self.snapshots_and_damage()?;
        let trees = snaps.iter().map(|s| s.tree).collect();
        let results = self
            .inner
            .check_with_trees(opts, trees)
            .map_err(rustic("the check could not run"))?;
        let mut findings: Vec<Finding> = damaged
            .into_iter()
            .map(|e| Finding {
                severity: "error",
                message: e.message().to_string(),
            })
            .collect();
        findings.extend(results.0.into_iter().map(|(level, err)| Finding {
            // rustic_core does not export the level's type; its Debug name is stable.
            severity: if format!("{level:?}") == "Error" {
                "error"
            } else {
                "warning"
            },
            message: with_cause(&err),
        }));
        if check_unused {
            let Repo { inner, lock, .. } = self;
            findings.extend(unused_and_duplicate_blobs(inner, &snaps)?);
            drop(lock);
        }
        Ok(findings)
    }
}

/// Blobs the index holds that no snapshot uses, and blobs held in several packs.
fn unused_and_duplicate_blobs(
    inner: Repository<OpenStatus>,
    snaps: &[SnapshotFile],
) -> Result<Vec<Finding>> {
    let mut copies: HashMap<BlobId, usize> = HashMap::new();
    for index in inner
        .stream_files::<IndexFile>()
        .map_err(rustic("cannot read the index"))?
    {
        let (_, index) = index.map_err(rustic("cannot read an index file"))?;
        for blob in index.packs.iter().flat_map(|p| &p.blobs) {
            *copies.entry(blob.id).or_default() += 1;
        }
    }
    let repo = inner
        .to_indexed_ids()
        .map_err(rustic("cannot read the repository's index"))?;
    // Trees that cannot be read are already errors of the structure check above.
    let referenced = crate::referenced::referenced_blobs(&repo, snaps);
    let used: HashSet<BlobId> = referenced
        .trees
        .iter()
        .map(|t| BlobId::from(*t))
        .chain(referenced.data.iter().map(|d| BlobId::from(*d)))
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    let mut ids: Vec<_> = copies.into_iter().collect();
    ids.sort_unstable_by_key(|(id, _)| *id);
    for (id, n) in ids {
        if !used.contains(&id) {
            findings.push(Finding {
                severity: "error",
                message: format!(
                    "unused blob {}: no snapshot refers to it (`umbra prune` removes it)",
                    &id.to_hex()[..8]
                ),
            });
        } else if n > 1 {
            findings.push(Finding {
                severity: "warning",
                message: format!(
                    "blob {} is stored {n} times (`umbra prune` keeps one copy)",
                    &id.to_hex()[..8]
                ),
            });
        }
    }
    Ok(findings)
}

/// A finding's text with its first cause, in umbra's terms.
fn with_cause(err: &dyn std::error::Error) -> String {
    let mut text = plain_message(&err.to_string());
    if let Some(cause) = err.source() {
        // rustic_core's own errors keep their guidance in the log form.
        let rustic = cause
            .downcast_ref::<rustic_core::RusticError>()
            .or_else(|| {
                cause
                    .downcast_ref::<Box<rustic_core::RusticError>>()
                    .map(AsRef::as_ref)
            });
        let cause = match rustic {
            Some(r) => plain_message(&r.display_log()),
            None => plain_message(&cause.to_string()),
        };
        if !cause.is_empty() && !text.contains(&cause) {
            text = format!("{}: {cause}", text.trim_end_matches([' ', ':']));
        }
    }
    crate::error::in_umbras_words(&text).replace(
        " : `rustic_core` experienced an error related to `internal operations`.",
        "",
    )
}

/// rustic_core's error text without its internal parts: no backtrace, no "kind"/"code"
/// annotations. The first sentence is what a user needs.
fn plain_message(text: &str) -> String {
    let text = text.split("Backtrace").next().unwrap_or(text);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(text);
    let first = first.trim_start_matches("Error: ");
    first
        .split(" (kind:")
        .next()
        .unwrap_or(first)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::plain_message;

    #[test]
    fn internal_error_text_is_cut_to_its_first_sentence() {
        let raw = "Error: pack 0cf447ef: ciphertext verification failed (kind: related to \
                   cryptographic operations)\n\nBacktrace:\n  0: rustic_core::...";
        assert_eq!(
            plain_message(raw),
            "pack 0cf447ef: ciphertext verification failed"
        );
    }
}
