//! Who may use the console, and the browser attacks it refuses.
//!
//! umbra runs as root and restores files, so the console is as careful as `sshd`:
//! - an access token (256 random bits, in the state directory with mode 0600) is the
//!   only way in; `/login?token=...` exchanges it for an `HttpOnly`, `SameSite=Strict`
//!   session cookie, and API clients send `Authorization: Bearer TOKEN`;
//! - a read-only token (`--read-only-token`) sees and downloads, never runs or restores;
//! - the `Host` header must name the address the console listens on (DNS rebinding);
//! - a request that changes anything is a POST from the same origin carrying the
//!   session's CSRF token (or a Bearer token, which a browser never sends by itself);
//! - every response forbids framing and foreign scripts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use umbra_core::{ErrorKind, Result, UmbraError};

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything: see, download, run, restore.
    Admin,
    /// See and download only.
    ReadOnly,
}

/// The name of the session cookie.
pub const COOKIE: &str = "umbra_session";

/// The tokens the console accepts, read from (or created in) `dir`.
#[derive(Debug)]
pub struct Tokens {
    admin: String,
    read_only: Option<String>,
    pub admin_file: PathBuf,
}

impl Tokens {
    /// Reads the access token from `dir/token`, creating it (mode 0600) on first start;
    /// with `read_only`, the same for `dir/read-only-token`.
    pub fn load_or_create(dir: &Path, read_only: bool) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| UmbraError::io("cannot create the console's directory", dir, e))?;
        let admin_file = dir.join("token");
        let admin = token_in(&admin_file)?;
        let read_only = if read_only {
            Some(token_in(&dir.join("read-only-token"))?)
        } else {
            None
        };
        Ok(Self {
            admin,
            read_only,
            admin_file,
        })
    }

    #[must_use]
    pub fn admin(&self) -> &str {
        &self.admin
    }

    #[must_use]
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// The role a presented token grants, compared in constant time.
    #[must_use]
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        if same(presented, &self.admin) {
            Some(Role::Admin)
        } else if self
            .read_only
            .as_deref()
            .is_some_and(|t| same(presented, t))
        {
            Some(Role::ReadOnly)
        } else {
            None
        }
    }
}

/// The token stored in `file`, or a new one written there with mode 0600.
fn token_in(file: &Path) -> Result<String> {
    if let Ok(text) = std::fs::read_to_string(file) {
        let token = text.trim().to_string();
        if token.len() >= 43 {
            return Ok(token);
        }
    }
    let token = random_hex(32);
    let tmp = file.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(token.as_bytes())?;
        f.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| UmbraError::io("cannot write the console's access token", file, e))?;
    Ok(token)
}

/// `n` random bytes as hex.
#[must_use]
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal strings, compared without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub role: Role,
    /// Sent back with every state-changing form and request.
    pub csrf: String,
}

/// The sessions of this console process (a restart logs every browser out).
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session for `role`; returns its cookie value.
    pub fn open(&self, role: Role) -> String {
        let id = random_hex(32);
        let session = Session {
            role,
            csrf: random_hex(16),
        };
        if let Ok(mut map) = self.by_id.lock() {
            map.insert(id.clone(), session);
        }
        id
    }

    #[must_use]
    pub fn get(&self, id: &str) -> Option<Session> {
        self.by_id.lock().ok()?.get(id).cloned()
    }

    pub fn close(&self, id: &str) {
        if let Ok(mut map) = self.by_id.lock() {
            map.remove(id);
        }
    }
}

/// Who a request is, as the guard found out.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// The browser session's CSRF token; `None` for Bearer clients.
    pub csrf: Option<String>,
    /// The session cookie, for logging out.
    pub session: Option<String>,
}

impl Caller {
    /// Fails unless the caller may change things.
    pub fn require_admin(&self) -> std::result::Result<(), Refusal> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "the read-only token can see and download, not run, restore or change anything",
            ))
        }
    }
}

/// Why a request was refused, with the status it gets.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    #[must_use]
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// The value of cookie `name` in `headers`.
#[must_use]
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The token of an `Authorization: Bearer` header.
#[must_use]
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The `Host` check: the header must be one of `allowed` (DNS rebinding sends a foreign
/// name to a loopback address).
pub fn check_host(headers: &HeaderMap, allowed: &[String]) -> std::result::Result<(), Refusal> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this console answers to {}, not to the host `{host}`",
                allowed.join(", ")
            ),
        ))
    }
}

/// The same-origin check of a state-changing request: `Origin` (or, without it,
/// `Referer`) must be the console's own; a browser that sends neither is refused, and so
/// is any method but POST.
pub fn check_same_origin(
    method: &Method,
    headers: &HeaderMap,
    origins: &[String],
) -> std::result::Result<(), Refusal> {
    if method != Method::POST {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "only POST changes anything here",
        ));
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            let referer = headers.get(header::REFERER)?.to_str().ok()?;
            let rest = referer.split_once("://")?;
            let host = rest.1.split('/').next()?;
            Some(format!("{}://{host}", rest.0))
        });
    match origin {
        Some(o) if origins.iter().any(|a| a.eq_ignore_ascii_case(&o)) => Ok(()),
        Some(o) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!("a request from {o} may not change anything here (cross-origin)"),
        )),
        None => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "a state-changing request must say where it comes from (Origin)",
        )),
    }
}

/// The headers every response carries.
pub fn harden(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, "x-frame-options", "DENY");
    set(headers, "x-content-type-options", "nosniff");
    // Not `no-referrer`: under it a browser sends `Origin: null` with its own forms.
    set(headers, "referrer-policy", "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
}

/// The error for a listen address the console must not use without TLS.
#[must_use]
pub fn plain_http_refused(addr: &str) -> UmbraError {
    UmbraError::new(
        ErrorKind::InvalidInput,
        format!("--listen {addr} is not a loopback address, and the console would serve it without TLS"),
    )
    .with_hint("Give --tls-cert and --tls-key, or --insecure-http if the network is trusted (the token then crosses it in the clear).")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_created_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("umbra-web-tokens-{}", random_hex(4)));
        let t = Tokens::load_or_create(&dir, true).unwrap();
        assert_eq!(t.admin().len(), 64);
        assert_eq!(t.role_of(t.admin()), Some(Role::Admin));
        assert_eq!(t.role_of(t.read_only().unwrap()), Some(Role::ReadOnly));
        assert_eq!(t.role_of("nope"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Tokens::load_or_create(&dir, false).unwrap();
        assert_eq!(again.admin(), t.admin());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn origins_and_hosts_are_checked() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9474"));
        assert!(check_host(&h, &["127.0.0.1:9474".into()]).is_ok());
        assert!(check_host(&h, &["localhost:9474".into()]).is_err());
        let origins = vec!["http://127.0.0.1:9474".to_string()];
        assert!(check_same_origin(&Method::POST, &h, &origins).is_err());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(check_same_origin(&Method::POST, &h, &origins).is_err());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9474"),
        );
        assert!(check_same_origin(&Method::POST, &h, &origins).is_ok());
        assert!(check_same_origin(&Method::GET, &h, &origins).is_err());
    }
}
