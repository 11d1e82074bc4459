//! The job file's errors, systemd units, the daemon and the calendar evaluator.

mod common;

use std::fs;
use std::process::Command;

use common::jobs::{stderr, Jobs};
use common::{have, require};

#[test]
fn config_errors_name_file_line_and_key() {
    let j = Jobs::new("[jobs.t]\nsources = [\"SRC\"]\nexclude_cache = true\n");
    let out = j.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let file = j.config.display().to_string();
    assert!(
        stderr(&out).starts_with(&format!(
            "error: {file}:7: jobs.t.exclude_cache: unknown key `exclude_cache`, expected one of"
        )),
        "{}",
        stderr(&out)
    );
    // The same error stops `run`, before any command.
    assert_eq!(j.run(&["run", "t"]).status.code(), Some(1));

    let j = Jobs::new("[jobs.t]\nsources = [\"SRC\", \"DIR/nothing-here\"]\n");
    let out = j.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let missing = j.env.path("nothing-here").display().to_string();
    assert!(
        stderr(&out).contains(&format!(
            "error: {}:6: jobs.t.sources[1]: the source {missing} does not exist",
            j.config.display()
        )),
        "{}",
        stderr(&out)
    );

    let j = Jobs::new("[jobs.t]\nsources = [\"SRC\"]\nschedule = \"daily 02:30\"\n");
    let out = j.run(&["config", "check"]);
    assert!(
        stderr(&out).contains(&format!(
            "{}:7: jobs.t.schedule: `daily 02:30` is not a systemd calendar expression",
            j.config.display()
        )),
        "{}",
        stderr(&out)
    );

    let j = Jobs::new("[jobs.t]\nsources = [\"SRC\"]\n");
    assert!(j.run(&["config", "check"]).status.success());
    let out = j.run(&["run", "nope"]);
    assert!(
        stderr(&out).contains("no job `nope`") && stderr(&out).contains("The jobs there are: t."),
        "{}",
        stderr(&out)
    );
}

#[test]
fn systemd_units_are_written_verified_and_removed() {
    let j = Jobs::new(
        "[jobs.t]\nsources = [\"SRC\"]\nschedule = \"Mon..Fri 02:30\"\n[jobs.u]\nsources = [\"SRC\"]\n\
         [jobs.v]\nsources = [\"SRC\"]\nschedule = \"daily\"\npriority = \"normal\"\n\
         [jobs.v.systemd]\nCPUQuota = \"50%\"\nMemoryMax = \"2G\"\n",
    );
    let units = j.env.path("units");
    let dir = units.display().to_string();
    let out = j.run(&["schedule", "install", "--unit-dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let service = units.join("umbra-job-t.service");
    let timer = units.join("umbra-job-t.timer");
    let timer_text = fs::read_to_string(&timer).expect("timer");
    assert!(
        timer_text
            .contains("\nOnCalendar=Mon..Fri 02:30\nPersistent=true\nUnit=umbra-job-t.service\n"),
        "{timer_text}"
    );
    let service_text = fs::read_to_string(&service).expect("service");
    assert!(
        service_text.contains(&format!(
            "\nExecStart={} -c {} run t\n",
            env!("CARGO_BIN_EXE_umbra"),
            j.config.display()
        )),
        "{service_text}"
    );
    assert!(
        !units.join("umbra-job-u.timer").exists(),
        "an unscheduled job got a timer"
    );
    // The job's priority: low (the default) gives the service lower cgroup weights and
    // leaves its start priority normal (umbra lowers its own reading threads, so that the
    // snapshot and the commands are not slowed); `[jobs.NAME.systemd]` comes last.
    for line in [
        "\nNice=0\n",
        "\nIOSchedulingClass=best-effort\n",
        "\nIOSchedulingPriority=4\n",
        "\nCPUWeight=20\n",
        "\nIOWeight=20\n",
    ] {
        assert!(service_text.contains(line), "{line:?} in {service_text}");
    }
    let v_service = units.join("umbra-job-v.service");
    let v_text = fs::read_to_string(&v_service).expect("v's service");
    assert!(
        v_text.contains(
            "\nCPUWeight=100\nIOWeight=100\n# [jobs.NAME.systemd]\nCPUQuota=50%\nMemoryMax=2G\n"
        ),
        "{v_text}"
    );
    if require(
        have("systemd-analyze"),
        "systemd-analyze, to verify the units",
    ) {
        let v = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&timer)
            .arg(&service)
            .arg(units.join("umbra-job-v.timer"))
            .arg(&v_service)
            .output()
            .expect("verify");
        assert!(
            v.status.success() && v.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
    let list = String::from_utf8_lossy(&j.run(&["schedule", "list", "--unit-dir", &dir]).stdout)
        .into_owned();
    assert!(list.starts_with("t\tMon..Fri 02:30\tnext "), "{list}");
    assert!(list.contains("installed"), "{list}");
    fs::write(units.join("umbra-job-x.timer"), "[Timer]\n").expect("foreign unit");
    let out = j.run(&["schedule", "remove", "--unit-dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!timer.exists() && !service.exists());
    assert!(
        units.join("umbra-job-x.timer").exists(),
        "a unit umbra did not write was removed"
    );
}

#[test]
fn the_daemon_runs_due_jobs() {
    let j = Jobs::new(
        "[jobs.t]\nsources = [\"SRC\"]\nschedule = \"*:*:0/2\"\n[jobs.t.hooks]\nafter = [TRACE(after)]\n",
    );
    let out = j
        .umbra()
        .args(["daemon", "--max-runs", "2"])
        .output()
        .expect("daemon");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(j.tags(), ["after", "after"]);
    let hist = String::from_utf8_lossy(&j.run(&["--json", "history", "t"]).stdout)
        .lines()
        .count();
    assert_eq!(hist, 2);
}

#[test]
fn the_daemon_catches_up_on_a_missed_run_at_once() {
    // Like Persistent=true: the last run (2020) is older than the last due time (today
    // 00:00), so the daily job runs as soon as the daemon starts, not at midnight.
    let j = Jobs::new(
        "[jobs.t]\nsources = [\"SRC\"]\nschedule = \"daily\"\n[jobs.t.hooks]\nafter = [TRACE(after)]\n",
    );
    let dir = j.env.path("state/jobs/t");
    fs::create_dir_all(&dir).expect("state");
    fs::write(
        dir.join("history.jsonl"),
        "{\"job\":\"t\",\"run_id\":\"old\",\"started\":\"2020-01-01T00:00:00Z\",\"seconds\":1.0,\"status\":\"success\",\"phases\":[],\"log\":\"/dev/null\"}\n",
    )
    .expect("history");
    let out = j
        .umbra()
        .args(["daemon", "--max-runs", "1"])
        .output()
        .expect("daemon");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(j.tags(), ["after"]);
    // `jobs` shows the next run: tomorrow's, now that today's has happened.
    let jobs = String::from_utf8_lossy(&j.run(&["jobs"]).stdout).into_owned();
    assert!(jobs.contains("success"), "{jobs}");
}

#[test]
fn the_calendar_agrees_with_systemd() {
    if !require(
        have("systemd-analyze"),
        "systemd-analyze, to compare calendars",
    ) {
        return;
    }
    for expr in [
        "daily",
        "weekly",
        "monthly",
        "02:30",
        "Mon..Fri 08:00",
        "*:0/15",
        "*-*-01 04:00",
        "Sat,Sun *-*-* 10:30:00",
        "quarterly",
    ] {
        let out = Command::new("systemd-analyze")
            .args(["calendar", "--iterations=3", expr])
            .env("TZ", "UTC")
            .output()
            .expect("systemd-analyze");
        let text = String::from_utf8_lossy(&out.stdout);
        let theirs: Vec<String> = text
            .lines()
            .filter(|l| l.contains("Next elapse:") || l.contains("Iter. #"))
            .filter_map(|l| l.split_once(": ").map(|(_, t)| t.trim().to_string()))
            .collect();
        let cal = umbra_jobs::calendar::Calendar::parse(expr).expect("valid");
        let tz = jiff::tz::TimeZone::UTC;
        let mut t = jiff::Timestamp::now();
        let mut ours = Vec::new();
        for _ in 0..3 {
            t = cal.next_after_in(t, &tz).expect("next");
            ours.push(
                t.to_zoned(tz.clone())
                    .strftime("%a %Y-%m-%d %H:%M:%S UTC")
                    .to_string(),
            );
        }
        assert_eq!(ours, theirs, "{expr}");
    }
}
