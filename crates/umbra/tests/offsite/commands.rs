//! umbra and restic run against an off-site store, and a small source tree, for the tests
//! of S3, SFTP and REST repositories (`storage_offsite.rs`, `storage_offsite_outages.rs`,
//! `storage_rest.rs`).

#![allow(dead_code)] // each test file uses some of them

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use super::common::{restic_command, Env, Rng};
use super::servers::{text, with_store, StoreEnv};

/// umbra with `store`'s environment, on repository `repo`.
pub fn umbra(env: &Env, store: &StoreEnv, repo: &str, args: &[&str]) -> Output {
    with_store(&mut env.umbra(), store)
        .arg("-r")
        .arg(repo)
        .args(args)
        .output()
        .expect("umbra")
}

pub fn ok(env: &Env, store: &StoreEnv, repo: &str, args: &[&str]) -> String {
    let out = umbra(env, store, repo, args);
    assert!(
        out.status.success(),
        "umbra {args:?} failed\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn restic_ok(env: &Env, store: &StoreEnv, repo: &str, args: &[&str]) {
    let out = with_store(&mut restic_command(env, repo), store)
        .args(args)
        .output()
        .expect("restic");
    assert!(out.status.success(), "restic {args:?}: {}", text(&out));
}

/// A small tree to back up: a file of 5 bytes, one of 6 MB, one of 300 kB, two levels deep.
pub fn source(env: &Env) -> PathBuf {
    let src = env.path("src");
    fs::create_dir_all(src.join("sub/deeper")).expect("mkdir");
    fs::write(src.join("small"), "hello").expect("write");
    fs::write(src.join("sub/big"), Rng(51).bytes(6_000_000)).expect("write");
    fs::write(src.join("sub/deeper/more"), Rng(52).bytes(300_000)).expect("write");
    src
}

/// The `bytes_done` of each `--json` progress line of `stdout`, as they come, and all of
/// its lines (with `--json`, the error is one of them) when it ends.
pub fn read_progress(
    stdout: std::process::ChildStdout,
) -> (
    std::sync::mpsc::Receiver<u64>,
    std::thread::JoinHandle<String>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let all = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let done = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["bytes_done"].as_u64());
            if let Some(done) = done {
                let _ = tx.send(done);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (rx, all)
}
