//! Sending: every target at once, each within its own bound, none able to fail the run.
//!
//! One target's delivery is at most [`Limits::tries`] requests, each bounded by the
//! target's timeout (connect, send and answer together), with [`Limits::backoff`] between
//! them. A try is repeated only when repeating can help: the connection failed, the
//! request timed out, or the receiver answered 429 or 5xx. A 4xx answer (a wrong URL, a
//! refused token) is final. Targets are sent in parallel, so a whole event takes at most
//! [`Limits::bound`] of the slowest target's timeout, whatever the receivers do.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{EventKind, Notification, Request, Target};

/// How hard delivery tries.
#[derive(Debug, Clone)]
pub struct Limits {
    pub tries: u32,
    /// The pause before the second try, doubled before each later one.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            tries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

impl Limits {
    /// The longest one target's delivery can take with a request timeout of `timeout`.
    #[must_use]
    pub fn bound(&self, timeout: Duration) -> Duration {
        let pauses: Duration = (0..self.tries.saturating_sub(1))
            .map(|i| self.backoff * 2u32.pow(i))
            .sum();
        timeout * self.tries + pauses
    }
}

/// What became of one event at one target: in the run's record and log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The service and its redacted URL.
    pub target: String,
    pub event: EventKind,
    pub ok: bool,
    /// The HTTP status of the last answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The start of the last answer's body (for `umbra notify test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Why it failed, without the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub tries: u32,
    pub seconds: f64,
}

/// Sends `n` to every target of `targets` that wants its event, in parallel, and returns
/// what each answered (in the order of `targets`). Never fails and never panics.
#[must_use]
pub fn deliver(targets: &[Target], n: &Notification, limits: &Limits) -> Vec<Delivery> {
    let chosen: Vec<(&Target, Request)> = targets
        .iter()
        .filter(|t| t.wants(n.event))
        .filter_map(|t| t.service.request(n).map(|r| (t, r)))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = chosen
            .iter()
            .map(|(target, request)| scope.spawn(move || send(target, request, n.event, limits)))
            .collect();
        handles
            .into_iter()
            .zip(&chosen)
            .map(|(h, (target, _))| {
                h.join().unwrap_or_else(|_| Delivery {
                    target: target.service.label(),
                    event: n.event,
                    ok: false,
                    status: None,
                    answer: None,
                    error: Some("the delivery thread panicked".into()),
                    tries: 0,
                    seconds: 0.0,
                })
            })
            .collect()
    })
}

/// One target's tries.
fn send(target: &Target, request: &Request, event: EventKind, limits: &Limits) -> Delivery {
    let t0 = Instant::now();
    let mut delivery = Delivery {
        target: target.service.label(),
        event,
        ok: false,
        status: None,
        answer: None,
        error: None,
        tries: 0,
        seconds: 0.0,
    };
    let client = match reqwest::blocking::Client::builder()
        .timeout(target.timeout)
        .connect_timeout(target.timeout)
        .user_agent(concat!("umbra/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            delivery.error = Some(format!("cannot make an HTTP client: {}", cause(&e)));
            return delivery;
        }
    };
    let mut pause = limits.backoff;
    for attempt in 1..=limits.tries.max(1) {
        if attempt > 1 {
            std::thread::sleep(pause);
            pause *= 2;
        }
        delivery.tries = attempt;
        let mut builder = client.post(&request.url).body(request.body.clone());
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        let retry = match builder.send() {
            Ok(response) => {
                let status = response.status();
                delivery.status = Some(status.as_u16());
                let text = response.text().unwrap_or_default();
                delivery.answer = Some(text.trim().chars().take(200).collect());
                if status.is_success() {
                    delivery.ok = true;
                    delivery.error = None;
                    break;
                }
                delivery.error = Some(format!("the receiver answered HTTP {status}"));
                status.is_server_error() || status.as_u16() == 429
            }
            Err(e) => {
                delivery.status = None;
                delivery.answer = None;
                delivery.error = Some(if e.is_timeout() {
                    format!("no answer within {} s", target.timeout.as_secs_f64())
                } else {
                    cause(&e)
                });
                true
            }
        };
        if !retry {
            break;
        }
    }
    delivery.seconds = t0.elapsed().as_secs_f64();
    delivery
}

/// The innermost cause of a request error, which names what happened ("Connection
/// refused") without the URL reqwest puts in its own message.
fn cause(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    match last {
        Some(text) => format!("cannot reach the receiver: {text}"),
        None if e.is_connect() => "cannot connect to the receiver".into(),
        None => "the request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::Limits;
    use std::time::Duration;

    #[test]
    fn the_bound_counts_every_try_and_pause() {
        let l = Limits::default();
        assert_eq!(
            l.bound(Duration::from_secs(10)),
            Duration::from_millis(31_500)
        );
    }
}
