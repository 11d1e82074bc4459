//! Quiescers in a job: the freeze is held only around the snapshot set, measured, and
//! recorded; covered sources become app-consistent; a hung freeze is thawed at the bound.

mod common;

use std::time::{Duration, Instant};

use common::jobs::{stderr, Jobs};
use common::{is_root, require, LoopFs};

#[test]
fn a_command_quiescer_freezes_around_the_snapshot_and_is_recorded() {
    if !require(is_root(), "root, for a btrfs loop device") {
        return;
    }
    let probe = tempfile::tempdir().expect("tempdir");
    let Some(fs_) = LoopFs::new("btrfs", probe.path(), 300) else {
        return;
    };
    let data = fs_.path("app");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("state"), "consistent").expect("write");
    let j = Jobs::new(&format!(
        r#"
[jobs.t]
sources = ["{data}", "SRC"]

[[jobs.t.quiesce]]
type = "command"
name = "app"
covers = ["{data}"]
freeze = TRACE(freeze)
thaw = TRACE(thaw)

[jobs.t.hooks]
before = [TRACE(before)]
after_snapshot = [TRACE(after_snapshot)]
"#,
        data = data.display()
    ));
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(j.tags(), ["before", "freeze", "thaw", "after_snapshot"]);
    let show = j.run(&["--json", "show", "latest"]);
    let snap: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    let record = &snap["consistency"];
    let q = &record["quiesced"][0];
    assert_eq!(q["name"], "app");
    assert_eq!(q["kind"], "command");
    let freeze_us = q["freeze_us"].as_u64().expect("freeze window");
    assert!(freeze_us > 0);
    eprintln!(
        "measured: command quiescer freeze window {:.3} ms (btrfs snapshot inside it)",
        freeze_us as f64 / 1000.0
    );
    let level = |path: &str| {
        record["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["path"] == path)
            .map(|s| s["level"].clone())
            .expect("source")
    };
    assert_eq!(level(&data.display().to_string()), "app-consistent");
    // The other source was not covered, and was read directly: no claim beyond that.
    assert_ne!(level(&j.src.display().to_string()), "app-consistent");
}

#[test]
fn a_hung_freeze_is_thawed_at_the_bound_and_the_run_fails() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
freeze_timeout = "1s"

[[jobs.t.quiesce]]
type = "command"
name = "stuck"
freeze = "sleep 60"
thaw = TRACE(thaw)

[jobs.t.hooks]
after_snapshot = [TRACE(after_snapshot)]
on_failure = [TRACE(on_failure)]
"#,
    );
    let started = Instant::now();
    let out = j.run(&["run", "t"]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the bound was not enforced"
    );
    assert_eq!(out.status.code(), Some(1));
    let msg = stderr(&out);
    assert!(
        msg.contains("cannot freeze stuck: `sleep 60` failed: timed out after 1 s"),
        "{msg}"
    );
    assert_eq!(j.tags(), ["thaw", "on_failure"]);
    let snaps = j.run(&["--json", "snapshots"]);
    assert_eq!(
        String::from_utf8_lossy(&snaps.stdout).trim(),
        "[]",
        "a snapshot was saved"
    );
}

#[test]
fn an_interrupt_during_the_freeze_thaws() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
freeze_timeout = "60s"

[[jobs.t.quiesce]]
type = "command"
name = "slow"
freeze = "sh -c 'touch DIR/freezing; exec sleep 60'"
thaw = TRACE(thaw)

[jobs.t.hooks]
finally = [TRACE(finally)]
"#,
    );
    let child = j
        .umbra()
        .args(["run", "t"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !j.env.path("freezing").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(j.tags(), ["thaw", "finally"]);
}

#[test]
fn a_bound_exceeded_is_retried_as_the_job_says() {
    // The first freeze outlasts the bound; the second finds the marker and returns at once.
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
freeze_timeout = "1s"
quiesce_retries = 1

[[jobs.t.quiesce]]
type = "command"
name = "flaky"
freeze = "sh -c 'if [ -e DIR/tried ]; then exit 0; fi; touch DIR/tried; exec sleep 30'"
thaw = TRACE(thaw)
"#,
    );
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(j.tags(), ["thaw", "thaw"]);
    let show = j.run(&["--json", "show", "latest"]);
    let snap: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(snap["consistency"]["quiesced"][0]["name"], "flaky");
}
