//! Monitoring (issue #16), the push side: notifications to healthchecks, ntfy and a
//! signed webhook, bounded whatever the receivers do, with their secrets never shown.
//! (The metrics and the stale-backup check are in `metrics.rs`.)
//!
//! A test HTTP receiver on 127.0.0.1 (`monitoring/receiver.rs`) stands in for the three
//! services: each test asserts the requests it got. The webhook's HMAC is checked with
//! Python's `hmac` module, an implementation independent of umbra's.

mod common;
#[path = "monitoring/receiver.rs"]
mod receiver;

use std::fs;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::jobs::{stderr, Jobs};
use common::{have, require};
use receiver::{Answer, Receiver};

/// The healthchecks "UUID" of these tests: a secret, which no output may show.
const HC_TOKEN: &str = "0f4c5d1e-secret-check-token";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A job `t` over `SRC` that tells all three services, with `extra` added to the job.
fn three_targets(rx: &Receiver, on: &str, extra: &str) -> Jobs {
    let j = Jobs::new(&format!(
        r#"
[notify]
ntfy = "{ntfy}"
on = {on}

[jobs.t]
sources = ["SRC"]
{extra}

[jobs.t.notify]
healthchecks = "{hc}"
webhook = {{ url = "{hook}", secret_file = "DIR/hook.secret" }}
on = {on}
"#,
        ntfy = rx.url("/ntfy/backups"),
        hc = rx.url(&format!("/hc/{HC_TOKEN}")),
        hook = rx.url("/hook"),
    ));
    fs::write(j.env.path("hook.secret"), "s3cret-key\n").expect("secret");
    j
}

/// HMAC-SHA256 of `body` with the secret in `file`, by Python's hmac module.
fn python_hmac(file: &std::path::Path, body: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,sys; k=open(sys.argv[1],'rb').read().strip(); \
             print(hmac.new(k, sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
        ])
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write");
    let out = child.wait_with_output().expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Nothing umbra printed, recorded or logged holds the healthchecks token.
fn assert_token_hidden(j: &Jobs, outputs: &[&Output]) {
    for o in outputs {
        assert!(!stdout(o).contains(HC_TOKEN), "{}", stdout(o));
        assert!(!stderr(o).contains(HC_TOKEN), "{}", stderr(o));
    }
    for args in [
        vec!["history", "--json"],
        vec!["jobs", "--json"],
        vec!["config", "check"],
    ] {
        let o = j.run(&args);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            !all.contains(HC_TOKEN),
            "umbra {args:?} shows the token: {all}"
        );
        assert!(
            all.contains("/hc/0…") || args[0] == "history",
            "{args:?}: {all}"
        );
    }
    let logs = fs::read_dir(j.env.path("state/jobs/t/logs"))
        .into_iter()
        .flatten();
    for log in logs {
        let text = fs::read_to_string(log.expect("log").path()).expect("log");
        assert!(!text.contains(HC_TOKEN), "the log shows the token: {text}");
    }
}

#[test]
fn a_successful_run_pings_start_and_success_and_signs_the_webhook() {
    if !require(have("python3"), "python3, to check the webhook's HMAC") {
        return;
    }
    let rx = Receiver::start();
    let j = three_targets(&rx, r#"["start", "success", "warning", "failure"]"#, "");
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = rx.take();
    assert!(got.iter().all(|r| r.method == "POST"), "{got:?}");
    // healthchecks: /start, then the plain URL, with one rid; the log tail as the body.
    let hc = Receiver::at(&got, "/hc/");
    assert_eq!(hc.len(), 2, "{hc:?}");
    let (start, end) = (&hc[0], &hc[1]);
    assert!(
        start
            .path
            .starts_with(&format!("/hc/{HC_TOKEN}/start?rid=")),
        "{}",
        start.path
    );
    assert!(
        end.path.starts_with(&format!("/hc/{HC_TOKEN}?rid=")),
        "{}",
        end.path
    );
    let rid = |p: &str| p.split("rid=").nth(1).unwrap_or_default().to_string();
    assert_eq!(rid(&start.path), rid(&end.path));
    assert_eq!(rid(&start.path).len(), 36);
    assert!(
        end.body_text().contains("job t started by pid"),
        "{}",
        end.body_text()
    );
    assert!(end.body.len() <= 10_000);
    // ntfy: one message per event, titled with host and job.
    let ntfy = Receiver::at(&got, "/ntfy/backups");
    assert_eq!(ntfy.len(), 2, "{ntfy:?}");
    let title = ntfy[1].header("title").unwrap_or_default();
    assert!(
        title.starts_with("umbra: job t on ") && title.ends_with(": success"),
        "{title}"
    );
    assert_eq!(ntfy[1].header("priority"), Some("3"));
    let text = ntfy[1].body_text();
    assert!(text.contains("success") && text.contains("1 new"), "{text}");
    assert!(text.contains("consistency: "), "{text}");
    // webhook: the run record, versioned, signed over the exact body.
    let hook = Receiver::at(&got, "/hook");
    assert_eq!(hook.len(), 2);
    for h in &hook {
        let sig = h.header("x-umbra-signature").expect("signed");
        let expected = python_hmac(&j.env.path("hook.secret"), &h.body);
        assert_eq!(sig, format!("sha256={expected}"));
    }
    let doc: serde_json::Value = serde_json::from_slice(&hook[1].body).expect("json");
    assert_eq!(doc["schema"], "umbra.notification/1");
    assert_eq!(doc["event"], "success");
    assert_eq!(doc["job"], "t");
    assert_eq!(doc["status"], "success");
    assert_eq!(doc["backup"]["files_new"], 1);
    assert!(doc["snapshot_id"].as_str().is_some_and(|s| s.len() == 64));
    assert!(doc["backup"]["sources"][0]["level"].is_string(), "{doc}");
    // The history keeps what each target answered.
    let history = stdout(&j.run(&["history", "t", "--json"]));
    let record: serde_json::Value =
        serde_json::from_str(history.lines().last().unwrap_or("")).expect("history json");
    let notes = record["notifications"].as_array().expect("notifications");
    assert_eq!(notes.len(), 6, "{record}");
    assert!(notes.iter().all(|n| n["ok"] == true && n["status"] == 200));
    assert_token_hidden(&j, &[&out]);
}

#[test]
fn a_failed_run_pings_fail_with_the_log_and_rings_louder() {
    let rx = Receiver::start();
    let j = three_targets(
        &rx,
        r#"["failure", "warning"]"#,
        "hooks = { before = [\"echo the-database-is-gone >&2; exit 4\"] }",
    );
    let out = j.run(&["run", "t"]);
    assert!(!out.status.success());
    let got = rx.take();
    let hc = Receiver::at(&got, "/hc/");
    assert_eq!(hc.len(), 1, "only the failure: {hc:?}");
    assert!(hc[0].path.starts_with(&format!("/hc/{HC_TOKEN}/fail?rid=")));
    assert!(
        hc[0].body_text().contains("the-database-is-gone"),
        "{}",
        hc[0].body_text()
    );
    let ntfy = Receiver::at(&got, "/ntfy/");
    assert_eq!(ntfy.len(), 1);
    assert_eq!(ntfy[0].header("priority"), Some("4"));
    assert!(ntfy[0]
        .header("tags")
        .unwrap_or_default()
        .contains("rotating_light"));
    assert!(
        ntfy[0].body_text().contains("failed"),
        "{}",
        ntfy[0].body_text()
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&Receiver::at(&got, "/hook")[0].body).expect("json");
    assert_eq!(doc["event"], "failure");
    assert_eq!(doc["status"], "failed");
    assert!(
        doc["error"].as_str().unwrap_or("").contains("before"),
        "{doc}"
    );
    assert_token_hidden(&j, &[&out]);
}

#[test]
fn a_failed_delivery_never_fails_the_backup_and_warns_at_the_next_run() {
    let rx = Receiver::start();
    let j = three_targets(&rx, r#"["success", "warning", "failure"]"#, "");
    // The receiver answers 500: three tries each, the backup still succeeds.
    rx.answer(Answer::Status(500));
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("notification to webhook http://127.0.0.1"),
        "{}",
        stderr(&out)
    );
    let got = rx.take();
    assert_eq!(Receiver::at(&got, "/hook").len(), 3, "three tries");
    assert_eq!(Receiver::at(&got, "/hc/").len(), 3, "the end, three tries");
    let jobs = stdout(&j.run(&["jobs"]));
    assert!(
        jobs.contains("notification failed: success to webhook"),
        "{jobs}"
    );
    // The next run succeeds, and is a warning: the previous run's notifications failed.
    rx.answer(Answer::Ok);
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = rx.take();
    let doc: serde_json::Value =
        serde_json::from_slice(&Receiver::at(&got, "/hook")[0].body).expect("json");
    assert_eq!(doc["event"], "warning");
    assert_eq!(doc["status"], "success");
    let warning = doc["warnings"][0].as_str().unwrap_or("");
    assert!(
        warning.contains("of the previous run") && warning.contains("failed"),
        "{doc}"
    );
    let ntfy = Receiver::at(&got, "/ntfy/");
    assert!(ntfy[0]
        .header("title")
        .unwrap_or_default()
        .ends_with(": warning"));
    // healthchecks has no warning state: the run happened, so the plain URL.
    let hc = Receiver::at(&got, "/hc/");
    assert!(hc
        .iter()
        .any(|r| r.path.starts_with(&format!("/hc/{HC_TOKEN}?rid="))));
}

#[test]
fn a_receiver_that_is_down_or_slow_costs_a_bounded_time() {
    // Down: nothing listens on the port.
    let dead = common::unused_tcp_port();
    let j = Jobs::new(&format!(
        r#"
[jobs.t]
sources = ["SRC"]

[jobs.t.notify]
webhook = "http://127.0.0.1:{dead}/hook"
on = ["success", "warning"]
timeout = "1s"
"#
    ));
    let t = Instant::now();
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let history = stdout(&j.run(&["history", "t", "--json"]));
    let record: serde_json::Value =
        serde_json::from_str(history.lines().last().unwrap_or("")).expect("json");
    let note = &record["notifications"][0];
    assert_eq!(note["ok"], false, "{record}");
    assert_eq!(note["tries"], 3);
    assert!(
        note["error"].as_str().unwrap_or("").contains("refused"),
        "{note}"
    );
    // Slow: answers after 20 s, past the 1 s timeout of each of the three tries.
    let rx = Receiver::start();
    rx.answer(Answer::After(Duration::from_secs(20)));
    let config = fs::read_to_string(&j.config).expect("config").replace(
        &format!("127.0.0.1:{dead}"),
        &format!("127.0.0.1:{}", rx.port),
    );
    fs::write(&j.config, config).expect("config");
    let t = Instant::now();
    let out = j.run(&["run", "t"]);
    let took = t.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    // The bound: 3 tries of 1 s and pauses of 0.5 s and 1 s; the backup itself is quick.
    assert!(
        took < Duration::from_secs(15),
        "the slow receiver held the run {took:?}"
    );
    let history = stdout(&j.run(&["history", "t", "--json"]));
    let record: serde_json::Value =
        serde_json::from_str(history.lines().last().unwrap_or("")).expect("json");
    let note = &record["notifications"][0];
    assert_eq!(note["ok"], false);
    assert!(
        note["error"]
            .as_str()
            .unwrap_or("")
            .contains("no answer within 1 s"),
        "{note}"
    );
    assert_eq!(rx.take().len(), 3);
}

#[test]
fn notify_test_sends_one_event_to_each_target_and_prints_the_answers() {
    let rx = Receiver::start();
    let j = three_targets(&rx, r#"["failure"]"#, "");
    let out = j.run(&["notify", "test", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "healthchecks http://127.0.0.1:{}/hc/0…: HTTP 200",
            rx.port
        )),
        "{text}"
    );
    assert!(
        text.contains("ntfy ") && text.contains("webhook "),
        "{text}"
    );
    let got = rx.take();
    assert_eq!(got.len(), 3);
    // healthchecks' /log records without changing the check's state.
    assert!(Receiver::at(&got, "/hc/")[0]
        .path
        .starts_with(&format!("/hc/{HC_TOKEN}/log?rid=")));
    // A receiver that refuses: a non-zero exit, with the answer.
    rx.answer(Answer::Status(404));
    let out = j.run(&["notify", "test", "t"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("HTTP 404"), "{}", stdout(&out));
    assert_eq!(rx.take().len(), 3, "a 404 is not tried again");
    assert_token_hidden(&j, &[&out]);
}

#[test]
fn a_mistake_in_notify_names_the_file_line_and_key() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]

[jobs.t.notify]
ntfy = "https://ntfy.example.org/topic"
on = ["failure", "sometimes"]
"#,
    );
    let out = j.run(&["config", "check"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("umbra.toml:11: jobs.t.notify.on[1]"), "{err}");
    assert!(err.contains("`sometimes` is not an event"), "{err}");
    fs::write(
        &j.config,
        fs::read_to_string(&j.config)
            .expect("config")
            .replace(
                "ntfy = \"https://ntfy.example.org/topic\"",
                "ntfy = { url = \"https://ntfy.example.org/topic\", secret_file = \"x\" }",
            )
            .replace(", \"sometimes\"", ""),
    )
    .expect("config");
    let err = stderr(&j.run(&["config", "check"]));
    assert!(err.contains("jobs.t.notify.ntfy.secret_file"), "{err}");
    assert!(err.contains("signs webhooks"), "{err}");
}
