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

/// Asks an S3 or SFTP store for the repository's config file, with opendal itself (no
/// retries, a short timeout); for S3, when there is none, whether the bucket exists.
/// `scheme` is opendal's (`s3`, `sftp`), `options` its configuration.
pub(crate) fn probe_store(
    scheme: &str,
    options: &std::collections::BTreeMap<String, String>,
    shown: &str,
) -> Result<Probe> {
    let sftp = scheme == "sftp";
    let internal = |what: &str, e: &dyn std::fmt::Display| {
        UmbraError::new(ErrorKind::Internal, format!("{what}: {e}"))
    };
    // opendal's SFTP creates its root directory when it connects: the probe asks from `/`
    // so that a mistyped path is not left behind as an empty directory.
    let mut config: std::collections::BTreeMap<String, String> = options
        .iter()
        .filter(|(k, _)| !["retry", "timeout", "connections"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let config_path = if sftp {
        let root = config.insert("root".into(), "/".into()).unwrap_or_default();
        format!("{}/config", root.trim_matches('/'))
    } else {
        "config".to_string()
    };
    let operator = opendal::Operator::via_iter(scheme, config)
        .map_err(|e| store_error(&e, shown, sftp))?
        .layer(
            opendal::layers::TimeoutLayer::new()
                .with_timeout(PROBE_TIMEOUT)
                .with_io_timeout(PROBE_TIMEOUT),
        );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| internal("cannot start the network runtime", &e))?;
    runtime.block_on(async {
        match operator.stat(&config_path).await {
            Ok(_) => return Ok(Probe::Exists),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
            Err(e) => return Err(store_error(&e, shown, sftp)),
        }
        if sftp {
            return Ok(Probe::Missing);
        }
        match operator.list_with("").limit(1).await {
            Ok(_) => Ok(Probe::Missing),
            Err(e)
                if e.kind() == opendal::ErrorKind::NotFound
                    || error_chain(&e).contains("NoSuchBucket")
                    || error_chain(&e).contains("status: 404") =>
            {
                Err(UmbraError::new(
                ErrorKind::RepositoryMissing,
                format!("the S3 bucket of {shown} does not exist"),
            )
            .with_hint("Create the bucket first (umbra, like restic, does not create buckets), or check its name."))
            }
            Err(e) => Err(store_error(&e, shown, sftp)),
        }
    })
}

/// What a failed first request to S3 or SFTP means, from opendal's error kind and the
/// words of the server (S3's error code) or of ssh.
fn store_error(e: &opendal::Error, shown: &str, sftp: bool) -> UmbraError {
    let chain = error_chain(e);
    let has = |s: &str| chain.contains(s);
    let server = if sftp { "SFTP server" } else { "S3 server" };
    let denied = e.kind() == opendal::ErrorKind::PermissionDenied;
    let (kind, what, hint): (ErrorKind, String, &str) = if !sftp
        && (denied || has("InvalidAccessKeyId") || has("SignatureDoesNotMatch"))
    {
        (
            ErrorKind::WrongPassword,
            "refused the credentials".into(),
            "Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's policy.",
        )
    } else if has("AuthorizationHeaderMalformed") || has("PermanentRedirect") || has("status: 301")
    {
        (
            ErrorKind::InvalidInput,
            "says the bucket is in another region than the one umbra signed for".into(),
            "Set the bucket's region with AWS_DEFAULT_REGION or `-o s3.region=REGION` (or name it in the host: s3.REGION.amazonaws.com).",
        )
    } else if has("failed to load signing credential") || has("signing credential expires") {
        (
            ErrorKind::InvalidInput,
            "cannot be asked: umbra found no S3 credentials".into(),
            "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE for a profile in ~/.aws/credentials.",
        )
    } else if has("Permission denied (") || has("Too many authentication failures") {
        (
            ErrorKind::WrongPassword,
            "refused the login".into(),
            "Check the user, and that `ssh user@host` logs in with a key and without a prompt (ssh-agent, or IdentityFile in ~/.ssh/config).",
        )
    } else if has("Host key verification failed") || has("IDENTIFICATION HAS CHANGED") {
        (
            ErrorKind::Io,
            "has a host key that ssh does not know or trust".into(),
            "Connect once with `ssh user@host`, compare the key's fingerprint, and accept it into known_hosts.",
        )
    } else if has("Could not resolve hostname") || has("dns error") || has("failed to lookup") {
        (
            ErrorKind::Io,
            "has a host name that does not resolve".into(),
            "Check the host name in the location.",
        )
    } else if has("Connection refused") {
        (
            ErrorKind::Io,
            "refused the connection: nothing listens there".into(),
            "Check the host and port, and that the server runs.",
        )
    } else if has("timed out") || has("timeout") || has("Timeout") {
        (
            ErrorKind::Io,
            format!("did not answer within {} s", PROBE_TIMEOUT.as_secs()),
            "Check that the server is up and not overloaded, and that no firewall drops the packets.",
        )
    } else if denied {
        (
            ErrorKind::Io,
            "does not let umbra read the repository's directory".into(),
            "Check the directory's owner and mode on the server.",
        )
    } else {
        (
            ErrorKind::Io,
            format!("cannot be used ({})", first_line(&chain)),
            "Check the location, the network and the server.",
        )
    };
    UmbraError::new(kind, format!("the {server} of {shown} {what}")).with_hint(hint)
}

fn first_line(s: &str) -> &str {
    let s = s.lines().next().unwrap_or(s);
    match s.char_indices().nth(300) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
