//! Every error a user is likely to meet names the problem and what to do, and leaves
//! nothing behind.

mod common;

use std::fs;

use common::{chmod, Env};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn wrong_password_is_named_as_such() {
    let env = Env::new();
    env.init();
    fs::write(env.path("wrong"), "not the password\n").expect("write");
    let out = env
        .umbra()
        .env("UMBRA_PASSWORD_FILE", env.path("wrong"))
        .arg("snapshots")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: wrong password"), "{err}");
    assert!(err.contains("hint: Check the password source"), "{err}");
    assert!(
        !err.contains("not the password"),
        "the password must never be printed: {err}"
    );
}

#[test]
fn missing_repository_is_named_with_its_path() {
    let env = Env::new();
    let out = env.run(&["snapshots"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "there is no repository at {}",
            env.repo().display()
        )),
        "{err}"
    );
    assert!(err.contains("umbra init"), "{err}");
    assert!(
        !env.repo().exists(),
        "a failed open must not create anything"
    );
}

#[test]
fn a_directory_without_a_repository_is_not_initialised() {
    let env = Env::new();
    fs::create_dir_all(env.repo()).expect("mkdir");
    let err = stderr(&env.run(&["snapshots"]));
    assert!(
        err.contains("is not a repository: it has no config file"),
        "{err}"
    );
}

#[test]
fn init_refuses_an_existing_repository() {
    let env = Env::new();
    env.init();
    let err = stderr(&env.run(&["init"]));
    assert!(err.contains("a repository already exists at"), "{err}");
}

#[test]
fn no_password_and_no_terminal_is_a_clear_error() {
    let env = Env::new();
    env.init();
    let out = env
        .umbra()
        .env_remove("UMBRA_PASSWORD_FILE")
        .arg("snapshots")
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("no password given, and no terminal to ask for one"),
        "{err}"
    );
    assert!(err.contains("--password-file"), "{err}");
}

#[test]
fn password_sources_are_tried_in_order() {
    let env = Env::new();
    env.init();
    // (variable, value, expected success, expected text on stderr)
    let cases = [
        ("UMBRA_PASSWORD_COMMAND", "echo 'correct horse'", true, ""),
        ("UMBRA_PASSWORD", "correct horse", true, ""),
        (
            "UMBRA_PASSWORD_COMMAND",
            "exit 7",
            false,
            "the password command `exit 7` failed",
        ),
    ];
    for (var, value, ok, text) in cases {
        let out = env
            .umbra()
            .env_remove("UMBRA_PASSWORD_FILE")
            .env(var, value)
            .arg("snapshots")
            .output()
            .expect("run");
        let err = stderr(&out);
        assert_eq!(out.status.success(), ok, "{var}={value}: {err}");
        assert!(err.contains(text), "{var}={value}: {err}");
    }
}

#[test]
fn a_missing_source_fails_before_anything_is_written() {
    let env = Env::new();
    env.init();
    let before = fs::read_dir(env.repo().join("snapshots"))
        .expect("snapshots dir")
        .count();
    let out = env.run(&["backup", env.path("does-not-exist").to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot back up") && err.contains("does-not-exist"),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(env.repo().join("snapshots"))
            .expect("dir")
            .count(),
        before
    );
    assert_eq!(
        fs::read_dir(env.repo().join("locks"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "lock left behind"
    );
}

/// Unreadable files are reported, the rest is saved, and the exit code is 3. Root reads
/// everything, so as root the backup runs as `nobody` (via setpriv).
#[test]
fn unreadable_files_are_reported_with_exit_code_3() {
    if common::is_root()
        && !common::require(common::have("setpriv"), "setpriv (util-linux) to drop root")
    {
        return;
    }
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("locked-dir")).expect("mkdir");
    fs::write(src.join("readable"), "fine").expect("write");
    fs::write(src.join("locked-file"), "secret").expect("write");
    fs::write(src.join("locked-dir/inside"), "secret").expect("write");
    chmod(&src.join("locked-file"), 0o000);
    chmod(&src.join("locked-dir"), 0o000);
    env.open_up_for_nobody();
    let init = env.umbra_unprivileged().arg("init").output().expect("init");
    assert!(init.status.success(), "{}", stderr(&init));
    let out = env
        .umbra_unprivileged()
        .args(["backup", src.to_str().expect("utf8")])
        .output()
        .expect("backup");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "cannot read {}",
            src.join("locked-file").display()
        )),
        "{err}"
    );
    assert!(err.contains("locked-dir"), "{err}");
    assert!(
        err.contains("could not be read and are missing from snapshot"),
        "{err}"
    );
    chmod(&src.join("locked-dir"), 0o755);
    // The snapshot exists, holds the readable file, and its record lists what is missing.
    let show = env.ok(&["show", "latest"]);
    assert!(
        show.contains("unreadable (missing)") && show.contains("locked-file"),
        "{show}"
    );
    assert!(env.ok(&["ls", "latest"]).contains("readable"));
}

#[test]
fn a_held_exclusive_lock_blocks_a_second_process_until_released() {
    use umbra_repo::lock::LockKind;
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    let holder = env.hold_lock(LockKind::Exclusive);
    let out = env.run(&["backup", src.to_str().expect("utf8")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the repository is locked: it holds an exclusive lock"),
        "{err}"
    );
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(err.contains("umbra unlock"), "{err}");
    // Reading commands are blocked by an exclusive lock too.
    assert!(stderr(&env.run(&["snapshots"])).contains("locked"));
    // `unlock` keeps a live process's lock.
    env.ok(&["unlock"]);
    assert!(stderr(&env.run(&["snapshots"])).contains("locked"));
    drop(holder);
    assert_eq!(
        fs::read_dir(env.repo().join("locks")).expect("dir").count(),
        0,
        "lock not removed on drop"
    );
    env.ok(&["backup", src.to_str().expect("utf8")]);
}

#[test]
fn shared_locks_do_not_block_each_other() {
    use umbra_repo::lock::LockKind;
    let env = Env::new();
    env.init();
    let _reader = env.hold_lock(LockKind::Shared);
    env.ok(&["snapshots"]);
    // ...but an exclusive one waits for it.
    let err = stderr(&env.run(&["prune"]));
    assert!(
        err.contains("the repository is locked: it holds a shared lock"),
        "{err}"
    );
}
