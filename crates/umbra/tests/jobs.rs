//! Jobs end to end: the phase order and environment, what runs after a failure in each
//! phase, timeouts, large output, the per-job lock and interrupts. Every hook is a real
//! command that appends to a trace file (`common::jobs`).

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::jobs::{stderr, Jobs};

const ALL_PHASES: &str = r#"
[jobs.t]
sources = [{ path = "SRC", before = [TRACE(src-before)], after = [TRACE(src-after)] }]
keep = { last = 5 }
working_dir = "DIR"

[jobs.t.hooks]
before = [TRACE(before)]
after_snapshot = [TRACE(after_snapshot)]
after = [TRACE(after)]
on_failure = [TRACE(on_failure)]
finally = [TRACE(finally)]
"#;

#[test]
fn phases_run_in_order_with_their_environment() {
    let j = Jobs::new(ALL_PHASES);
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        j.tags(),
        [
            "before",
            "src-before",
            "after_snapshot",
            "src-after",
            "after",
            "finally"
        ]
    );
    let ids = j.snapshot_ids();
    assert_eq!(ids.len(), 1);
    let dir = j.env.dir.path().display().to_string();
    for f in j.trace() {
        assert_eq!(f[2], "t", "UMBRA_JOB in {f:?}");
        assert_eq!(f[7], dir, "working directory in {f:?}");
    }
    let t = j.trace();
    assert_eq!(t[0][1], "before");
    assert_eq!(t[1][5], j.src.display().to_string(), "UMBRA_SOURCE");
    assert_eq!(t[2][1], "after_snapshot");
    assert_eq!(t[4][4], ids[0], "UMBRA_SNAPSHOT_ID in after");
    assert_eq!(t[5][3], "success", "UMBRA_STATUS in finally");
    // The variables that do not fit in the trace's fields.
    let dump = j.env.path("env");
    let with_env = ALL_PHASES.replace(
        "after_snapshot = [TRACE(after_snapshot)]",
        &format!("after_snapshot = [\"env > {}\"]", dump.display()),
    );
    let j2 = Jobs::new(&with_env);
    // A password given in the environment must not reach the hooks.
    let out = j2
        .umbra()
        .env("UMBRA_PASSWORD", "correct horse")
        .args(["run", "t"])
        .output()
        .expect("umbra");
    assert!(out.status.success(), "{}", stderr(&out));
    let env = fs::read_to_string(&dump).expect("env dump");
    let src = j2.src.display().to_string();
    assert!(env.contains(&format!("UMBRA_SOURCES={src}\n")), "{env}");
    assert!(
        env.contains(&format!("UMBRA_SNAPSHOT_PATHS={src}={src}\n")),
        "{env}"
    );
    assert!(
        env.contains(&format!("UMBRA_REPOSITORY={}\n", j2.env.repo().display())),
        "{env}"
    );
    assert!(env.contains("UMBRA_PHASE=after_snapshot\n"));
    assert!(
        !env.contains("correct horse"),
        "a secret leaked into the environment"
    );
    // The history has the run with each phase, and `jobs` shows the last result.
    let run = j.last_run("t");
    assert_eq!(run["status"], "success");
    let phases: Vec<&str> = run["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["phase"].as_str().expect("phase"))
        .collect();
    assert_eq!(
        phases,
        [
            "before",
            "snapshot",
            "after_snapshot",
            "backup",
            "source_after",
            "after",
            "retention",
            "finally"
        ]
    );
    assert!(run["downtime_seconds"].as_f64().is_some());
    assert!(String::from_utf8_lossy(&j.run(&["jobs"]).stdout).contains("success"));
}

/// One failure case: the job file change that makes one phase fail, and what must run.
struct Case {
    name: &'static str,
    changes: &'static [(&'static str, &'static str)],
    tags: &'static [&'static str],
    status: &'static str,
    snapshot_saved: bool,
    /// A change to the repository table, outside the jobs.
    repository: Option<(&'static str, &'static str)>,
}

#[test]
fn a_failure_in_each_phase_runs_exactly_the_right_later_phases() {
    let cases = [
        Case {
            name: "before fails: its later commands are skipped, after_snapshot still runs",
            changes: &[(
                "before = [TRACE(before)]",
                "before = [TRACE(before), \"false\", TRACE(before-2)]",
            )],
            tags: &["before", "after_snapshot", "on_failure", "finally"],
            status: "failed",
            snapshot_saved: false,
            repository: None,
        },
        Case {
            name: "the snapshot fails (a source `before` should have made is missing): \
                   after_snapshot still runs",
            changes: &[("path = \"SRC\"", "path = \"SRC/made-by-before\"")],
            tags: &[
                "before",
                "src-before",
                "after_snapshot",
                "src-after",
                "on_failure",
                "finally",
            ],
            status: "failed",
            snapshot_saved: false,
            repository: None,
        },
        Case {
            name: "a snapshot that cannot be taken is found before anything is stopped",
            changes: &[(
                "keep = { last = 5 }",
                "keep = { last = 5 }\nsnapshot = \"zfs\"",
            )],
            tags: &["on_failure", "finally"],
            status: "failed",
            snapshot_saved: false,
            repository: None,
        },
        Case {
            name: "after_snapshot fails: nothing is read",
            changes: &[(
                "after_snapshot = [TRACE(after_snapshot)]",
                "after_snapshot = [TRACE(after_snapshot), \"false\"]",
            )],
            tags: &[
                "before",
                "src-before",
                "after_snapshot",
                "src-after",
                "on_failure",
                "finally",
            ],
            status: "failed",
            snapshot_saved: false,
            repository: None,
        },
        Case {
            name: "a wrong password is found before anything is stopped",
            changes: &[],
            repository: Some(("password_file = \"password\"", "password_file = \"wrong\"")),
            tags: &["on_failure", "finally"],
            status: "failed",
            snapshot_saved: false,
        },
        Case {
            name: "a repository that does not exist is found before anything is stopped",
            changes: &[],
            repository: Some(("/repo\"", "/no-such-repo\"")),
            tags: &["on_failure", "finally"],
            status: "failed",
            snapshot_saved: false,
        },
        Case {
            name: "after fails under on_error = fail: on_failure runs, retention does not",
            changes: &[(
                "after = [TRACE(after)]",
                "after = [TRACE(after), { run = \"false\", on_error = \"fail\" }]",
            )],
            tags: &[
                "before",
                "src-before",
                "after_snapshot",
                "src-after",
                "after",
                "on_failure",
                "finally",
            ],
            status: "failed",
            snapshot_saved: true,
            repository: None,
        },
        Case {
            name: "after fails under its default (warn): the job succeeds",
            changes: &[(
                "after = [TRACE(after)]",
                "after = [\"false\", TRACE(after)]",
            )],
            tags: &[
                "before",
                "src-before",
                "after_snapshot",
                "src-after",
                "after",
                "finally",
            ],
            status: "success",
            snapshot_saved: true,
            repository: None,
        },
        Case {
            name: "on_failure fails: finally still runs",
            changes: &[
                ("before = [TRACE(before)]", "before = [\"false\"]"),
                (
                    "on_failure = [TRACE(on_failure)]",
                    "on_failure = [{ run = \"false\", on_error = \"fail\" }, TRACE(on_failure)]",
                ),
            ],
            tags: &["after_snapshot", "finally"],
            status: "failed",
            snapshot_saved: false,
            repository: None,
        },
        Case {
            name: "finally fails under on_error = fail: the job fails after its backup",
            changes: &[(
                "finally = [TRACE(finally)]",
                "finally = [TRACE(finally), { run = \"false\", on_error = \"fail\" }]",
            )],
            tags: &[
                "before",
                "src-before",
                "after_snapshot",
                "src-after",
                "after",
                "finally",
            ],
            status: "failed",
            snapshot_saved: true,
            repository: None,
        },
    ];
    for case in &cases {
        let mut text = ALL_PHASES.to_string();
        for (from, to) in case.changes {
            text = text.replace(from, to);
        }
        assert!(
            text != ALL_PHASES || case.repository.is_some(),
            "{}: the change did not apply",
            case.name
        );
        let j = Jobs::new(&text);
        if let Some((from, to)) = case.repository {
            let c = fs::read_to_string(&j.config).expect("config");
            assert!(c.contains(from));
            fs::write(&j.config, c.replace(from, to)).expect("config");
        }
        fs::write(j.env.path("wrong"), "not the password\n").expect("wrong password");
        let out = j.run(&["run", "t"]);
        assert_eq!(j.tags(), case.tags, "{}\n{}", case.name, stderr(&out));
        let run = j.last_run("t");
        assert_eq!(run["status"], case.status, "{}", case.name);
        let code = out.status.code();
        assert_eq!(
            code,
            Some(if case.status == "success" { 0 } else { 1 }),
            "{}: {}",
            case.name,
            stderr(&out)
        );
        if case.status == "failed" {
            assert!(
                stderr(&out).contains("error: job t: "),
                "{}: {}",
                case.name,
                stderr(&out)
            );
            // The hint says what went wrong, not where the log is, when umbra knows.
            if case.name.contains("wrong password") {
                assert!(
                    stderr(&out).contains("hint: Check the password source"),
                    "{}: {}",
                    case.name,
                    stderr(&out)
                );
            }
            let on_failure = j.trace().into_iter().find(|f| f[0] == "on_failure");
            if let Some(f) = on_failure {
                assert_eq!(f[3], "failed", "{}: UMBRA_STATUS", case.name);
                assert!(!f[6].is_empty(), "{}: UMBRA_ERROR is empty", case.name);
            }
        }
        if case.repository.is_some() {
            continue; // the wrong password cannot list snapshots either
        }
        assert_eq!(
            !j.snapshot_ids().is_empty(),
            case.snapshot_saved,
            "{}",
            case.name
        );
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.hooks]
before = [{ run = "sleep 300 & echo $! > DIR/bg.pid; sleep 300", timeout = "1s" }]
after_snapshot = [TRACE(after_snapshot)]
"#,
    );
    let started = Instant::now();
    let out = j.run(&["run", "t"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the timeout was not enforced"
    );
    assert!(
        stderr(&out).contains("timed out after 1 s; its process group was killed"),
        "{}",
        stderr(&out)
    );
    let pid: i32 = fs::read_to_string(j.env.path("bg.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(pid),
        "the background child of the timed-out command survived"
    );
    assert_eq!(j.tags(), ["after_snapshot"]);
}

#[test]
fn fifty_megabytes_of_output_do_not_block() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.hooks]
before = ["yes 0123456789abcdef | head -c 50000000; head -c 50000000 /dev/zero | tr '\\0' x >&2"]
"#,
    );
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = j.last_run("t");
    let log = PathBuf::from(run["log"].as_str().expect("log"));
    let size = fs::metadata(&log).expect("log").len();
    // 1 MiB per stream, plus a time stamp and tag per line.
    assert!(
        size < 8 << 20,
        "the log holds {size} bytes; output must be capped"
    );
    let text = fs::read_to_string(&log).expect("log");
    assert!(text.contains("[before] stdout: 0123456789abcdef"));
    assert!(
        text.contains("more bytes of output were not logged"),
        "{text:.2000}"
    );
}

#[test]
fn a_job_never_runs_twice_at_once() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.hooks]
before = ["touch DIR/started", "sleep 3"]
"#,
    );
    let mut first = j
        .umbra()
        .args(["run", "t"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !j.env.path("started").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = j.run(&["run", "t"]);
    assert_eq!(second.status.code(), Some(1));
    let msg = stderr(&second);
    assert!(
        msg.contains(&format!(
            "error: job `t` is already running (pid {}",
            first.id()
        )),
        "{msg}"
    );
    assert!(first.wait().expect("wait").success());
    assert!(
        j.run(&["run", "t"]).status.success(),
        "the lock was not released"
    );
}

#[test]
fn an_interrupt_during_before_still_runs_after_snapshot() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
[jobs.t.hooks]
before = [TRACE(before), "sh -c 'echo $$ > DIR/sleep.pid; exec sleep 300'"]
after_snapshot = [TRACE(after_snapshot)]
on_failure = [TRACE(on_failure)]
finally = [TRACE(finally)]
"#,
    );
    let child = j
        .umbra()
        .args(["run", "t"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while j.tags().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(
        j.tags(),
        ["before", "after_snapshot", "on_failure", "finally"]
    );
    assert_eq!(j.trace()[2][3], "interrupted");
    assert_eq!(j.last_run("t")["status"], "interrupted");
    let sleeper: i32 = fs::read_to_string(j.env.path("sleep.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(sleeper) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(sleeper), "the interrupted command still runs");
}

/// A job takes restic's exclude flags as keys (`iexclude`, `exclude_if_present`,
/// `exclude_larger_than`), with the meanings `umbra backup` gives them.
#[test]
fn a_job_applies_restics_exclude_keys() {
    let j = Jobs::new(
        r#"
[jobs.t]
sources = ["SRC"]
iexclude = ["*.log"]
exclude_if_present = [".nobackup"]
exclude_larger_than = "1K"
"#,
    );
    fs::create_dir_all(j.src.join("marked")).expect("mkdir");
    fs::write(j.src.join("marked/.nobackup"), "").expect("write");
    fs::write(j.src.join("marked/inside"), "x").expect("write");
    fs::write(j.src.join("Big.bin"), vec![1u8; 5000]).expect("write");
    fs::write(j.src.join("Trace.LOG"), "log").expect("write");
    let out = j.run(&["run", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ls = j.umbra().args(["ls", "latest"]).output().expect("ls");
    let listing = String::from_utf8_lossy(&ls.stdout);
    assert!(
        listing.contains("/data") && listing.contains("marked/.nobackup"),
        "{listing}"
    );
    for gone in ["marked/inside", "Big.bin", "Trace.LOG"] {
        assert!(
            !listing.contains(gone),
            "{gone} should be left out:\n{listing}"
        );
    }
}
