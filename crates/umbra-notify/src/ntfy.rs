//! ntfy: one message per event to a topic URL (`https://ntfy.sh/TOPIC` or a server of
//! your own), titled with the host and the job, the one-line summary as its text, and on
//! a failure a higher priority and a tag, so that phones ring for failures only.

use crate::{redact, EventKind, Notification, Request, Service};

/// A topic URL, and an access token for servers that need one.
#[derive(Clone)]
pub struct Ntfy {
    pub url: String,
    /// Sent as `Authorization: Bearer TOKEN` (read from the job file's `token_file`).
    pub token: Option<String>,
}

/// The topic and the token are secrets: even `{:?}` shows neither.
impl std::fmt::Debug for Ntfy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Service for Ntfy {
    fn label(&self) -> String {
        format!("ntfy {}", redact::url(&self.url))
    }

    fn request(&self, n: &Notification) -> Option<Request> {
        // ntfy's priorities: 3 is the default, 4 "high" (a sound and a pop-over).
        let (priority, tags) = match n.event {
            EventKind::Failure => ("4", "rotating_light,umbra"),
            EventKind::Warning => ("3", "warning,umbra"),
            EventKind::Success => ("3", "white_check_mark,umbra"),
            EventKind::Start | EventKind::Test => ("3", "umbra"),
        };
        let title = format!("umbra: job {} on {}: {}", n.job, n.host, n.event.as_str());
        let mut headers = vec![
            ("Title".to_string(), header_safe(&title)),
            ("Priority".to_string(), priority.to_string()),
            ("Tags".to_string(), tags.to_string()),
        ];
        if let Some(token) = &self.token {
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        Some(Request {
            url: self.url.clone(),
            headers,
            body: n.summary.clone().into_bytes(),
        })
    }
}

/// HTTP header values are ASCII: anything else (a host name in another script) becomes `?`.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_is_louder_and_tagged() {
        let n = Notification {
            event: EventKind::Failure,
            job: "db".into(),
            host: "höst".into(),
            run_id: "r".into(),
            summary: "job db: failed".into(),
            record: serde_json::Value::Null,
            log_tail: String::new(),
        };
        let r = Ntfy {
            url: "https://ntfy.sh/t".into(),
            token: None,
        }
        .request(&n)
        .unwrap();
        assert!(r
            .headers
            .contains(&("Priority".to_string(), "4".to_string())));
        assert!(r.headers.contains(&(
            "Title".to_string(),
            "umbra: job db on h?st: failure".to_string()
        )));
    }
}
