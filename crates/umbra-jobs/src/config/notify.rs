//! `[notify]` and `[jobs.NAME.notify]`: who is told about a run, and of which events.
//!
//! The file-level table gives every job its targets; a job's own table adds targets, and
//! replaces a file-level target of the same service (a job may ping its own healthchecks
//! check while sharing the ntfy topic). Each table's `on` is the default of its targets;
//! a target's own `on` wins. Secrets (`secret_file`, `token_file`) are read when a run
//! starts, not when the file is loaded: `umbra jobs` as another user must not need them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use umbra_core::Result;
use umbra_notify::{EventKind, Target};

use super::absolute;
use super::locate::{KeyPath, Locator, Origin};
use super::raw::{RawNotify, RawTarget};

/// The notification services umbra speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Healthchecks,
    Ntfy,
    Webhook,
}

impl ServiceKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthchecks => "healthchecks",
            Self::Ntfy => "ntfy",
            Self::Webhook => "webhook",
        }
    }
}

/// One target, as the job file names it.
#[derive(Clone)]
pub struct NotifySpec {
    pub service: ServiceKind,
    pub url: String,
    pub on: Vec<EventKind>,
    pub timeout: Duration,
    /// `webhook`: the file holding the HMAC secret.
    pub secret_file: Option<PathBuf>,
    /// `ntfy`: the file holding an access token.
    pub token_file: Option<PathBuf>,
    pub origin: Origin,
}

impl std::fmt::Debug for NotifySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl NotifySpec {
    /// The service and its redacted URL.
    #[must_use]
    pub fn label(&self) -> String {
        format!(
            "{} {}",
            self.service.as_str(),
            umbra_notify::redact::url(&self.url)
        )
    }

    /// The files this target reads when a run starts.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.secret_file.iter().chain(&self.token_file)
    }

    /// The target, with its secrets read; an error (for the run's record) when a secret
    /// cannot be read.
    pub fn target(&self) -> std::result::Result<Target, String> {
        let read = |path: &Path, what: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
        };
        let service: Arc<dyn umbra_notify::Service> = match self.service {
            ServiceKind::Healthchecks => Arc::new(umbra_notify::healthchecks::Healthchecks {
                url: self.url.clone(),
            }),
            ServiceKind::Ntfy => Arc::new(umbra_notify::ntfy::Ntfy {
                url: self.url.clone(),
                token: self
                    .token_file
                    .as_deref()
                    .map(|p| read(p, "token_file"))
                    .transpose()?,
            }),
            ServiceKind::Webhook => Arc::new(umbra_notify::webhook::Webhook {
                url: self.url.clone(),
                secret: self
                    .secret_file
                    .as_deref()
                    .map(|p| read(p, "secret_file").map(String::into_bytes))
                    .transpose()?,
            }),
        };
        Ok(Target {
            service,
            on: self.on.clone(),
            timeout: self.timeout,
        })
    }
}

/// The events of `on = [...]` at `at`, or a config error naming the bad one.
fn events(names: &[String], at: &KeyPath, loc: &Locator<'_>) -> Result<Vec<EventKind>> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            EventKind::parse(n).ok_or_else(|| {
                loc.error(
                    &at.index(i),
                    format!("`{n}` is not an event; expected start, success, warning or failure"),
                )
            })
        })
        .collect()
}

/// The targets of one `[notify]` table.
pub(super) fn resolve_table(
    raw: RawNotify,
    at: &KeyPath,
    base: &Path,
    loc: &Locator<'_>,
) -> Result<Vec<NotifySpec>> {
    let table_on = raw
        .on
        .as_ref()
        .map(|on| events(on, &at.key("on"), loc))
        .transpose()?;
    let timeout = raw.timeout.map_or(umbra_notify::DEFAULT_TIMEOUT, |t| t.0);
    if timeout.is_zero() {
        return Err(loc.error(
            &at.key("timeout"),
            "a timeout of 0 sends nothing; expected at least 1s",
        ));
    }
    let mut specs = Vec::new();
    for (service, target) in [
        (ServiceKind::Healthchecks, raw.healthchecks),
        (ServiceKind::Ntfy, raw.ntfy),
        (ServiceKind::Webhook, raw.webhook),
    ] {
        let Some(target) = target else { continue };
        let tat = at.key(service.as_str());
        specs.push(resolve_target(
            service,
            target.0,
            table_on.as_deref(),
            timeout,
            &tat,
            base,
            loc,
        )?);
    }
    Ok(specs)
}

fn resolve_target(
    service: ServiceKind,
    t: RawTarget,
    table_on: Option<&[EventKind]>,
    timeout: Duration,
    at: &KeyPath,
    base: &Path,
    loc: &Locator<'_>,
) -> Result<NotifySpec> {
    umbra_notify::check_url(&t.url).map_err(|e| loc.error(at, e))?;
    if t.secret_file.is_some() && service != ServiceKind::Webhook {
        return Err(loc.error(
            &at.key("secret_file"),
            format!(
                "`secret_file` signs webhooks; {} takes none",
                service.as_str()
            ),
        ));
    }
    if t.token_file.is_some() && service != ServiceKind::Ntfy {
        return Err(loc.error(
            &at.key("token_file"),
            format!(
                "`token_file` is ntfy's access token; {} takes none",
                service.as_str()
            ),
        ));
    }
    let on = match &t.on {
        Some(on) => events(on, &at.key("on"), loc)?,
        None => table_on.map_or_else(
            || umbra_notify::default_events(service == ServiceKind::Healthchecks),
            <[EventKind]>::to_vec,
        ),
    };
    Ok(NotifySpec {
        service,
        url: t.url,
        on,
        timeout,
        secret_file: t.secret_file.map(|p| absolute(base, &p)),
        token_file: t.token_file.map(|p| absolute(base, &p)),
        origin: loc.origin(at),
    })
}

/// A job's targets: its own, and the file's for the services it does not name itself.
pub(super) fn merge(file: &[NotifySpec], job: Vec<NotifySpec>) -> Vec<NotifySpec> {
    let mut all: Vec<NotifySpec> = file
        .iter()
        .filter(|f| !job.iter().any(|j| j.service == f.service))
        .cloned()
        .collect();
    all.extend(job);
    all
}
