//! `--compression` and a job's `compression` key (restic's `--compression`, issue #18):
//! each mode writes what it says (told apart by the size of the packs of one compressible
//! source), `auto` is the default at either priority, restic 0.14 reads every blob of every
//! mode back (`check --read-data`), a job's key and a stream's flag are applied, and a
//! version 1 repository, which cannot hold compressed blobs, is backed up uncompressed by
//! default and refuses a level.

mod common;

use std::fs;
use std::path::Path;

use std::io::Write;

use common::jobs::{stderr, Jobs};
use common::{Env, Rng};

/// Bytes of the pack files under `repo/data`.
fn pack_bytes(repo: &Path) -> u64 {
    common::files_under(&repo.join("data"))
        .iter()
        .map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// 4 MB of text of 2,000 made-up words: compresses well, and differently at each level.
fn text_source(env: &Env) -> std::path::PathBuf {
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(11);
    let words: Vec<String> = (0..2000)
        .map(|_| {
            let len = 3 + rng.below(8) as usize;
            (0..len)
                .map(|_| (b'a' + rng.below(26) as u8) as char)
                .collect()
        })
        .collect();
    let mut text = String::with_capacity(4 << 20);
    while text.len() < 4 << 20 {
        text.push_str(&words[rng.below(words.len() as u64) as usize]);
        text.push(if rng.below(12) == 0 { '\n' } else { ' ' });
    }
    fs::write(src.join("words.txt"), text).expect("write");
    src
}

#[test]
fn each_compression_writes_what_it_says_and_restic_reads_them_all() {
    if !common::require(common::have("restic"), "the restic binary") {
        return;
    }
    let env = Env::new();
    let src = text_source(&env);
    let src_arg = src.to_str().expect("utf8");
    let mut sizes = Vec::new();
    for (name, flags) in [
        ("off", &["--compression", "off"][..]),
        ("fastest", &["--compression", "fastest"][..]),
        ("low (default)", &[][..]),
        ("normal (default)", &["--priority", "normal"][..]),
        ("max", &["--compression", "max"][..]),
    ] {
        let repo = env.path(&format!("repo-{}", sizes.len()));
        let repo_arg = repo.to_str().expect("utf8");
        env.ok(&["-r", repo_arg, "init"]);
        // Fixed-size chunks: the same blobs in every repository, whatever its chunker
        // polynomial, so that only the level tells the packs apart.
        let mut args = vec!["-r", repo_arg, "backup", "-q", "--chunking", "fixed:1MiB"];
        args.extend_from_slice(flags);
        args.push(src_arg);
        env.ok(&args);
        let check = common::restic_at(&env, &repo, &["check", "--read-data"]);
        assert!(
            check.status.success(),
            "restic check --read-data after `{name}`: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        sizes.push((name, pack_bytes(&repo)));
    }
    eprintln!("pack bytes of 4 MB of text: {sizes:?}");
    let [off, fastest, low, normal, max] = [0, 1, 2, 3, 4].map(|i| sizes[i].1);
    assert!(off > 4 << 20, "`off` stored {off} bytes of 4 MiB");
    assert!(off > 2 * fastest, "`off` {off} against `fastest` {fastest}");
    assert!(
        fastest > low,
        "`fastest` {fastest} against the default {low}"
    );
    // The same data blobs; the trees may differ by a few bytes (the times they record).
    assert!(
        low.abs_diff(normal) < 1024,
        "the default is `auto` at either priority: {low} against {normal}"
    );
    // Level 11 is not always smaller than 3 on this made-up text; that it differs shows
    // the level was applied.
    assert_ne!(low, max, "`max` wrote what `auto` wrote");
}

#[test]
fn a_job_names_its_compression() {
    let jobs = Jobs::new("[jobs.words]\nsources = [\"SRC\"]\ncompression = \"off\"\n");
    text_source(&jobs.env);
    let run = jobs.run(&["run", "words"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let stored = pack_bytes(&jobs.env.repo());
    assert!(stored > 4 << 20, "`off` in the job stored {stored} bytes");

    let bad = Jobs::new("[jobs.words]\nsources = [\"SRC\"]\ncompression = \"best\"\n");
    let out = bad.run(&["run", "words"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("umbra.toml:7: jobs.words.compression"),
        "{err}"
    );
    assert!(err.contains("`best` is not a compression"), "{err}");
    assert!(err.contains("fastest"), "{err}");
    assert_eq!(
        bad.env.snapshot_count(),
        0,
        "a refused job saved a snapshot"
    );
}

#[test]
fn a_stream_is_stored_as_its_compression_says() {
    let env = Env::new();
    let text = fs::read(text_source(&env).join("words.txt")).expect("read");
    for (flag, uncompressed) in [("off", true), ("auto", false)] {
        // A repository each: the same stream into one would be deduplicated.
        let repo = env.path(&format!("repo-{flag}"));
        let repo_arg = repo.to_str().expect("utf8");
        env.ok(&["-r", repo_arg, "init"]);
        let mut child = env
            .umbra()
            .args([
                "-r",
                repo_arg,
                "backup",
                "-q",
                "--stdin",
                "--compression",
                flag,
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("umbra backup --stdin");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&text)
            .expect("write the stream");
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
        let stored = pack_bytes(&repo);
        assert_eq!(
            stored > 4 << 20,
            uncompressed,
            "`--stdin --compression {flag}` left {stored} bytes of packs"
        );
    }
}

#[test]
fn a_version_1_repository_is_stored_uncompressed_and_refuses_a_level() {
    if !common::require(common::have("restic"), "the restic binary") {
        return;
    }
    let env = Env::new();
    let init = common::restic(&env, &["init", "--repository-version", "1"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let src = text_source(&env);
    let src_arg = src.to_str().expect("utf8");
    // `auto`: a repository that cannot compress is written uncompressed, as restic does.
    env.ok(&["backup", "-q", src_arg]);
    assert!(pack_bytes(&env.repo()) > 4 << 20);

    let out = env.run(&["backup", "-q", "--compression", "max", "--force", src_arg]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a level was accepted: {err}");
    assert!(err.contains("compression `max`"), "{err}");
    assert!(err.contains("version `1`"), "{err}");
    assert!(err.contains("--compression auto"), "{err}");
    let listed = common::restic(&env, &["snapshots", "--json"]);
    let snapshots: serde_json::Value =
        serde_json::from_slice(&listed.stdout).expect("restic snapshots --json");
    assert_eq!(
        snapshots.as_array().map(Vec::len),
        Some(1),
        "the refused backup left a snapshot"
    );
    let check = common::restic(&env, &["check", "--read-data"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_bad_compression_flag_says_what_to_write() {
    let (env, src) = Env::with_one_snapshot();
    for bad in ["0", "23", "zip"] {
        let out = env.run(&["backup", "--compression", bad, src.to_str().expect("utf8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--compression {bad} was accepted");
        assert!(
            err.contains(&format!("`{bad}` is not a compression")),
            "{err}"
        );
        assert!(err.contains("a zstd level from 1 to 22"), "{err}");
    }
    assert_eq!(env.snapshot_count(), 1, "a refused backup saved a snapshot");
}
