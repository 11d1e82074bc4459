//! `backup --files-from`, `--files-from-verbatim` and `--files-from-raw` (issue #14): the
//! same lists given to restic 0.14 and to umbra back up the same paths and files.

mod common;

use std::fs;
use std::path::Path;

use common::{have, require, Env};

/// Every path in snapshot `id`, as restic lists it.
fn restic_ls(env: &Env, id: &str) -> Vec<String> {
    let out = common::restic(env, &["ls", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn restic_backup_id(env: &Env, args: &[&str], dir: &Path) -> String {
    let mut c = std::process::Command::new("restic");
    c.env("RESTIC_REPOSITORY", env.repo())
        .env("RESTIC_PASSWORD_FILE", env.path("password"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"))
        .current_dir(dir)
        .args(["backup", "--json", "-q"])
        .args(args);
    let out = c.output().expect("restic");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(text.lines().last().unwrap_or("")).expect("json");
    summary["snapshot_id"].as_str().expect("id").to_string()
}

fn umbra_backup_id(env: &Env, args: &[&str], dir: &Path) -> (String, String) {
    let out = env
        .umbra()
        .current_dir(dir)
        .args(["--json", "backup"])
        .args(args)
        .output()
        .expect("umbra");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message_type"] == "summary")
        .expect("a summary");
    // With --json, warnings are JSON lines on stdout.
    (
        summary["snapshot_id"].as_str().expect("id").to_string(),
        format!("{text}{err}"),
    )
}

#[test]
fn lists_of_files_back_up_what_restic_backs_up() {
    if !require(have("restic"), "the restic binary (see .ci/run)") {
        return;
    }
    let env = Env::new();
    env.init();
    let dir = env.path("data");
    for (p, text) in [
        ("a.txt", "a"),
        ("b.txt", "b"),
        (".hidden.txt", "h"),
        ("c.log", "c"),
        ("sub/d.txt", "d"),
        ("sub/deeper/e.txt", "e"),
        ("with space.txt", "s"),
        ("[x].dat", "x"),
    ] {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    // Patterns, comments, blank lines, surrounding spaces, a pattern matching nothing.
    // Absolute paths: restic stores a relative target at the snapshot's root, umbra under
    // its full path (the snapshot's `paths` are the same).
    let d = dir.display();
    fs::write(
        dir.join("list"),
        format!("# what to keep\n{d}/*.txt\n\n  {d}/sub/*/e.txt  \n{d}/sub/?.txt\n{d}/nothing-*.here\n{d}/[[]x].dat\n"),
    )
    .expect("list");
    fs::write(
        dir.join("verbatim"),
        format!("{d}/c.log\n{d}/with space.txt\n\n"),
    )
    .expect("verbatim");
    fs::write(dir.join("raw"), format!("{d}/sub/d.txt\0{d}/[x].dat\0")).expect("raw");
    for (flag, file) in [
        ("--files-from", "list"),
        ("--files-from-verbatim", "verbatim"),
        ("--files-from-raw", "raw"),
    ] {
        let theirs = restic_backup_id(&env, &[flag, file], &dir);
        let (ours, err) = umbra_backup_id(&env, &[flag, file], &dir);
        assert_eq!(restic_ls(&env, &ours), restic_ls(&env, &theirs), "{flag}");
        if flag == "--files-from" {
            assert!(
                err.contains("/nothing-*.here\\\" does not match any files, skipping"),
                "{err}"
            );
        }
    }
    // Combined with paths on the command line, and from standard input.
    let mut child = env
        .umbra()
        .current_dir(&dir)
        .args(["backup", "--files-from", "-", "c.log"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("umbra");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"a.txt\n")
            .expect("write");
    }
    assert!(child.wait().expect("wait").success());
    let ls = env.ok(&["ls", "latest"]);
    assert!(
        ls.contains("/a.txt") && ls.contains("/c.log") && !ls.contains("/b.txt"),
        "{ls}"
    );
    // A list that names nothing: a clear error, nothing saved.
    fs::write(dir.join("empty"), "# nothing\nnone-*\n").expect("empty");
    let before = env.ok(&["snapshots"]).lines().count();
    let out = env
        .umbra()
        .current_dir(&dir)
        .args(["backup", "--files-from", "empty"])
        .output()
        .expect("umbra");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to back up"));
    assert_eq!(env.ok(&["snapshots"]).lines().count(), before);
    let out = env.run(&["backup", "--files-from", "/nonexistent/list"]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot read the list of files /nonexistent/list"));
}

#[test]
fn read_concurrency_reads_the_same_files_and_refuses_zero() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    for i in 0..200 {
        let p = src.join(format!("d{}/f{i}", i % 7));
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, format!("file {i} ").repeat(i + 1)).expect("write");
    }
    let (_, one) = env.backup_json(&[&src], &["--read-concurrency", "1", "--force"]);
    let (_, many) = env.backup_json(&[&src], &["--read-concurrency", "8", "--force"]);
    assert_eq!(one["files_new"], 200, "{one}");
    assert_eq!(
        env.ok(&["ls", &one["snapshot_id"].as_str().expect("id")[..8]])
            .lines()
            .skip(1)
            .collect::<Vec<_>>(),
        env.ok(&["ls", &many["snapshot_id"].as_str().expect("id")[..8]])
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
    );
    let out = env.run(&[
        "backup",
        "--read-concurrency",
        "0",
        src.to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--read-concurrency"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
