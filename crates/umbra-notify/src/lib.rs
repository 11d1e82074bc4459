//! umbra's notifications: tell someone when a backup did not happen.
//!
//! A job names *targets* (healthchecks, ntfy, a webhook); a run produces *events*
//! (`start`, `success`, `warning`, `failure`). Each service turns an event into one HTTP
//! request ([`Service::request`], pure, so what is sent can be tested without a network);
//! [`delivery`] sends the requests of every target at once, each with its own timeout and
//! at most three tries, and reports what each answered.
//!
//! Why a crate of its own: it is the only part of umbra that speaks HTTP to arbitrary
//! hosts, and the rule it keeps is simple to state and check here: **delivery never harms
//! the backup**. It never panics on an answer, never waits longer than [`Limits::bound`],
//! and a failure is a [`Delivery`] record, never an error that could change a job's exit
//! status.
//!
//! Secrets: the URLs of healthchecks and ntfy carry tokens. Nothing here prints or returns
//! a URL except through [`redact::url`].

pub mod delivery;
pub mod healthchecks;
pub mod ntfy;
pub mod redact;
pub mod webhook;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use delivery::{deliver, Delivery, Limits};

/// What happened to a run, as a notification names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The job started (before anything was stopped or read).
    Start,
    /// The run saved its snapshot, and nothing is worse than the job asked for.
    Success,
    /// The run saved its snapshot, but something is less than asked: files changed while
    /// read or unreadable, a source below the consistency its setting asked for, or a
    /// notification of the previous run that failed.
    Warning,
    /// The run saved nothing, or a phase after the backup failed.
    Failure,
    /// `umbra notify test`: changes no state at the receiver where the service allows it.
    Test,
}

impl EventKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Failure => "failure",
            Self::Test => "test",
        }
    }

    /// Parses a name as the job file writes it.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "start" => Some(Self::Start),
            "success" => Some(Self::Success),
            "warning" => Some(Self::Warning),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// One event of one run, with everything any service may put in its request.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event: EventKind,
    pub job: String,
    pub host: String,
    /// The run's id (its start time), the same for the start and the end of one run.
    pub run_id: String,
    /// One line: status, files, bytes added, duration, downtime, consistency per source.
    pub summary: String,
    /// The run record as `umbra history --json` prints it (partial for `start`).
    pub record: serde_json::Value,
    /// The end of the run's log, at most [`LOG_TAIL_BYTES`].
    pub log_tail: String,
}

/// How much of the log a healthchecks ping carries (healthchecks keeps 10 KB by default).
pub const LOG_TAIL_BYTES: usize = 10_000;

/// One HTTP request, as a service builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A notification service: healthchecks, ntfy, a webhook.
pub trait Service: Send + Sync + std::fmt::Debug {
    /// The service and its redacted URL, for logs and records: `ntfy https://ntfy.sh/ba…`.
    fn label(&self) -> String;
    /// The request that tells this service about `n`, or `None` when the service has
    /// nothing to say about this kind of event.
    fn request(&self, n: &Notification) -> Option<Request>;
}

/// One configured target: a service and the events it is told about.
#[derive(Debug, Clone)]
pub struct Target {
    pub service: std::sync::Arc<dyn Service>,
    pub on: Vec<EventKind>,
    /// The timeout of one request.
    pub timeout: Duration,
}

impl Target {
    #[must_use]
    pub fn wants(&self, event: EventKind) -> bool {
        event == EventKind::Test || self.on.contains(&event)
    }
}

/// The default timeout of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The events a target is told about when its table does not say.
#[must_use]
pub fn default_events(healthchecks: bool) -> Vec<EventKind> {
    if healthchecks {
        vec![
            EventKind::Start,
            EventKind::Success,
            EventKind::Warning,
            EventKind::Failure,
        ]
    } else {
        vec![EventKind::Failure, EventKind::Warning]
    }
}

/// Checks that `url` is an http(s) URL with a host, as every service needs.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{}` is not an http:// or https:// URL", redact::url(url)))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("`{}` has no host", redact::url(url)));
    }
    Ok(())
}
