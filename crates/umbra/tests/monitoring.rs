//! Monitoring (issue #16): notifications to healthchecks, ntfy and a signed webhook, the
//! Prometheus textfile (checked by `promtool` and served by a real
//! `prometheus-node-exporter`), and `umbra jobs --check` as a Nagios plugin.
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
    assert!(end.body.len() <= 10_200);
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

/// `GET path` from 127.0.0.1:`port`, the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// A node_exporter with only its textfile collector, killed when dropped.
struct NodeExporter(std::process::Child);

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_textfile_passes_promtool_and_node_exporter_serves_it() {
    let exporter = "prometheus-node-exporter";
    if !require(
        have("promtool"),
        "promtool (Debian's prometheus package; see .ci/run)",
    ) || !require(have(exporter), "prometheus-node-exporter (see .ci/run)")
    {
        return;
    }
    let j = Jobs::new(
        r#"
[metrics]
textfile = "DIR/textfile/umbra.prom"

[jobs.db]
sources = ["SRC"]
hooks = { before = ["true"] }
[[jobs.db.quiesce]]
type = "command"
name = "app"
freeze = "sleep 0.05"
thaw = "true"

[jobs.never]
sources = ["SRC"]
schedule = "daily"
"#,
    );
    fs::create_dir_all(j.env.path("textfile")).expect("dir");
    let out = j.run(&["run", "db"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = j.env.path("textfile/umbra.prom");
    let text = fs::read_to_string(&path).expect("the textfile is written after the run");
    // Written atomically: no temporary file is left beside it.
    let names: Vec<_> = fs::read_dir(j.env.path("textfile"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["umbra.prom"]);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let checked = promtool.wait_with_output().expect("promtool");
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{text}",
        stdout(&checked),
        stderr(&checked)
    );
    // The alert rules docs/MONITORING.md shows are valid.
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contrib/prometheus/umbra-alerts.yml"
    );
    let checked = Command::new("promtool")
        .args(["check", "rules", rules])
        .output()
        .expect("promtool");
    assert!(
        checked.status.success(),
        "{}{}",
        stdout(&checked),
        stderr(&checked)
    );
    for series in [
        "umbra_job_last_success_timestamp_seconds{job=\"db\"}",
        "umbra_job_last_success_timestamp_seconds{job=\"never\"} 0",
        "umbra_job_last_status{job=\"db\",status=\"success\"} 1",
        "umbra_job_last_files{job=\"db\",state=\"new\"} 1",
        "umbra_quiescer_freeze_window_seconds{job=\"db\",quiescer=\"app\",kind=\"command\"} 0.0",
        "umbra_repository_snapshots{job=\"db\"} 1",
        "umbra_job_max_age_seconds{job=\"never\"} 172800",
        "umbra_notifications_failed_total{job=\"db\"} 0",
        "umbra_job_last_downtime_seconds{job=\"db\"}",
    ] {
        assert!(text.contains(series), "{series} missing from\n{text}");
    }
    assert!(
        text.contains("umbra_source_consistency{job=\"db\",source=\""),
        "{text}"
    );
    // `umbra metrics` prints the same series.
    let printed = stdout(&j.run(&["metrics"]));
    assert_eq!(printed, text);
    // A real node_exporter serves them.
    let port = common::unused_tcp_port();
    let _exporter = NodeExporter(
        Command::new(exporter)
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                j.env.path("textfile").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node_exporter"),
    );
    let t = Instant::now();
    let served = loop {
        if let Some(body) = http_get(port, "/metrics") {
            break body;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "node_exporter did not answer"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        served.contains("node_textfile_scrape_error 0"),
        "node_exporter could not read the textfile:\n{served}"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split('{').next().unwrap_or(line);
        assert!(served.contains(name), "node_exporter does not serve {name}");
    }
    assert!(served.contains("umbra_job_last_status{job=\"db\",status=\"success\"} 1"));
}

#[test]
fn jobs_check_speaks_as_a_nagios_plugin() {
    let j = Jobs::new(
        r#"
[jobs.ontime]
sources = ["SRC"]
schedule = "hourly"

[jobs.overdue]
sources = ["SRC"]
schedule = "hourly"
max_age = "1s"

[jobs.never]
sources = ["SRC"]
schedule = "daily"

[jobs.flaky]
sources = ["SRC"]
max_age = "1h"
hooks = { before = ["test ! -e DIR/broken"] }

[jobs.unscheduled]
sources = ["SRC"]
"#,
    );
    for job in ["ontime", "overdue", "flaky"] {
        let out = j.run(&["run", job]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    fs::write(j.env.path("broken"), "").expect("break flaky");
    assert!(!j.run(&["run", "flaky"]).status.success());
    std::thread::sleep(Duration::from_millis(1500));
    let out = j.run(&["jobs", "--check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or("");
    assert!(
        first.starts_with("CRITICAL - 2 of 4 job(s) overdue: "),
        "{text}"
    );
    assert!(first.contains("never never ran"), "{text}");
    assert!(
        first.contains("overdue last succeeded 1s ago (max age 1s)")
            || first.contains("overdue last succeeded 2s ago (max age 1s)"),
        "{text}"
    );
    assert!(
        first.contains(" | 'flaky_age'=") && first.contains(" 'ontime_age'="),
        "{text}"
    );
    assert!(first.contains(" 'never_age'=U;;172800;0"), "{text}");
    assert!(text.contains("OK: ontime succeeded"), "{text}");
    assert!(
        text.contains("WARNING: flaky: the last run failed"),
        "{text}"
    );
    assert!(
        !text.contains("unscheduled"),
        "a job without schedule or max_age is not checked"
    );
    // Only the job on time and the one whose last run failed: WARNING, exit 1.
    let config = fs::read_to_string(&j.config).expect("config");
    let keep = |names: &[&str]| {
        let mut kept = String::new();
        for table in config.split("\n[") {
            let name = table.split(']').next().unwrap_or("");
            if !name.starts_with("jobs.") || names.iter().any(|n| name == format!("jobs.{n}")) {
                kept.push_str(if kept.is_empty() { "" } else { "\n[" });
                kept.push_str(table);
            }
        }
        fs::write(&j.config, kept).expect("config");
    };
    keep(&["ontime", "flaky"]);
    let out = j.run(&["jobs", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("WARNING - last run failed: flaky"),
        "{}",
        stdout(&out)
    );
    keep(&["ontime"]);
    let out = j.run(&["jobs", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("OK - 1 job(s) on time"),
        "{}",
        stdout(&out)
    );
    // A job file that cannot be read: UNKNOWN, exit 3.
    let out = j
        .env
        .umbra()
        .args(["-c", "/nonexistent/umbra.toml", "jobs", "--check"])
        .output()
        .expect("umbra");
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).starts_with("UNKNOWN - "), "{}", stdout(&out));
}
