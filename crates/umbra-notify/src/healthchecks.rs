//! healthchecks.io (and self-hosted Healthchecks): `/start` when a run starts, the plain
//! URL when it saved its snapshot, `/fail` when it did not, each with the tail of the
//! run's log as the body and `?rid=` so that runs of the same check are told apart.
//!
//! The start ping matters most: a job that hangs, or a machine that is off, sends no end
//! ping, and healthchecks' own grace time turns the silence into an alert. `umbra notify
//! test` posts to `/log`, which healthchecks records without changing the check's state.
//! A warning is a success here (the snapshot exists); its body says what was less than
//! asked, and ntfy or a webhook can carry it as a warning of its own.

use sha2::{Digest, Sha256};

use crate::{redact, EventKind, Notification, Request, Service};

/// A check's ping URL: `https://hc-ping.com/UUID` or `https://hc.example.org/ping/KEY/slug`.
#[derive(Clone)]
pub struct Healthchecks {
    pub url: String,
}

/// The URL is the check's secret: even `{:?}` shows it redacted.
impl std::fmt::Debug for Healthchecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Service for Healthchecks {
    fn label(&self) -> String {
        format!("healthchecks {}", redact::url(&self.url))
    }

    fn request(&self, n: &Notification) -> Option<Request> {
        let suffix = match n.event {
            EventKind::Start => "/start",
            EventKind::Success | EventKind::Warning => "",
            EventKind::Failure => "/fail",
            EventKind::Test => "/log",
        };
        let base = self.url.trim_end_matches('/');
        let body = match n.event {
            EventKind::Start => format!("{}\n", n.summary),
            _ => format!("{}\n\n{}", n.summary, n.log_tail),
        };
        Some(Request {
            url: format!("{base}{suffix}?rid={}", run_uuid(&n.job, &n.run_id)),
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into_bytes(),
        })
    }
}

/// A UUID (version 4 in form) derived from the job and the run's id, so that the start
/// ping and the end ping of one run carry the same `rid`, as healthchecks requires.
#[must_use]
pub fn run_uuid(job: &str, run_id: &str) -> String {
    let digest = Sha256::digest(format!("{job}\0{run_id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(event: EventKind) -> Notification {
        Notification {
            event,
            job: "db".into(),
            host: "h".into(),
            run_id: "20261201T100000.000Z".into(),
            summary: "job db: success".into(),
            record: serde_json::Value::Null,
            log_tail: "log".into(),
        }
    }

    #[test]
    fn pings_start_success_and_fail_with_one_run_id() {
        let hc = Healthchecks {
            url: "https://hc-ping.com/abc/".into(),
        };
        let start = hc.request(&note(EventKind::Start)).unwrap();
        let end = hc.request(&note(EventKind::Failure)).unwrap();
        let rid = run_uuid("db", "20261201T100000.000Z");
        assert_eq!(
            start.url,
            format!("https://hc-ping.com/abc/start?rid={rid}")
        );
        assert_eq!(end.url, format!("https://hc-ping.com/abc/fail?rid={rid}"));
        let ok = hc.request(&note(EventKind::Warning)).unwrap();
        assert_eq!(ok.url, format!("https://hc-ping.com/abc?rid={rid}"));
        assert_eq!(rid.len(), 36);
        assert_eq!(&rid[14..15], "4");
    }
}
