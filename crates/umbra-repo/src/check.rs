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
        let results = self
            .inner
            .check(opts)
            .map_err(rustic("the check could not run"))?;
        Ok(results
            .0
            .into_iter()
            .map(|(level, err)| Finding {
                // rustic_core does not export the level's type; its Debug name is stable.
                severity: if format!("{level:?}") == "Error" {
                    "error"
                } else {
                    "warning"
                },
                message: err.to_string(),
            })
            .collect())
    }
}
