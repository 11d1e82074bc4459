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
            _ => {
                // At most LOG_TAIL_BYTES in all: the summary, then as much of the log's
                // end as fits, cut at a line start.
                let room = crate::LOG_TAIL_BYTES.saturating_sub(n.summary.len() + 2);
                let mut from = n.log_tail.len().saturating_sub(room);
                while !n.log_tail.is_char_boundary(from) {
                    from += 1;
                }
                let mut tail = &n.log_tail[from..];
                if from > 0 {
                    tail = tail.split_once('\n').map_or("", |(_, rest)| rest);
                }
                format!("{}\n\n{tail}", n.summary)
            }
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

    #[test]
    fn the_body_stays_within_10_kb_and_starts_at_a_line() {
        let hc = Healthchecks {
            url: "https://hc-ping.com/abc".into(),
        };
        let mut n = note(EventKind::Failure);
        n.log_tail = (0..2000).map(|i| format!("line {i} é\n")).collect();
        let body = String::from_utf8(hc.request(&n).unwrap().body).unwrap();
        assert!(body.len() <= crate::LOG_TAIL_BYTES, "{}", body.len());
        assert!(body.starts_with("job db: success\n\nline "));
        assert!(body.ends_with("line 1999 é\n"));
    }
}
