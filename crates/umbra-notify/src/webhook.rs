//! A webhook: one JSON document per event, POSTed to a URL of the operator's, signed
//! when the job names a secret.
//!
//! The document is the run record exactly as `umbra history --json` prints it, with four
//! fields added in front: `schema` ([`SCHEMA`], raised when a field changes meaning or
//! goes), `event`, `host` and `summary`. docs/MONITORING.md lists every field.
//!
//! With a secret, `X-Umbra-Signature: sha256=HEX` carries HMAC-SHA256(secret, body) over
//! the exact bytes sent, as GitHub signs its webhooks; the receiver recomputes it over the
//! raw body before parsing it, and compares in constant time.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::{redact, Notification, Request, Service};

/// The version of the document's shape.
pub const SCHEMA: &str = "umbra.notification/1";

/// The receiver's URL and the shared secret (read from the job file's `secret_file`).
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &redact::url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Service for Webhook {
    fn label(&self) -> String {
        format!("webhook {}", redact::url(&self.url))
    }

    fn request(&self, n: &Notification) -> Option<Request> {
        let body = document(n).to_string().into_bytes();
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("X-Umbra-Event".to_string(), n.event.as_str().to_string()),
        ];
        if let Some(secret) = &self.secret {
            headers.push((
                "X-Umbra-Signature".into(),
                format!("sha256={}", sign(secret, &body)),
            ));
        }
        Some(Request {
            url: self.url.clone(),
            headers,
            body,
        })
    }
}

/// The JSON document of `n`: the run record with `schema`, `event`, `host` and `summary`.
#[must_use]
pub fn document(n: &Notification) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("schema".into(), SCHEMA.into());
    doc.insert("event".into(), n.event.as_str().into());
    doc.insert("host".into(), n.host.clone().into());
    doc.insert("summary".into(), n.summary.clone().into());
    if let serde_json::Value::Object(record) = &n.record {
        for (k, v) in record {
            doc.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    serde_json::Value::Object(doc)
}

/// HMAC-SHA256 of `body` under `secret`, in lower-case hex.
#[must_use]
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
