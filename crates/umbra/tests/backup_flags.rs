//! restic's `backup --parent`, `--time` and `--with-atime` (issue #14), checked against
//! what restic 0.14 records with the same flags.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::Env;

fn snapshots(env: &Env) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&env.ok(&["--json", "snapshots"]))
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn time_sets_the_snapshots_time_and_a_bad_one_is_refused_before_anything_is_done() {
    let (env, src) = Env::with_one_snapshot();
    let (_, summary) = env.backup_json(&[&src], &["--time", "2021-05-06 07:08:09"]);
    let id = summary["snapshot_id"].as_str().expect("id");
    let ours = snapshots(&env)
        .into_iter()
        .find(|s| s["id"] == id)
        .expect("the snapshot");
    assert!(
        ours["time"]
            .as_str()
            .is_some_and(|t| t.starts_with("2021-05-06T07:08:09")),
        "{ours}"
    );
    if common::require(common::have("restic"), "the restic binary (see .ci/run)") {
        let out = common::restic(&env, &["snapshots", "--json", id]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("\"time\":\"2021-05-06T07:08:09"), "{text}");
    }
    let out = env.run(&["backup", "--time", "yesterday", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`yesterday` is not a time for --time"),
        "{err}"
    );
    assert!(err.contains("2024-05-06 07:08:09"), "{err}");
    assert_eq!(snapshots(&env).len(), 2);
}

#[test]
fn parent_chooses_what_a_backup_compares_with() {
    let (env, src) = Env::with_one_snapshot();
    let first = snapshots(&env)[0]["id"].as_str().expect("id").to_string();
    fs::write(src.join("f"), "changed data").expect("write");
    env.backup_json(&[&src], &[]);
    // Against the newest snapshot nothing changed; against the first, `f` did.
    let (_, newest) = env.backup_json(&[&src], &[]);
    assert_eq!(newest["files_changed"], 0, "{newest}");
    let (_, against_first) = env.backup_json(&[&src], &["--parent", &first[..8]]);
    assert_eq!(against_first["files_changed"], 1, "{against_first}");
    let id = against_first["snapshot_id"].as_str().expect("id");
    let snap = snapshots(&env)
        .into_iter()
        .find(|s| s["id"] == id)
        .expect("the snapshot");
    assert_eq!(snap["parent"], first.as_str(), "{snap}");

    let before = snapshots(&env).len();
    let out = env.run(&[
        "backup",
        "--parent",
        "deadbeef",
        src.to_str().expect("utf8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("deadbeef"), "{err}");
    assert_eq!(snapshots(&env).len(), before, "nothing saved");
}

/// Sets `path`'s access time to 2001-01-01 00:00:00 UTC, keeping its mtime.
fn set_old_atime(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("utf8")).expect("cstring");
    let times = [
        libc::timespec {
            tv_sec: 978_307_200,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    ];
    // SAFETY: a valid path and two timespecs, as utimensat takes them.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    assert_eq!(rc, 0, "utimensat");
}

/// The atime and mtime `ls --json` gives for `file`.
fn times_in(ls: &str, file: &Path) -> (String, String) {
    let node = ls
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["path"] == file.to_str().expect("utf8"))
        .unwrap_or_else(|| panic!("no {} in {ls}", file.display()));
    let get = |k: &str| node[k].as_str().unwrap_or_default().to_string();
    (get("atime"), get("mtime"))
}

#[test]
fn with_atime_stores_access_times_as_restic_does() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let file = src.join("old");
    fs::write(&file, "read long ago").expect("write");
    set_old_atime(&file);
    env.backup_json(&[&src], &[]);
    let (without, mtime) = times_in(&env.ok(&["--json", "ls", "latest"]), &file);
    assert_eq!(
        without, mtime,
        "without the flag the mtime stands in, as in restic"
    );
    set_old_atime(&file);
    env.backup_json(&[&src], &["--with-atime", "--force"]);
    let (with, _) = times_in(&env.ok(&["--json", "ls", "latest"]), &file);
    assert!(with.starts_with("2001-01-01T00:00:00"), "{with}");
    if common::require(common::have("restic"), "the restic binary (see .ci/run)") {
        // restic reads the same value from umbra's snapshot.
        let out = common::restic(&env, &["ls", "--json", "latest"]);
        let (by_restic, _) = times_in(&String::from_utf8_lossy(&out.stdout), &file);
        assert!(by_restic.starts_with("2001-01-01T00:00:00"), "{by_restic}");
        // And restic's own backup with the same flag records the same.
        let theirs = env.path("restic-repo");
        let restic = |args: &[&str]| common::restic_at(&env, &theirs, args);
        assert!(restic(&["init"]).status.success());
        set_old_atime(&file);
        assert!(
            restic(&["backup", "--with-atime", src.to_str().expect("utf8")])
                .status
                .success()
        );
        let (theirs_atime, _) = times_in(
            &String::from_utf8_lossy(&restic(&["ls", "--json", "latest"]).stdout),
            &file,
        );
        assert!(
            theirs_atime.starts_with("2001-01-01T00:00:00"),
            "{theirs_atime}"
        );
    }
}

/// `backup --json`'s summary carries every field of restic 0.14's, and for the same data
/// the same counts (a first backup, then one with a file changed, one added, one removed).
/// A backup reads files without moving their access times (`O_NOATIME`, as restic and
/// borg): a mail reader tells new mail in an mbox by it. A file it may not open that way
/// (someone else's, read by an unprivileged user) is read all the same.
#[test]
fn a_backup_leaves_access_times_as_they_were() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("mbox"), "From someone\n").expect("write");
    fs::write(src.join("image"), common::Rng(4).bytes(9_000_000)).expect("write");
    if common::require(
        common::is_root(),
        "root, to read a file that is not one's own",
    ) {
        env.open_up_for_nobody();
        let init = env
            .umbra_unprivileged()
            .arg("init")
            .output()
            .expect("umbra");
        assert!(init.status.success(), "{init:?}");
        let out = env
            .umbra_unprivileged()
            .args(["--json", "backup"])
            .arg(&src)
            .output()
            .expect("umbra");
        let summary = common::summary_of(&out);
        assert_eq!(out.status.code(), Some(0), "{summary}");
        assert_eq!(summary["bytes_read"], 9_000_013, "{summary}");
    } else {
        env.init();
    }
    let atime = |p: &Path| fs::metadata(p).expect("stat").atime();
    for name in ["mbox", "image"] {
        set_old_atime(&src.join(name));
    }
    let (code, summary) = env.backup_json(&[&src], &["--force"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["bytes_read"], 9_000_013, "{summary}");
    for name in ["mbox", "image"] {
        assert_eq!(
            atime(&src.join(name)),
            978_307_200,
            "{name} was read unseen"
        );
    }
}

#[test]
fn the_json_summary_has_restics_fields_and_counts() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("d/e")).expect("mkdir");
    for (name, data) in [
        ("a", "alpha"),
        ("d/b", "beta"),
        ("d/e/c", "gamma"),
        ("gone", "x"),
    ] {
        fs::write(src.join(name), data).expect("write");
    }
    let restic_repo = env.path("restic-repo");
    let have_restic = common::require(common::have("restic"), "the restic binary (see .ci/run)");
    if have_restic {
        let out = common::restic_at(&env, &restic_repo, &["init"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let restic_summary = || -> serde_json::Value {
        let out = common::restic_at(
            &env,
            &restic_repo,
            &["backup", "--json", src.to_str().expect("utf8")],
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["message_type"] == "summary")
            .expect("restic's summary")
    };
    for round in 0..2 {
        if round == 1 {
            fs::write(src.join("a"), "alpha, longer").expect("write");
            fs::write(src.join("d/new"), "new").expect("write");
            fs::remove_file(src.join("gone")).expect("rm");
        }
        let (_, ours) = env.backup_json(&[&src], &[]);
        assert_eq!(ours["total_duration"], ours["seconds"]);
        if !have_restic {
            continue;
        }
        let theirs = restic_summary();
        for (key, value) in theirs.as_object().expect("object") {
            assert!(
                ours.get(key).is_some(),
                "round {round}: no `{key}` in {ours}"
            );
            if !["total_duration", "snapshot_id", "data_added"].contains(&key.as_str()) {
                assert_eq!(&ours[key], value, "round {round}: {key}");
            }
        }
    }
}

/// `backup --stdin` stores standard input as restic 0.14 stores it (`/NAME`, mode 0644,
/// its size), and `--stdin-from-command` a command's output; a command that fails saves
/// no snapshot. Both are recorded as `stream`.
#[test]
fn a_stream_is_stored_as_restic_stores_stdin_and_a_failed_command_saves_nothing() {
    use std::io::Write;
    let env = Env::new();
    env.init();
    let dump = "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n";
    let mut child = env
        .umbra()
        .args(["--json", "backup", "--stdin", "--stdin-filename", "db.sql"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("umbra");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dump.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("umbra");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["message_type"] == "summary")
        .expect("summary");
    assert_eq!(summary["consistency"]["sources"][0]["level"], "stream");
    assert_eq!(summary["total_bytes_processed"], dump.len());

    let (_, from_command) = env.backup_json(
        &[],
        &[
            "--stdin-from-command",
            "--stdin-filename",
            "out.txt",
            "--",
            "sh",
            "-c",
            "echo dumped",
        ],
    );
    assert_eq!(from_command["total_bytes_processed"], 7, "{from_command}");

    let out = env.run(&[
        "backup",
        "--stdin-from-command",
        "--",
        "sh",
        "-c",
        "echo partial; exit 3",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("failed (exit status: 3); no snapshot was saved"),
        "{err}"
    );
    assert_eq!(snapshots(&env).len(), 2);

    let out = env.run(&["backup", "--stdin", "--stdin-filename", "a/b"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`a/b` is not a file name for --stdin-filename"),
        "{err}"
    );
    assert_eq!(snapshots(&env).len(), 2, "nothing saved");

    let out = env.run(&["backup", "--stdin", "--exclude", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--exclude does not apply to a backup of a stream"),
        "{err}"
    );

    assert_eq!(env.ok(&["dump", "latest~1", "/db.sql"]), dump);
    if common::require(common::have("restic"), "the restic binary (see .ci/run)") {
        let out = common::restic(&env, &["dump", "latest", "/out.txt"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "dumped\n");
        // The node as restic would have written it for `restic backup --stdin`.
        let out = common::restic(&env, &["ls", "--json", "latest"]);
        let node: serde_json::Value = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .find(|v: &serde_json::Value| v["path"] == "/out.txt")
            .expect("the node");
        assert_eq!(node["size"], 7, "{node}");
        assert_eq!(node["mode"], 420, "{node}");
        assert_eq!(node["type"], "file", "{node}");
    }
}
