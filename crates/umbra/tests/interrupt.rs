//! An interrupted backup (SIGINT, SIGTERM, or SIGKILL) leaves a repository that passes
//! `check`, and nothing that blocks the next run.

mod common;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Env;

/// A source big enough that its backup takes seconds: random (incompressible) data.
fn big_source(env: &Env) -> std::path::PathBuf {
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    for i in 0..6 {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "head -c 100000000 /dev/urandom > {}/chunk{i}",
                src.display()
            ))
            .status()
            .expect("head");
        assert!(status.success());
    }
    src
}

/// Starts a backup and returns once it has stored some new data (packs appear in data/).
fn start_backup(env: &Env, src: &std::path::Path) -> Child {
    let baseline = walk_count(&env.repo().join("data"));
    let mut child = env
        .umbra()
        .args(["backup", src.to_str().expect("utf8")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let packs = walk_count(&env.repo().join("data"));
        if packs >= baseline + 2 {
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the backup wrote no pack within 60 s");
}

fn walk_count(dir: &std::path::Path) -> usize {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        walk_count(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: sending a signal to our own child.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0);
}

fn locks(env: &Env) -> usize {
    fs::read_dir(env.repo().join("locks"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn snapshots(env: &Env) -> usize {
    fs::read_dir(env.repo().join("snapshots"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn sigint_during_backup_leaves_a_sound_repository_and_no_lock() {
    let env = Env::new();
    env.init();
    let src = big_source(&env);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let child = start_backup(&env, &src);
        signal(&child, sig);
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(
            err.contains("interrupted by") && err.contains("repository lock"),
            "{err}"
        );
        assert_eq!(locks(&env), 0, "the lock must be released on {sig}");
        assert_eq!(snapshots(&env), 0, "no snapshot for an interrupted backup");
        let check = env.ok(&["check", "--read-data"]);
        assert!(check.contains("no errors found"), "{check}");
    }
    // The next backup completes, and the repository is sound.
    env.ok(&["backup", src.to_str().expect("utf8")]);
    env.ok(&["check", "--read-data"]);
}

#[test]
fn sigkill_leaves_a_stale_lock_that_the_next_run_removes() {
    let env = Env::new();
    env.init();
    let src = big_source(&env);
    let mut child = start_backup(&env, &src);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(locks(&env), 1, "kill -9 leaves the lock file behind");
    let out = env.run(&["backup", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("removed stale lock"), "{err}");
    assert_eq!(locks(&env), 0);
    env.ok(&["check", "--read-data"]);
}

/// `added` bytes of a backup's JSON summary.
fn added(env: &Env, src: &std::path::Path) -> u64 {
    let (code, summary) = env.backup_json(&[src], &[]);
    assert_eq!(code, Some(0), "{summary}");
    summary["bytes_added"].as_u64().expect("bytes_added")
}

#[test]
fn the_next_backup_reuses_what_an_interrupted_one_stored() {
    let env = Env::new();
    env.init();
    let src = big_source(&env);
    let total: u64 = (0..6)
        .map(|i| {
            fs::metadata(src.join(format!("chunk{i}")))
                .expect("meta")
                .len()
        })
        .sum();
    let child = start_backup(&env, &src);
    // Let it store a good part first.
    let started = Instant::now();
    while walk_count(&env.repo().join("data")) < 8 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130));
    let stored: u64 = files_in(&env.repo().join("data"))
        .iter()
        .map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let again = added(&env, &src);
    eprintln!(
        "measured: interrupted after storing {stored} bytes of {total}; the next backup added {again}"
    );
    assert!(
        stored > total / 10,
        "the interrupted backup stored little: {stored}"
    );
    // Everything the interrupted backup finished is reused (a pack being written at the
    // signal, at most a few, is not).
    assert!(
        again < total - stored / 2,
        "stored {stored} of {total} before the signal, then added {again} again"
    );
    env.ok(&["check", "--read-data"]);
}

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_in(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
