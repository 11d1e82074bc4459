//! One plain request to a remote repository before anything else, so that an unreachable
//! server, refused credentials and a missing repository each get their own clear error at
//! once, instead of rustic_core's retries (half a minute) ending in "no config file".

use std::time::Duration;

use umbra_core::{ErrorKind, Result, UmbraError};

/// How long the first request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a REST server says about a repository's `config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The repository exists.
    Exists,
    /// The server answers, and has no repository there.
    Missing,
}

/// Asks a REST server (`url` ends with `/`) for the repository's config file. `shown` is
/// the location with its password redacted, for messages.
pub(crate) fn probe_rest(url: &str, shown: &str) -> Result<Probe> {
    let client = reqwest::blocking::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot build an HTTP client").with_source(e)
        })?;
    let answer = client.head(format!("{url}config")).send();
    let response = match answer {
        Ok(r) => r,
        Err(e) => return Err(unreachable(shown, &e)),
    };
    match response.status().as_u16() {
        200..=299 => Ok(Probe::Exists),
        404 => Ok(Probe::Missing),
        401 | 403 => Err(UmbraError::new(
            ErrorKind::WrongPassword,
            format!("the REST server at {shown} refused the credentials (HTTP {})", response.status()),
        )
        .with_hint("Check the user and password in the URL (`rest:https://user:password@host/path`) against the server's htpasswd.")),
        code => Err(UmbraError::new(
            ErrorKind::Io,
            format!("the REST server at {shown} answered HTTP {code} when asked for the repository's config"),
        )
        .with_hint("Check the server's log; the URL must name the repository's directory on the server.")),
    }
}

/// The error for a server that could not be asked at all.
fn unreachable(shown: &str, e: &reqwest::Error) -> UmbraError {
    let chain = error_chain(e);
    let (what, hint) = if e.is_timeout() {
        (
            format!("did not answer within {} s", PROBE_TIMEOUT.as_secs()),
            "Check that the server is up and not overloaded, and that no firewall drops the packets.",
        )
    } else if chain.contains("dns error") || chain.contains("failed to lookup") {
        (
            "has a host name that does not resolve".to_string(),
            "Check the host name in the location.",
        )
    } else if chain.contains("Connection refused") {
        (
            "refused the connection: nothing listens there".to_string(),
            "Check the port, and that the REST server (rest-server, `rclone serve restic`) runs.",
        )
    } else {
        (
            format!("cannot be reached ({chain})"),
            "Check the URL, the network and the server.",
        )
    };
    UmbraError::new(ErrorKind::Io, format!("the REST server at {shown} {what}")).with_hint(hint)
}

/// An error and its causes, in one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.join(": ")
}
