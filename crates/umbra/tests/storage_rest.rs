//! REST repositories (issue #12), against a real server: `rclone serve restic`, started by
//! each test on 127.0.0.1. The whole round (init, backup, restore, check, forget --prune),
//! restic 0.14 reading what umbra wrote there and umbra reading what restic wrote; and the
//! errors a remote store brings (refused connection, unknown host, refused credentials, no
//! repository), each clear and immediate, with the password never shown.

#[path = "offsite/commands.rs"]
mod commands;
mod common;
#[path = "offsite/servers.rs"]
mod servers;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use commands::source;
use common::{assert_same_tree, have, require, restored_path, Env, Rng};
use servers::unused_port;

/// `rclone serve restic` on a free port of 127.0.0.1, stopped on drop.
struct RestServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RestServer {
    fn start(dir: &Path, credentials: Option<(&str, &str)>) -> Option<Self> {
        if !require(have("rclone"), "rclone (Debian's rclone; see .ci/run)") {
            return None;
        }
        // A port found free can be taken by another test's server before rclone binds it
        // (rclone then exits, and the port answers for the other server a while): a
        // server of ours that is gone a moment after its port answered is started again
        // on another port.
        for _ in 0..5 {
            let mut server = Self::serve(dir, unused_port(), credentials);
            std::thread::sleep(std::time::Duration::from_millis(200));
            if matches!(server.child.try_wait(), Ok(None)) {
                return Some(server);
            }
        }
        panic!("rclone serve restic exited right after it started, five times");
    }

    /// Kills the server and starts it again on the same port and directory.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Self::serve(&self.dir.clone(), self.port, None);
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    fn serve(dir: &Path, port: u16, credentials: Option<(&str, &str)>) -> Self {
        fs::create_dir_all(dir).expect("mkdir");
        let mut cmd = Command::new("rclone");
        cmd.args(["serve", "restic", "--addr", &format!("127.0.0.1:{port}")]);
        if let Some((user, pass)) = credentials {
            cmd.args(["--user", user, "--pass", pass]);
        }
        let child = cmd
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rclone");
        servers::wait_for_port(port, "rclone");
        Self {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn url(&self, auth: &str, path: &str) -> String {
        format!("rest:http://{auth}127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn umbra(env: &Env, repo: &str, args: &[&str]) -> Output {
    env.umbra()
        .arg("-r")
        .arg(repo)
        .args(args)
        .output()
        .expect("umbra")
}

fn ok(env: &Env, repo: &str, args: &[&str]) -> String {
    let out = umbra(env, repo, args);
    assert!(
        out.status.success(),
        "umbra {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn restic(env: &Env, repo: &str, args: &[&str]) -> Output {
    common::restic_at(env, Path::new(repo), args)
}

/// `umbra restore latest` from `repo` into the environment's `dir` gives back `src`.
fn restores_whole(env: &Env, repo: &str, src: &Path, dir: &str) {
    let target = env.path(dir);
    ok(
        env,
        repo,
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    );
    assert_same_tree(src, &restored_path(&target, src));
}

/// The lock files restic 0.14 lists in `repo`.
fn restic_locks(env: &Env, repo: &str) -> usize {
    let out = restic(env, repo, &["list", "locks", "--no-lock"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn a_rest_repository_round_trip_that_restic_reads_too() {
    let env = Env::new();
    let Some(server) = RestServer::start(&env.path("server"), None) else {
        return;
    };
    let repo = server.url("", "umbra-repo");
    let src = source(&env);
    ok(&env, &repo, &["init"]);
    ok(&env, &repo, &["backup", src.to_str().expect("utf8")]);
    fs::write(src.join("small"), "hello again").expect("write");
    ok(&env, &repo, &["backup", src.to_str().expect("utf8")]);
    let list = ok(&env, &repo, &["snapshots"]);
    assert!(list.contains("2 snapshot(s)"), "{list}");
    restores_whole(&env, &repo, &src, "restored");
    let check = ok(&env, &repo, &["check", "--read-data"]);
    assert!(check.contains("no errors"), "{check}");
    ok(&env, &repo, &["forget", "--keep-last", "1", "--prune"]);
    assert!(ok(&env, &repo, &["snapshots"]).contains("1 snapshot(s)"));

    // restic 0.14 on the same server and repository.
    if !require(have("restic"), "restic 0.14") {
        return;
    }
    let out = restic(&env, &repo, &["check", "--read-data"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = env.path("restic-restored");
    let out = restic(
        &env,
        &repo,
        &[
            "restore",
            "latest",
            "--target",
            theirs.to_str().expect("utf8"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_tree(&src, &restored_path(&theirs, &src));

    // And umbra reading a repository restic wrote there.
    let restics = server.url("", "restic-repo");
    let out = restic(&env, &restics, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = restic(&env, &restics, &["backup", src.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    restores_whole(&env, &restics, &src, "umbra-restored");
    assert!(ok(&env, &restics, &["check", "--read-data"]).contains("no errors"));
}

#[test]
fn rest_errors_are_clear_and_immediate_and_the_password_never_shows() {
    let env = Env::new();
    let Some(server) = RestServer::start(&env.path("server"), Some(("alice", "s3cret-pass")))
    else {
        return;
    };
    let src = source(&env);
    let good = server.url("alice:s3cret-pass@", "repo");
    let shown = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    // The right credentials: everything works, and nothing printed holds the password.
    for args in [
        vec!["init"],
        vec!["backup", src.to_str().expect("utf8")],
        vec!["--json", "backup", src.to_str().expect("utf8")],
        vec!["snapshots"],
        vec!["-v", "check"],
    ] {
        let out = umbra(&env, &good, &args);
        let text = shown(&out);
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(
            !text.contains("s3cret"),
            "{args:?} shows the password: {text}"
        );
    }
    let said = ok(&env, &good, &["backup", src.to_str().expect("utf8")]);
    assert!(
        said.contains("saved to rest:http://alice:***@127.0.0.1"),
        "{said}"
    );
    let cases = [
        (
            server.url("alice:wrong@", "repo"),
            "refused the credentials",
        ),
        (
            format!("rest:http://127.0.0.1:{}/repo", unused_port()),
            "refused the connection",
        ),
        (
            "rest:http://no-such-host.invalid:8000/repo".to_string(),
            "does not resolve",
        ),
        (
            server.url("alice:s3cret-pass@", "no-repo-here"),
            "there is no repository",
        ),
    ];
    for (repo, says) in cases {
        let started = Instant::now();
        let out = umbra(&env, &repo, &["backup", src.to_str().expect("utf8")]);
        let text = shown(&out);
        assert!(!out.status.success(), "{repo}: {text}");
        assert!(text.contains(says), "{repo}: {text}");
        assert!(
            !text.contains("s3cret") && !text.contains("wrong"),
            "{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{repo}: {:?}",
            started.elapsed()
        );
    }
    // Options: restic's `-o`, and the job file's `[repository] options`, checked by name.
    let out = umbra(&env, &good, &["-o", "rest.nope=1", "snapshots"]);
    assert!(
        shown(&out).contains("`rest.nope` is not a repository option"),
        "{}",
        shown(&out)
    );
    let config = env.path("umbra.toml");
    fs::write(
        &config,
        format!(
            "[repository]\npath = \"{good}\"\npassword_file = \"{}\"\noptions = {{ \"rest.timeout\" = \"20s\", \"rest.retries\" = \"2\" }}\n",
            env.path("password").display()
        ),
    )
    .expect("config");
    let out = env
        .umbra_with_config(&config)
        .arg("snapshots")
        .output()
        .expect("umbra");
    let text = shown(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("umbra.toml:4: repository.options.rest.retries")
            && text.contains("not a repository option"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    // None of them took a snapshot.
    assert!(ok(&env, &good, &["snapshots"]).contains("3 snapshot(s)"));
}

/// `rclone:REMOTE:PATH`: umbra starts rclone's REST server itself, as restic does; a local
/// path is an rclone remote too. Round trip, and restic reading the result.
#[test]
fn an_rclone_repository_round_trip() {
    if !require(have("rclone"), "rclone (Debian's rclone; see .ci/run)") {
        return;
    }
    let env = Env::new();
    let repo = format!("rclone:{}", env.path("rclone-store").display());
    let src = source(&env);
    ok(&env, &repo, &["init"]);
    ok(&env, &repo, &["backup", src.to_str().expect("utf8")]);
    restores_whole(&env, &repo, &src, "restored");
    assert!(ok(&env, &repo, &["check", "--read-data"]).contains("no errors"));
    if require(have("restic"), "restic 0.14") {
        let out = restic(&env, &repo, &["check", "--read-data"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A server that goes away in the middle of a backup: stopped (SIGSTOP), the backup ends
/// on its timeouts instead of hanging; killed, it ends saying the server cannot be
/// reached. Either way the next backup completes and `check --read-data` is clean.
#[test]
fn a_server_that_stops_answering_or_dies_mid_backup_fails_the_backup_in_bounded_time() {
    let env = Env::new();
    let Some(mut server) = RestServer::start(&env.path("server"), None) else {
        return;
    };
    let repo = server.url("", "repo");
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    ok(&env, &repo, &["init"]);
    let quick = ["-o", "rest.timeout=2s", "-o", "rest.retry=2"];
    for (signal, says) in [
        (libc::SIGSTOP, "did not answer in time"),
        (libc::SIGKILL, "cannot be reached|dropped the connection"),
    ] {
        // New data each round, so that there is something to upload when the server goes.
        fs::write(
            src.join("big"),
            Rng(u64::try_from(signal).unwrap_or(7)).bytes(150_000_000),
        )
        .expect("write");
        let child = env
            .umbra()
            .args(quick)
            .args(["-r", &repo, "backup", src.to_str().expect("utf8")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("umbra");
        // The backup's lock, written through the backend, is one restic sees.
        if have("restic") {
            let started = Instant::now();
            while restic_locks(&env, &repo) == 0 {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "restic sees no lock"
                );
            }
        } else {
            std::thread::sleep(Duration::from_millis(700));
        }
        server.signal(signal);
        let stopped = Instant::now();
        let out = child.wait_with_output().expect("wait");
        let took = stopped.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(says.split('|').any(|s| err.contains(s)), "{err}");
        assert!(took < Duration::from_secs(120), "{took:?}");
        eprintln!("measured: the backup failed {took:?} after the server got signal {signal}");
        if signal == libc::SIGSTOP {
            server.signal(libc::SIGCONT);
        } else {
            server.restart();
        }
        // Whatever of the failed backup's lock is left on the server, `unlock` removes.
        ok(&env, &repo, &["unlock"]);
        if have("restic") {
            assert_eq!(restic_locks(&env, &repo), 0, "unlock removed the lock");
        }
        ok(&env, &repo, &["backup", src.to_str().expect("utf8")]);
        assert!(ok(&env, &repo, &["check", "--read-data"]).contains("no errors"));
    }
}
