//! `umbra backup DIR` with no setup: the default repository and its password are created
//! on first use, and used from then on.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::Env;

/// Runs umbra with no repository or password settings, as an ordinary user whose home
/// is the test directory (as `nobody` when the tests run as root).
fn umbra_as_user(env: &Env, args: &[&str]) -> std::process::Output {
    env.umbra_unprivileged()
        .env_remove("UMBRA_REPOSITORY")
        .env_remove("UMBRA_PASSWORD_FILE")
        .env_remove("UMBRA_CACHE_DIR")
        .env_remove("UMBRA_STATE_DIR")
        .args(args)
        .output()
        .expect("run umbra")
}

#[test]
fn first_backup_creates_the_default_repository_and_password() {
    if common::is_root() && !common::require(common::have("setpriv"), "setpriv (util-linux)") {
        return;
    }
    let env = Env::new();
    fs::create_dir_all(env.path("home")).expect("mkdir");
    fs::create_dir_all(env.path("src")).expect("mkdir");
    fs::write(env.path("src/file"), "data").expect("write");
    if common::is_root() {
        for p in ["", "home", "src", "src/file"] {
            common::chmod(&env.path(p), if p == "src/file" { 0o644 } else { 0o777 });
        }
    }
    let src = env.path("src");
    let out = umbra_as_user(&env, &["backup", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{err}");
    let repo = env.path("home/.local/share/umbra/repo");
    let pw = env.path("home/.config/umbra/repo.password");
    assert!(
        err.contains(&format!(
            "created the default repository at {}",
            repo.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("its password is in {}", pw.display())),
        "{err}"
    );
    assert!(
        stdout.contains("snapshot") && stdout.contains("saved"),
        "{stdout}"
    );
    assert!(repo.join("config").is_file());
    assert_eq!(
        fs::metadata(&pw)
            .expect("password file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // The second run uses what the first created, and says nothing about creating.
    let out = umbra_as_user(&env, &["backup", src.to_str().expect("utf8")]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("created"));
    let list = umbra_as_user(&env, &["snapshots"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("2 snapshot(s)"));
}

#[test]
fn other_commands_do_not_create_the_default_repository() {
    if common::is_root() && !common::require(common::have("setpriv"), "setpriv (util-linux)") {
        return;
    }
    let env = Env::new();
    fs::create_dir_all(env.path("home")).expect("mkdir");
    if common::is_root() {
        common::chmod(env.dir.path(), 0o777);
        common::chmod(&env.path("home"), 0o777);
    }
    let out = umbra_as_user(&env, &["snapshots"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("does not exist yet") && err.contains("umbra backup DIR"),
        "{err}"
    );
    assert!(!env.path("home/.local/share/umbra/repo").exists());
}
