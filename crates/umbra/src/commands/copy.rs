//! `copy`: a second copy of snapshots in another repository.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::lock::LockKind;
use umbra_repo::{OpenOptions, Repo, RepoLocation};

use crate::cli::CopyArgs;
use crate::output::Output;
use crate::settings::{prompt_password, read_password_file, Settings};
use crate::Finished;

/// Opens the repository `--from-repo` names (shared lock), with the password from
/// `--from-password-file`, `UMBRA_FROM_PASSWORD` or the terminal.
pub fn open_from(
    from_repo: &str,
    from_password_file: Option<&std::path::Path>,
    settings: &Settings,
    out: &Output,
) -> Result<Repo> {
    let from = RepoLocation::parse(from_repo)?;
    if &from == settings.repo.location() {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            format!("--from-repo and -r name the same repository, {from}"),
        )
        .with_hint("-r names the repository to copy into, --from-repo the one to copy from."));
    }
    if !from.exists() {
        return Err(UmbraError::new(
            ErrorKind::RepositoryMissing,
            format!("the repository {from} (--from-repo) does not exist"),
        )
        .with_hint("Check --from-repo (or UMBRA_FROM_REPOSITORY)."));
    }
    let from_password = match (from_password_file, std::env::var("UMBRA_FROM_PASSWORD")) {
        (Some(file), _) => read_password_file(file)?,
        (None, Ok(pw)) if !pw.is_empty() => pw,
        _ => prompt_password(&format!("password for {from}: ")).map_err(|e| {
            e.with_hint(
                "Give the password of --from-repo with --from-password-file or \
                 UMBRA_FROM_PASSWORD.",
            )
        })?,
    };
    Repo::open(
        &from,
        &from_password,
        OpenOptions {
            lock: Some(LockKind::Shared),
            bypass_cache: false,
        },
        out.monitor(),
    )
}

pub fn run(args: &CopyArgs, settings: &Settings, out: &Output) -> Result<Finished> {
    let source = open_from(
        &args.from_repo,
        args.from_password_file.as_deref(),
        settings,
        out,
    )?;
    let dest = super::open(settings, Some(LockKind::Shared), out)?;
    let into = dest.location().to_string();
    let outcome = source.copy_to(dest, &args.snapshots)?;
    out.summary(format!(
        "copied {} snapshot(s) into {into}; {} already there",
        outcome.copied.len(),
        outcome.already_there.len()
    ));
    out.json(&serde_json::json!({
        "message_type": "summary",
        "copied": outcome.copied,
        "already_there": outcome.already_there,
    }));
    Ok(Finished::Ok)
}
