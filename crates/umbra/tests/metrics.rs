//! Monitoring (issue #16), the pull side: the Prometheus textfile (checked by `promtool`
//! and served by a real `prometheus-node-exporter`), `umbra metrics`, the alert rules of
//! docs/MONITORING.md, and `umbra jobs --check` as a Nagios plugin.

mod common;

use std::fs;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::jobs::{stderr, Jobs};
use common::{have, require};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `GET path` from 127.0.0.1:`port`, the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Read;
    let mut s = common::connect(port)?;
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
        "umbra_job_last_run_cpu_seconds{job=\"db\"}",
    ] {
        assert!(text.contains(series), "{series} missing from\n{text}");
    }
    assert!(
        text.contains("umbra_source_consistency{job=\"db\",source=\""),
        "{text}"
    );
    // What the run cost, in the history.
    let history = stdout(&j.run(&["history", "db", "-v"]));
    assert!(
        history.contains("cost: window ") && history.contains(" CPU s"),
        "{history}"
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
    // How long ago depends on how fast this machine ran the jobs above: any whole
    // number of seconds past the maximum age.
    let ago = first
        .split("overdue last succeeded ")
        .nth(1)
        .and_then(|r| r.split("s ago (max age 1s)").next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(ago.is_some_and(|s| s >= 1), "{text}");
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

/// A job whose retention forgets snapshots after its backup has its repository measured
/// after the retention (a job without one is measured while its snapshot set is
/// released): after two runs keeping the last one, the repository holds one snapshot.
#[test]
fn the_repository_is_measured_after_the_retention_of_the_run() {
    let j = Jobs::new(
        r#"
[metrics]
textfile = "DIR/textfile/umbra.prom"

[jobs.pruned]
sources = ["SRC"]
keep = { last = 1 }
"#,
    );
    fs::create_dir_all(j.env.path("textfile")).expect("dir");
    for round in 0..2 {
        fs::write(j.src.join("data"), format!("round {round}")).expect("write");
        let out = j.run(&["run", "pruned"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let text = fs::read_to_string(j.env.path("textfile/umbra.prom")).expect("the textfile");
    assert!(
        text.contains("umbra_repository_snapshots{job=\"pruned\"} 1"),
        "{text}"
    );
}
