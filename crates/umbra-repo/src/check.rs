//! Verifying a repository.

use rustic_core::CheckOptions;
use serde::Serialize;
use umbra_core::Result;

use crate::error::rustic;
use crate::repo::Repo;

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
    pub fn check(&self, read_data: bool) -> Result<Vec<Finding>> {
        let mut opts = CheckOptions::default();
        opts.read_data = read_data;
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
        Ok(findings)
    }
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
