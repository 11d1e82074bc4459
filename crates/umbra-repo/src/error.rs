//! Turning rustic_core's errors into umbra's.
//!
//! rustic_core's messages are written for rustic's users and mention rustic's flags.
//! We keep the error as the source (shown with `-v`) and put our own message and hint
//! first. A few conditions matter enough to get their own kind: a wrong password, a full
//! disk, damaged repository data.

use rustic_core::RusticError;
use umbra_core::{ErrorKind, UmbraError};

/// Wraps a rustic_core error that happened while `doing` something.
pub(crate) fn from_rustic(doing: &str, err: Box<RusticError>) -> UmbraError {
    from_rustic_at(doing, err, None)
}

/// The same, naming the repository (as shown, without secrets) when its store failed.
pub(crate) fn from_rustic_at(
    doing: &str,
    err: Box<RusticError>,
    location: Option<&str>,
) -> UmbraError {
    if err.is_incorrect_password() {
        return UmbraError::new(
            ErrorKind::WrongPassword,
            "wrong password: no key of the repository opens with the given password",
        )
        .with_source(*err);
    }
    let log = err.display_log();
    if os_error_code(&err) == Some(28) || log.contains("No space left on device") {
        return UmbraError::new(
            ErrorKind::DiskFull,
            format!("{doing}: no space left on the device"),
        )
        .with_source(*err);
    }
    // A blob the index does not name: the repository's index is damaged or incomplete
    // (restic's `repo-index-missing`, `repo-index-missing-blob`), not a bug.
    if log.contains("not found in index") || log.contains("is missing in index") {
        let guidance = log.strip_prefix("Error: ").unwrap_or(&log);
        let guidance = guidance.split(" (kind:").next().unwrap_or(guidance);
        return UmbraError::new(
            ErrorKind::RepositoryDamaged,
            format!("{doing}: {}", in_umbras_words(guidance)),
        )
        .with_hint(
            "The repository's index does not name data a snapshot needs. Keep a copy of the \
             repository, then run `umbra repair index --read-all-packs` (it rebuilds the index \
             from the packs) and `umbra check`.",
        )
        .with_source(*err);
    }
    if let Some(remote) = remote_failure(&err, location) {
        // No source attached: a request's URL may carry the repository's password.
        return UmbraError::new(ErrorKind::Io, format!("{doing}: {remote}")).with_hint(
            "Check that the server is up and reachable; each request was tried again with \
             backoff (`-o s3.retry=N`, `-o s3.timeout=30s` tune it; `rest.`, `sftp.` \
             likewise). What was stored before is untouched: run the command again once the \
             server answers.",
        );
    }
    // display_log reads "Error: <guidance> (kind: related to <kind>, code: ..): caused by: ..".
    let kind = if log.contains("related to cryptographic operations")
        || log.contains("related to verification")
    {
        ErrorKind::RepositoryDamaged
    } else if log.contains("related to input/output") || log.contains("related to the backend") {
        ErrorKind::Io
    } else if log.contains("related to invalid user input")
        || log.contains("related to missing user input")
    {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Internal
    };
    let guidance = log.strip_prefix("Error: ").unwrap_or(&log);
    let guidance = guidance.split(" (kind:").next().unwrap_or(guidance);
    UmbraError::new(kind, format!("{doing}: {}", in_umbras_words(guidance))).with_source(*err)
}

/// rustic_core's advice names rustic's commands; umbra has its own.
pub(crate) fn in_umbras_words(text: &str) -> String {
    text.replace("'rustic repair index'", "`umbra repair index`")
        .replace("`rustic check --read-data`", "`umbra check --read-data`")
        .replace("`rustic check`", "`umbra check`")
}

/// What went wrong with a remote store's request, in words that name the server (its
/// scheme, host and port: never the URL, which may carry a password).
fn remote_failure(err: &RusticError, location: Option<&str>) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            let server = r.url().map_or_else(
                || "the repository's server".to_string(),
                |u| {
                    format!(
                        "the server {}://{}{}",
                        u.scheme(),
                        u.host_str().unwrap_or("?"),
                        u.port().map(|p| format!(":{p}")).unwrap_or_default()
                    )
                },
            );
            let what = if r.is_timeout() {
                "did not answer in time".to_string()
            } else if r.is_connect() {
                "cannot be reached (the connection was refused or failed)".to_string()
            } else if r.is_body() || r.is_request() {
                "dropped the connection in the middle of a request".to_string()
            } else if let Some(status) = r.status() {
                format!("answered HTTP {status}")
            } else {
                format!(
                    "failed a request ({})",
                    r.to_string().split(" for url").next().unwrap_or_default()
                )
            };
            return Some(format!("{server} {what}, also after retrying"));
        }
        if let Some(o) = e.downcast_ref::<opendal::Error>() {
            return Some(opendal_failure(o, location));
        }
        cur = e.source();
    }
    None
}

/// The same for S3 and SFTP (opendal): its error names the service, and says whether a
/// timeout, a refused connection or the server's answer ended the request.
fn opendal_failure(e: &opendal::Error, location: Option<&str>) -> String {
    let text = e.to_string();
    let server = if text.contains("service: sftp") || text.contains("sftp error") {
        "the SFTP server"
    } else {
        "the S3 server"
    };
    let what = if text.contains("timeout") || text.contains("timed out") {
        "did not answer in time".to_string()
    } else if text.contains("Connection refused") || text.contains("connect error") {
        "cannot be reached (the connection was refused or failed)".to_string()
    } else if e.kind() == opendal::ErrorKind::PermissionDenied {
        "refused the request (permission denied)".to_string()
    } else if text.contains("ssh error") || text.contains("Broken pipe") || text.contains("reset") {
        "dropped the connection in the middle of a request".to_string()
    } else {
        format!("failed a request ({})", e.kind())
    };
    match location {
        Some(at) => format!("{server} of {at} {what}, also after retrying"),
        None => format!("{server} {what}, also after retrying"),
    }
}

/// The OS error code behind a rustic error, if its cause chain holds one.
fn os_error_code(err: &RusticError) -> Option<i32> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cur {
        if let Some(code) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return Some(code);
        }
        cur = e.source();
    }
    None
}

/// For `.map_err(rustic("doing something"))`.
pub(crate) fn rustic(doing: &'static str) -> impl Fn(Box<RusticError>) -> UmbraError {
    move |err| from_rustic(doing, err)
}
