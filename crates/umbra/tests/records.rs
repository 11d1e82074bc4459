//! Honest records and safe defaults: incomplete snapshots are marked, vanished files are
//! named once in words, what umbra creates is private whatever the umask, passwords and
//! job files are checked, and snapshots, keys and locks say who made them.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, Rng};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn snapshots_marks_an_incomplete_backup_and_show_names_its_files() {
    if !common::require(
        common::is_root(),
        "root, to make a file unreadable for umbra",
    ) {
        return;
    }
    let env = Env::new();
    env.open_up_for_nobody();
    let out = env.umbra_unprivileged().arg("init").output().expect("init");
    assert!(out.status.success(), "{}", stderr(&out));
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("ok"), "fine").expect("write");
    for name in ["secret-1", "secret-2"] {
        fs::write(src.join(name), "no").expect("write");
        common::chmod(&src.join(name), 0o000);
    }
    common::chmod(&src, 0o755);
    let out = env
        .umbra_unprivileged()
        .args(["backup", src.to_str().expect("utf8")])
        .output()
        .expect("umbra");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 entries could not be read"),
        "{}",
        stderr(&out)
    );
    let as_nobody = |args: &[&str]| {
        let out = env.umbra_unprivileged().args(args).output().expect("umbra");
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = as_nobody(&["snapshots"]);
    assert!(list.contains("incomplete (2 unreadable)"), "{list}");
    let show = as_nobody(&["show", "latest"]);
    assert!(
        show.contains("unreadable (missing): ") && show.contains("secret-2"),
        "{show}"
    );
}

#[test]
fn files_deleted_during_a_backup_are_named_once_as_vanished() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    // A large file first (in path order), so that the walk is still ahead when the
    // directories go.
    fs::write(src.join("a-big"), Rng(4).bytes(150_000_000)).expect("write");
    for d in 0..54 {
        let dir = src.join(format!("z-{d:02}"));
        fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..20 {
            fs::write(dir.join(format!("f{f}")), "x").expect("write");
        }
    }
    let child = env
        .umbra()
        .args(["--json", "backup", src.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Once data is being stored, delete the directories.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60)
        && walk(&env.repo().join("data"))
            .iter()
            .filter(|p| p.is_file())
            .count()
            < 1
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    for d in 0..54 {
        let _ = fs::remove_dir_all(src.join(format!("z-{d:02}")));
    }
    let out = child.wait_with_output().expect("wait");
    let err = stderr(&out);
    assert!(
        !err.contains("WithPath") && !err.contains("WithDepth"),
        "{err}"
    );
    let show = env.ok(&["--json", "show", "latest"]);
    let snap: serde_json::Value = serde_json::from_str(&show).expect("json");
    let source = &snap["consistency"]["sources"][0];
    let vanished: Vec<String> = source["vanished"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let unreadable = source["unreadable"].as_array().map_or(0, Vec::len);
    assert_eq!(
        unreadable, 0,
        "deleted entries are not unreadable: {source}"
    );
    assert!(
        !vanished.is_empty(),
        "the deletions were not seen: {source}"
    );
    let root = src.display().to_string();
    assert!(
        !vanished.contains(&root),
        "the source itself is named: {source}"
    );
    let mut unique = vanished.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        vanished.len(),
        "named more than once: {source}"
    );
    assert_eq!(source["level"], "changed-while-read", "{source}");
    assert_eq!(out.status.code(), Some(3), "{err}");
    let text = env.ok(&["show", "latest"]);
    assert!(text.contains("vanished while the backup ran"), "{text}");
}

/// A job file (mode 0600) for job `t` backing up `src`, with `repo` as its repository and
/// `more` appended.
fn job_file(env: &Env, repo: &Path, more: &str) -> std::path::PathBuf {
    let config = env.path("umbra.toml");
    fs::create_dir_all(env.path("src")).expect("mkdir");
    fs::write(
        &config,
        format!(
            "[repository]\npath = \"{}\"\npassword_file = \"password\"\n\n[jobs.t]\nsources = [\"{}\"]\n{more}",
            repo.display(),
            env.path("src").display(),
        ),
    )
    .expect("config");
    common::chmod(&config, 0o600);
    config
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("lstat").mode() & 0o777
}

#[test]
fn what_umbra_creates_is_private_whatever_the_umask() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "data").expect("write");
    let umbra = env!("CARGO_BIN_EXE_umbra");
    let run = |args: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("umask 000; exec {umbra} {args}"))
            .env("UMBRA_REPOSITORY", env.repo())
            .env("UMBRA_PASSWORD_FILE", env.path("password"))
            .env("UMBRA_CACHE_DIR", env.path("cache"))
            .env("UMBRA_STATE_DIR", env.path("state"))
            .output()
            .expect("sh");
        assert!(out.status.success(), "{args}: {}", stderr(&out));
    };
    common::chmod(&env.path("password"), 0o600);
    run("init");
    run(&format!("backup {}", src.display()));
    for dir in ["", "data", "index", "keys", "snapshots"] {
        assert_eq!(mode(&env.repo().join(dir)), 0o700, "repo/{dir}");
    }
    for file in walk(&env.repo()) {
        assert_eq!(
            mode(&file) & 0o077,
            0,
            "{} is open to others",
            file.display()
        );
    }
    for file in walk(&env.path("cache")) {
        assert_eq!(
            mode(&file) & 0o077,
            0,
            "{} is open to others",
            file.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.clone());
        if p.is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

#[test]
fn an_empty_password_is_refused_and_an_open_password_file_is_named() {
    let env = Env::new();
    let out = env
        .umbra()
        .env_remove("UMBRA_PASSWORD_FILE")
        .env("UMBRA_PASSWORD", "")
        .arg("init")
        .output()
        .expect("umbra");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("empty password is not a password"),
        "{}",
        stderr(&out)
    );
    assert!(!env.repo().exists(), "nothing created");

    common::chmod(&env.path("password"), 0o644);
    let out = env.run(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("can be read by other users (mode 644)"),
        "{}",
        stderr(&out)
    );
    common::chmod(&env.path("password"), 0o600);
    let out = env.run(&["snapshots"]);
    assert!(!stderr(&out).contains("other users"), "{}", stderr(&out));
}

#[test]
fn as_root_a_job_file_others_can_write_is_refused() {
    if !common::require(common::is_root(), "root") {
        return;
    }
    let env = Env::new();
    env.init();
    let config = job_file(&env, &env.repo(), "");
    common::chmod(&config, 0o666);
    let out = env
        .umbra_with_config(&config)
        .args(["run", "t"])
        .output()
        .expect("umbra");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("writable by other users"),
        "{}",
        stderr(&out)
    );
    common::chmod(&config, 0o600);
    let out = env
        .umbra_with_config(&config)
        .args(["config", "check"])
        .output()
        .expect("umbra");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn config_check_names_a_missing_repository() {
    let env = Env::new();
    let config = job_file(&env, &env.path("no-repo"), "");
    let out = env
        .umbra_with_config(&config)
        .args(["config", "check"])
        .output()
        .expect("umbra");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("umbra.toml:2: repository.path: there is no repository"),
        "{err}"
    );
}

#[test]
fn snapshots_keys_and_locks_say_who_made_them() {
    if !common::require(common::have("restic"), "the restic binary") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.backup_json(&[&src], &[]);
    let user = common::sh("id -un").trim().to_string();
    let restic = |args: &[&str]| {
        let out = common::restic(&env, args);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let snaps: serde_json::Value =
        serde_json::from_str(&restic(&["snapshots", "--json"])).expect("json");
    assert_eq!(snaps[0]["username"], user.as_str());
    let keys = restic(&["key", "list"]);
    assert!(keys.contains(&user), "{keys}");
    assert!(
        !keys.contains("0001-01-01"),
        "a key without its creation time: {keys}"
    );
    // A lock umbra holds names its user.
    let _held = env.hold_lock(umbra_repo::lock::LockKind::Exclusive);
    let out = env.run(&["prune"]);
    assert!(
        stderr(&out).contains(&format!("(user {user})")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn permissions_of_files_a_hook_creates_follow_the_callers_umask() {
    let env = Env::new();
    env.init();
    let made = env.path("made-by-hook");
    let config = job_file(
        &env,
        &env.repo(),
        &format!(
            "\n[jobs.t.hooks]\nbefore = [\"touch {}\"]\n",
            made.display()
        ),
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022; exec {} -c {} run t",
            env!("CARGO_BIN_EXE_umbra"),
            config.display()
        ))
        .env_remove("UMBRA_REPOSITORY")
        .env_remove("UMBRA_PASSWORD_FILE")
        .env("UMBRA_CACHE_DIR", env.path("cache"))
        .env("UMBRA_STATE_DIR", env.path("state"))
        .output()
        .expect("sh");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::metadata(&made).expect("made").permissions().mode() & 0o777,
        0o644
    );
}
