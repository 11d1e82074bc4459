//! An existing restic setup works unchanged: restic's environment variables name the
//! repository and the password when umbra's own are not set, and umbra's win when they
//! are. Also the global `--password-command`, `--cache-dir` and `--no-cache`.

mod common;

use std::fs;
use std::process::Command;

use common::Env;

/// `umbra` with none of umbra's own repository or password settings.
fn bare(env: &Env) -> Command {
    let mut c = env.umbra();
    c.env_remove("UMBRA_REPOSITORY")
        .env_remove("UMBRA_PASSWORD_FILE")
        .env_remove("RESTIC_REPOSITORY")
        .env_remove("RESTIC_REPOSITORY_FILE")
        .env_remove("RESTIC_PASSWORD")
        .env_remove("RESTIC_PASSWORD_FILE")
        .env_remove("RESTIC_PASSWORD_COMMAND");
    c
}

fn run(mut c: Command, args: &[&str]) -> (bool, String, String) {
    let out = c.args(args).output().expect("umbra");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn restics_variables_name_the_repository_and_the_password() {
    let (env, _src) = Env::with_one_snapshot();
    let repo = env.repo();
    let password = env.path("password");
    fs::write(env.path("repo-file"), format!("{}\n", repo.display())).expect("write");

    let mut c = bare(&env);
    c.env("RESTIC_REPOSITORY", &repo)
        .env("RESTIC_PASSWORD_FILE", &password);
    let (ok, out, err) = run(c, &["snapshots"]);
    assert!(ok && out.contains("1 snapshot"), "{out}{err}");

    let mut c = bare(&env);
    c.env("RESTIC_REPOSITORY_FILE", env.path("repo-file"))
        .env("RESTIC_PASSWORD", "correct horse");
    let (ok, out, err) = run(c, &["snapshots"]);
    assert!(ok && out.contains("1 snapshot"), "{out}{err}");

    let mut c = bare(&env);
    c.env("RESTIC_REPOSITORY", &repo)
        .env("RESTIC_PASSWORD_COMMAND", "echo 'correct horse'");
    let (ok, out, err) = run(c, &["snapshots"]);
    assert!(ok && out.contains("1 snapshot"), "{out}{err}");

    // umbra's own settings win over restic's: a wrong RESTIC_PASSWORD is not used.
    let mut c = bare(&env);
    c.env("UMBRA_REPOSITORY", &repo)
        .env("UMBRA_PASSWORD", "correct horse")
        .env("RESTIC_REPOSITORY", env.path("elsewhere"))
        .env("RESTIC_PASSWORD", "wrong");
    let (ok, out, err) = run(c, &["snapshots"]);
    assert!(ok && out.contains("1 snapshot"), "{out}{err}");

    // The flag, like the variable.
    let c = bare(&env);
    let (ok, out, err) = run(
        c,
        &[
            "-r",
            repo.to_str().expect("utf8"),
            "--password-command",
            "echo 'correct horse'",
            "snapshots",
        ],
    );
    assert!(ok && out.contains("1 snapshot"), "{out}{err}");
}

#[test]
fn cache_dir_and_no_cache_decide_where_the_cache_goes() {
    let (env, _src) = Env::with_one_snapshot();
    let chosen = env.path("chosen-cache");
    env.ok(&[
        "--cache-dir",
        chosen.to_str().expect("utf8"),
        "ls",
        "latest",
    ]);
    assert!(
        !common::files_under(&chosen).is_empty(),
        "--cache-dir holds the cache"
    );
    let default = env.path("cache");
    let _ = fs::remove_dir_all(&default);
    env.ok(&["--no-cache", "ls", "latest"]);
    assert!(
        !default.exists() || common::files_under(&default).is_empty(),
        "--no-cache writes no cache"
    );
    let out = env.run(&["--no-cache", "--cache-dir", "/tmp/x", "snapshots"]);
    assert_eq!(out.status.code(), Some(2), "the two conflict");
}
