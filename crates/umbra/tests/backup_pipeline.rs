//! `umbra backup PATH...` runs as an ad-hoc job through the job runner: one pipeline for
//! both. These tests check what that means for the command line: each run is in the
//! history (marked ad hoc) also without a job file, ad-hoc backups run side by side (no
//! job lock), and a `--quiesce` that cannot be read or reached fails with nothing left
//! behind: no repository created, no snapshot saved, no snapshot set held.

mod common;

use std::fs;

use common::Env;

fn history(env: &Env) -> Vec<serde_json::Value> {
    env.ok(&["-c", "/nonexistent/umbra.toml", "--json", "history"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON run record"))
        .collect()
}

#[test]
fn ad_hoc_backups_are_recorded_and_run_side_by_side() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    for i in 0..200 {
        fs::write(src.join(format!("f{i}")), vec![i as u8; 20_000]).expect("write");
    }
    let spawn = |tag: &str| {
        env.umbra()
            .args(["backup", "--tag", tag])
            .arg(&src)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("umbra backup")
    };
    // Two at once: a job runs once at a time, ad-hoc backups do not wait for each other.
    let (a, b) = (spawn("a"), spawn("b"));
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs = history(&env);
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        assert_eq!(run["job"], "(ad hoc)");
        assert_eq!(run["ad_hoc"], true);
        assert_eq!(run["status"], "success");
        assert!(run["backup"]["bytes_read"].as_u64().is_some(), "{run}");
        assert!(run["cpu_seconds"].as_f64().is_some(), "{run}");
    }
    assert_ne!(runs[0]["run_id"], runs[1]["run_id"]);
    let snapshots: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "snapshots"])).expect("json");
    assert_eq!(snapshots.as_array().map(Vec::len), Some(2));
    // Jobs' histories and the ad-hoc one are apart: `history JOB` of the file's jobs.
    let config = env.job_file(&format!("[jobs.t]\nsources = [\"{}\"]\n", src.display()));
    let out = env
        .umbra()
        .arg("-c")
        .arg(&config)
        .args(["run", "t"])
        .output()
        .expect("umbra run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(
        &env.umbra()
            .arg("-c")
            .arg(&config)
            .arg("history")
            .output()
            .expect("history")
            .stdout,
    )
    .into_owned();
    assert_eq!(text.matches("(ad hoc)").count(), 2, "{text}");
    assert_eq!(text.matches(" t ").count(), 1, "{text}");
}

#[test]
fn a_quiescer_that_cannot_be_read_or_reached_leaves_nothing_behind() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "data").expect("write");
    // Unreadable flags fail before anything is made: not even the repository.
    for (flag, problem) in [
        ("oracle:/x", "`oracle` is not a quiescer type"),
        (
            "sqlite:app.db",
            "app.db is relative; expected an absolute path",
        ),
        ("freeze", "a freeze needs the unit to hold still"),
    ] {
        let out = env
            .umbra()
            .args(["backup", "--quiesce", flag])
            .arg(&src)
            .output()
            .expect("umbra");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag}: {err}");
        assert!(
            err.contains(&format!("--quiesce {flag}: {problem}")),
            "{err}"
        );
        assert!(err.contains("hint: Write TYPE:VALUE"), "{err}");
        assert!(!env.repo().exists(), "{flag}: a repository was created");
    }
    // A server that is not there: the run fails, saves nothing, and holds nothing.
    env.init();
    let sock = env.path("no-server");
    let flag = format!("postgres:host={} port=5999 user=postgres", sock.display());
    let out = env
        .umbra()
        .args(["backup", "--quiesce", &flag])
        .arg(&src)
        .output()
        .expect("umbra");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot prepare postgres-1 for the freeze"),
        "{err}"
    );
    assert!(
        err.contains("`umbra history -v` for an ad-hoc backup"),
        "{err}"
    );
    let snapshots: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "snapshots"])).expect("json");
    assert_eq!(snapshots.as_array().map(Vec::len), Some(0));
    let registry = env.path("state/artifacts");
    let held = fs::read_dir(&registry).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        held,
        0,
        "a snapshot record was left in {}",
        registry.display()
    );
    let runs = history(&env);
    assert_eq!(
        runs.last().map(|r| r["status"].clone()),
        Some("failed".into())
    );
}

/// A run opens its repository more than once (pre-flight, backup, its size afterwards):
/// the password command runs once, as a password typed at a prompt is asked for once.
#[test]
fn the_password_command_runs_once_per_backup() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "data").expect("write");
    let count = env.path("asked");
    let script = env.path("password.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho asked >> {}\ncat {}\n",
            count.display(),
            env.path("password").display()
        ),
    )
    .expect("script");
    common::chmod(&script, 0o755);
    let out = env
        .umbra()
        .env_remove("UMBRA_PASSWORD_FILE")
        .env("UMBRA_PASSWORD_COMMAND", &script)
        .arg("backup")
        .arg(&src)
        .output()
        .expect("umbra");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&count).expect("asked").lines().count(),
        1
    );
}

/// What a crashed ad-hoc backup staged (a quiescer's copies, under its process ID) is
/// removed by the next ad-hoc backup once that process is gone.
#[test]
fn a_dead_ad_hoc_backups_staging_is_swept() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "data").expect("write");
    // Above any pid_max: no such process.
    let stale = env.path("state/staging/ad-hoc-2147483000");
    fs::create_dir_all(&stale).expect("mkdir");
    fs::write(stale.join("app.db"), "a staged copy").expect("write");
    env.ok(&["backup", src.to_str().expect("utf8")]);
    assert!(!stale.exists(), "{} was left", stale.display());
}
