//! S3 and SFTP repositories (issue #12), against real servers started by each test on
//! 127.0.0.1: moto's S3 server (`moto_server`, from PyPI's `moto[server]`) and OpenSSH's
//! `sshd`, running as an unprivileged user of its own, reached through the system's `ssh`
//! with a config, key and known_hosts file the test writes. For each: the whole round
//! (init, backup, restore, check --read-data, forget --prune), restic 0.14 reading what
//! umbra wrote and umbra reading what restic wrote; the errors (no bucket, refused
//! credentials or login, unknown host or host key, refused connection, no repository),
//! each clear, immediate and before any snapshot; `copy` from a local repository to S3 and
//! on to SFTP; a job that copies off-site; and `mount` of both. Servers that stop
//! answering or die in the middle of a backup: `storage_offsite_outages.rs`.

#[path = "offsite/commands.rs"]
mod commands;
mod common;
#[path = "offsite/servers.rs"]
mod servers;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use commands::{ok, restic_ok, source, umbra};
use common::{assert_same_tree, have, is_root, require, restored_path, Env};
use servers::{text, unused_port, with_store, S3Server, SftpServer, StoreEnv, SFTP_USER};

/// init, two backups, snapshots, restore, check --read-data, forget --prune; then
/// restic 0.14 checks and restores the same repository, and umbra restores one restic
/// wrote beside it.
fn round_trip(env: &Env, store: &StoreEnv, repo: &str, restics: &str) {
    let src = source(env);
    let s = src.to_str().expect("utf8");
    ok(env, store, repo, &["init"]);
    ok(env, store, repo, &["backup", s]);
    fs::write(src.join("small"), "hello again").expect("write");
    ok(env, store, repo, &["backup", s]);
    assert!(ok(env, store, repo, &["snapshots"]).contains("2 snapshot(s)"));
    let target = env.path("restored");
    ok(
        env,
        store,
        repo,
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    );
    assert_same_tree(&src, &restored_path(&target, &src));
    assert!(ok(env, store, repo, &["check", "--read-data"]).contains("no errors"));
    ok(env, store, repo, &["forget", "--keep-last", "1", "--prune"]);
    assert!(ok(env, store, repo, &["snapshots"]).contains("1 snapshot(s)"));
    assert!(ok(env, store, repo, &["check", "--read-data"]).contains("no errors"));

    if !require(have("restic"), "restic 0.14") {
        return;
    }
    restic_ok(env, store, repo, &["check", "--read-data"]);
    let theirs = env.path("restic-restored");
    restic_ok(
        env,
        store,
        repo,
        &[
            "restore",
            "latest",
            "--target",
            theirs.to_str().expect("utf8"),
        ],
    );
    assert_same_tree(&src, &restored_path(&theirs, &src));

    restic_ok(env, store, restics, &["init"]);
    restic_ok(env, store, restics, &["backup", s]);
    let mine = env.path("umbra-restored");
    ok(
        env,
        store,
        restics,
        &[
            "restore",
            "latest",
            "--target",
            mine.to_str().expect("utf8"),
        ],
    );
    assert_same_tree(&src, &restored_path(&mine, &src));
    assert!(ok(env, store, restics, &["check", "--read-data"]).contains("no errors"));
}

#[test]
fn an_s3_repository_round_trip_that_restic_reads_too() {
    let Some(server) = S3Server::start(false) else {
        return;
    };
    let env = Env::new();
    round_trip(
        &env,
        &server.env(),
        &server.url("umbra-bucket", "umbra/repo"),
        &server.url("umbra-bucket", "restic-repo"),
    );
}

#[test]
fn an_sftp_repository_round_trip_that_restic_reads_too() {
    let Some(server) = SftpServer::start() else {
        return;
    };
    let env = Env::new();
    round_trip(
        &env,
        &server.env(),
        &server.url("repo"),
        &server.url("restic-repo"),
    );
    // umbra's ssh masters do not outlive it by more than their 2 s of idling (restic's
    // ssh is its child and ends with it).
    let config = server.dir.path().join("ssh_config");
    let started = Instant::now();
    while !common::sh(&format!("pgrep -f '[s]sh -F {}' || true", config.display()))
        .trim()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "ssh masters left running: {}",
            common::sh("pgrep -af 'ssh -F' || true")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `backup` against a location that cannot work: it fails within 15 s, says
/// `says`, shows no secret, and took no snapshot.
fn fails_clearly(env: &Env, store: &StoreEnv, repo: &str, says: &str, secret: &str) {
    let src = source(env);
    let started = Instant::now();
    let out = umbra(env, store, repo, &["backup", src.to_str().expect("utf8")]);
    let took = started.elapsed();
    let said = text(&out);
    assert!(!out.status.success(), "{repo}: {said}");
    assert!(said.contains(says), "{repo}: expected `{says}`: {said}");
    assert!(!said.contains(secret), "{repo} shows a secret: {said}");
    assert!(took < Duration::from_secs(15), "{repo}: {took:?}");
    assert!(
        !said.contains("snapshot ") || !said.contains("saved"),
        "{said}"
    );
}

#[test]
fn s3_errors_are_clear_immediate_and_secret_free() {
    let Some(server) = S3Server::start(true) else {
        return;
    };
    let env = Env::new();
    let good = server.env();
    let secret = server.keys.1.clone();
    let wrong: StoreEnv = vec![
        ("AWS_ACCESS_KEY_ID".into(), server.keys.0.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), "not-the-secret".into()),
    ];
    let repo = server.url("umbra-bucket", "repo");
    fails_clearly(
        &env,
        &wrong,
        &repo,
        "refused the credentials",
        "not-the-secret",
    );
    let unknown: StoreEnv = vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIAUNKNOWN".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "whatever".into()),
    ];
    fails_clearly(&env, &unknown, &repo, "refused the credentials", "whatever");
    let none: StoreEnv = vec![
        ("AWS_ACCESS_KEY_ID".into(), String::new()),
        ("AWS_SECRET_ACCESS_KEY".into(), String::new()),
        ("AWS_PROFILE".into(), "umbra-test-no-such-profile".into()),
        ("AWS_CONFIG_FILE".into(), "/nonexistent".into()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), "/nonexistent".into()),
    ];
    fails_clearly(&env, &none, &repo, "no S3 credentials", "\u{0}");
    // moto with its access control answers 403 for a bucket that does not exist (as AWS
    // does for a bucket of someone else's); without it, 404, as AWS for a missing one.
    let Some(open) = S3Server::start(false) else {
        return;
    };
    fails_clearly(
        &env,
        &open.env(),
        &open.url("no-such-bucket", "repo"),
        "bucket of s3:http://127.0.0.1",
        &secret,
    );
    fails_clearly(
        &env,
        &good,
        &format!("s3:http://127.0.0.1:{}/umbra-bucket/repo", unused_port()),
        "refused the connection",
        &secret,
    );
    fails_clearly(
        &env,
        &good,
        "s3:http://no-such-host.invalid:9000/umbra-bucket/repo",
        "does not resolve",
        &secret,
    );
    fails_clearly(
        &env,
        &open.env(),
        &open.url("umbra-bucket", "repo"),
        "there is no repository",
        &secret,
    );
    // Options are checked by name, and belong to their backend.
    let out = umbra(&env, &good, &repo, &["-o", "rest.timeout=1s", "snapshots"]);
    assert!(
        text(&out).contains("is for `rest:` repositories"),
        "{}",
        text(&out)
    );
}

#[test]
fn sftp_errors_are_clear_immediate_and_leave_nothing_behind() {
    let Some(server) = SftpServer::start() else {
        return;
    };
    let env = Env::new();
    let store = server.env();
    let srv = server.dir.path().join("srv");
    let at = |user: &str, host: &str, port: u16, name: &str| {
        format!("sftp://{user}@{host}:{port}/{}", srv.join(name).display())
    };
    fails_clearly(
        &env,
        &store,
        &at(SFTP_USER, "127.0.0.1", unused_port(), "repo"),
        "refused the connection",
        "\u{0}",
    );
    fails_clearly(
        &env,
        &store,
        &format!("sftp:{SFTP_USER}@no-such-host.invalid:/srv/repo"),
        "does not resolve",
        "\u{0}",
    );
    fails_clearly(
        &env,
        &store,
        &at("nobody", "127.0.0.1", server.port, "repo"),
        "refused the login",
        "\u{0}",
    );
    // `localhost` is not in known_hosts (only [127.0.0.1]:PORT is).
    fails_clearly(
        &env,
        &store,
        &at(SFTP_USER, "localhost", server.port, "repo"),
        "host key",
        "\u{0}",
    );
    fails_clearly(
        &env,
        &store,
        &server.url("typo"),
        "there is no repository",
        "\u{0}",
    );
    // Asking did not create the mistyped directory.
    assert!(!srv.join("typo").exists());
    let out = umbra(&env, &store, "sftp:host:relative/path", &["snapshots"]);
    assert!(text(&out).contains("must start with `/`"), "{}", text(&out));
}

/// `copy` from a local repository to S3, and from S3 on to SFTP, each with its own
/// password; restic 0.14 reads the last copy.
#[test]
fn copy_goes_from_local_to_s3_to_sftp() {
    let (Some(s3), Some(sftp)) = (S3Server::start(false), SftpServer::start()) else {
        return;
    };
    let env = Env::new();
    let src = source(&env);
    let local = env.repo();
    let none: StoreEnv = Vec::new();
    let local_s = local.to_str().expect("utf8");
    ok(&env, &none, local_s, &["init"]);
    ok(
        &env,
        &none,
        local_s,
        &["backup", src.to_str().expect("utf8")],
    );
    let mut both = s3.env();
    both.extend(sftp.env());
    let s3_repo = s3.url("umbra-bucket", "copy");
    let sftp_repo = sftp.url("copy");
    for (from, to) in [
        (local_s.to_string(), s3_repo.clone()),
        (s3_repo, sftp_repo.clone()),
    ] {
        ok(&env, &both, &to, &["init"]);
        let password = env.path("password");
        let password = password.to_str().expect("utf8");
        let copy = [
            "copy",
            "--from-repo",
            &from,
            "--from-password-file",
            password,
        ];
        let said = ok(&env, &both, &to, &copy);
        assert!(said.contains('1'), "{said}");
        // Copying again copies nothing.
        assert!(ok(&env, &both, &to, &copy).contains("copied 0 snapshot(s)"));
        assert!(ok(&env, &both, &to, &["snapshots"]).contains("1 snapshot(s)"));
    }
    let target = env.path("restored");
    ok(
        &env,
        &both,
        &sftp_repo,
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    );
    assert_same_tree(&src, &restored_path(&target, &src));
    if require(have("restic"), "restic 0.14") {
        restic_ok(&env, &both, &sftp_repo, &["check", "--read-data"]);
        let theirs = env.path("restic-restored");
        restic_ok(
            &env,
            &both,
            &sftp_repo,
            &[
                "restore",
                "latest",
                "--target",
                theirs.to_str().expect("utf8"),
            ],
        );
        assert_same_tree(&src, &restored_path(&theirs, &src));
    }
}

/// A job with `copy_to`: the 3-2-1 rule in one job. Each run's snapshot goes into the
/// job's repository and then into `[repositories.offsite]` on S3 (with its own password),
/// where restic reads it. An off-site store that cannot be reached fails the run and
/// runs on_failure, but the local snapshot of that run is kept.
#[test]
fn a_job_copies_its_snapshot_off_site_and_a_failed_copy_fails_the_job_only() {
    let Some(s3) = S3Server::start(false) else {
        return;
    };
    let env = Env::new();
    let src = source(&env);
    let store = s3.env();
    let none: StoreEnv = Vec::new();
    let local = env.repo();
    ok(&env, &none, local.to_str().expect("utf8"), &["init"]);
    let offsite = s3.url("umbra-bucket", "offsite");
    let offsite_password = env.path("offsite-password");
    fs::write(&offsite_password, "another password\n").expect("password");
    fs::set_permissions(&offsite_password, fs::Permissions::from_mode(0o600)).expect("chmod");
    let marker = env.path("on-failure-ran");
    let hook_env = env.path("hook-env");
    let write_config = |offsite: &str| {
        env.job_file(&format!(
            "[repositories.offsite]\npath = \"{offsite}\"\npassword_file = \"{}\"\noptions = {{ \"s3.retry\" = \"1\", \"s3.timeout\" = \"5s\" }}\n\n\
             [jobs.app]\nsources = [\"{}\"]\ncopy_to = [\"offsite\"]\n\n[jobs.app.hooks]\non_failure = [\"touch {}\"]\nafter = [\"env > {}\"]\n",
            offsite_password.display(),
            src.display(),
            marker.display(),
            hook_env.display()
        ))
    };
    let config = write_config(&offsite);
    let init = with_store(&mut env.umbra(), &store)
        .args(["-r", &offsite, "--password-file"])
        .arg(&offsite_password)
        .arg("init")
        .output()
        .expect("umbra");
    assert!(init.status.success(), "{}", text(&init));
    let run = |config: &Path| {
        with_store(&mut env.umbra_with_config(config), &store)
            .args(["run", "app"])
            .output()
            .expect("umbra run")
    };
    let out = run(&config);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!marker.exists());
    // The hooks saw the repository, never the store's credentials.
    let seen = fs::read_to_string(&hook_env).expect("the after hook ran");
    assert!(seen.contains("UMBRA_REPOSITORY="), "{seen}");
    assert!(
        !seen.contains(&s3.keys.1) && !seen.contains("AWS_ACCESS_KEY_ID"),
        "{seen}"
    );
    let copied = with_store(&mut env.umbra(), &store)
        .args(["-r", &offsite, "--password-file"])
        .arg(&offsite_password)
        .arg("snapshots")
        .output()
        .expect("umbra");
    assert!(text(&copied).contains("1 snapshot(s)"), "{}", text(&copied));
    if require(have("restic"), "restic 0.14") {
        let theirs = env.path("restic-restored");
        let out = with_store(&mut Command::new("restic"), &store)
            .args(["-r", &offsite, "--no-cache", "--password-file"])
            .arg(&offsite_password)
            .args(["restore", "latest", "--target"])
            .arg(&theirs)
            .output()
            .expect("restic");
        assert!(out.status.success(), "{}", text(&out));
        assert_same_tree(&src, &restored_path(&theirs, &src));
    }
    // The off-site store goes away: the run fails at `copy`, on_failure runs, and the
    // local repository has the run's snapshot all the same.
    let config = write_config(&format!(
        "s3:http://127.0.0.1:{}/umbra-bucket/offsite",
        unused_port()
    ));
    let out = run(&config);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("copy"), "{said}");
    eprintln!("the failed copy said: {said}");
    assert!(marker.exists(), "on_failure did not run: {said}");
    let local_list = ok(&env, &none, local.to_str().expect("utf8"), &["snapshots"]);
    assert!(local_list.contains("2 snapshot(s)"), "{local_list}");
    // A copy_to naming no repository is a config error with its line.
    let bad = env.job_file(&format!(
        "[jobs.app]\nsources = [\"{}\"]\ncopy_to = [\"nowhere\"]\n",
        src.display()
    ));
    let out = env
        .umbra_with_config(&bad)
        .args(["config", "check"])
        .output()
        .expect("umbra");
    assert!(
        text(&out).contains("umbra.toml:7: jobs.app.copy_to[0]")
            && text(&out).contains("`nowhere` names no repository"),
        "{}",
        text(&out)
    );
}

/// `umbra mount` works on every backend: an S3 and an SFTP repository, mounted with the
/// real FUSE, show the snapshot's files byte-identical with their metadata, and SIGINT
/// unmounts.
#[test]
fn mount_shows_s3_and_sftp_repositories() {
    if !require(
        Path::new("/dev/fuse").exists() && is_root(),
        "/dev/fuse and root (to mount)",
    ) {
        return;
    }
    let (Some(s3), Some(sftp)) = (S3Server::start(false), SftpServer::start()) else {
        return;
    };
    let env = Env::new();
    let src = source(&env);
    for (store, repo) in [
        (s3.env(), s3.url("umbra-bucket", "mounted")),
        (sftp.env(), sftp.url("mounted")),
    ] {
        ok(&env, &store, &repo, &["init"]);
        ok(
            &env,
            &store,
            &repo,
            &["backup", src.to_str().expect("utf8")],
        );
        let mnt = env.path("mnt");
        fs::create_dir_all(&mnt).expect("mkdir");
        let mut child = with_store(&mut env.umbra(), &store)
            .args(["-r", &repo, "mount"])
            .arg(&mnt)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("umbra mount");
        let latest = mnt.join("snapshots/latest");
        let started = Instant::now();
        while !latest.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{repo}: not mounted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_same_tree(&src, &restored_path(&latest, &src));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(130), "{repo}");
        assert!(
            common::mounts_below(&env.path("")).is_empty(),
            "{repo}: left mounted"
        );
    }
}
