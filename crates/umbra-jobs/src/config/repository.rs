//! The job file's repositories: `[repository]`, the one its jobs back up into, and
//! `[repositories.NAME]`, the second copies jobs name in `copy_to`; each with where its
//! keys stand, and what `config check` can find wrong with it before any run.

use std::path::{Path, PathBuf};

use umbra_core::UmbraError;

use super::locate::{config_error, KeyPath, Locator, Origin};
use super::{absolute, raw, Config};

/// The `[repository]` table.
#[derive(Debug, Clone)]
pub struct RepositorySpec {
    pub path: String,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    pub origin: Origin,
    /// Where `path` and `password_file` stand, for errors about them.
    pub path_origin: Origin,
    pub password_file_origin: Origin,
    /// A remote repository's options (`rest.timeout`, `rest.retry`), with where each is.
    pub options: Vec<(String, String, Origin)>,
}

impl Config {
    /// The `[repository]` and `[repositories]` a job would fail on: a password file that
    /// is missing or cannot be read, a local repository that does not exist.
    pub(super) fn repository_problems(&self) -> Vec<UmbraError> {
        let mut errors = Vec::new();
        if let Some(r) = &self.repository {
            errors.extend(self.problems_of(r, false));
        }
        for r in self.repositories.values() {
            errors.extend(self.problems_of(r, true));
        }
        errors
    }

    /// `copy_target`: a `[repositories.NAME]`, which has no other source of a password
    /// (`-r`'s password and the environment's are the main repository's).
    fn problems_of(&self, r: &RepositorySpec, copy_target: bool) -> Vec<UmbraError> {
        let mut errors = Vec::new();
        if copy_target && r.password_file.is_none() && r.password_command.is_none() {
            errors.push(config_error(
                &r.origin,
                "a repository for copy_to needs its own password_file or password_command",
            ));
        }
        if let Some(pf) = &r.password_file {
            let o = &r.password_file_origin;
            if let Err(e) = std::fs::File::open(pf) {
                let problem = if e.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "the password file {} does not exist; expected an existing path",
                        pf.display()
                    )
                } else {
                    format!("the password file {} cannot be read: {e}", pf.display())
                };
                errors.push(config_error(o, problem));
            }
        }
        let local = r.path.strip_prefix("local:").unwrap_or(&r.path);
        let is_url = local
            .split_once(':')
            .is_some_and(|(scheme, _)| !scheme.contains('/'));
        let repo = self.file.parent().unwrap_or(Path::new(".")).join(local);
        if !is_url && !repo.join("config").is_file() {
            errors.push(
                config_error(
                    &r.path_origin,
                    format!(
                        "there is no repository at {}; expected an initialised repository",
                        repo.display()
                    ),
                )
                .with_hint(format!(
                    "Create it with `umbra -c {} init`, or correct the path.",
                    self.file.display()
                )),
            );
        }
        errors
    }
}

/// A `[repository]` or `[repositories.NAME]` table, with where its keys stand.
pub(super) fn repository_spec(
    r: raw::RawRepository,
    at: &KeyPath,
    base: &Path,
    loc: &Locator<'_>,
) -> RepositorySpec {
    RepositorySpec {
        path: r.path,
        password_file: r.password_file.map(|p| absolute(base, &p)),
        password_command: r.password_command,
        origin: loc.origin(at),
        path_origin: loc.origin(&at.key("path")),
        password_file_origin: loc.origin(&at.key("password_file")),
        options: r
            .options
            .into_iter()
            .map(|(k, v)| {
                let origin = loc.origin(&at.key("options").key(&k));
                (k, v, origin)
            })
            .collect(),
    }
}
