//! Off-site stores that fail in the middle of a backup (issue #12), against the real servers
//! of `storage_offsite.rs` (moto's S3 server and OpenSSH's `sshd` on 127.0.0.1): an S3
//! server that stops answering and an SFTP server that dies fail the backup in bounded time,
//! with a message that names the server, and leave a repository the next backup completes.

#[path = "offsite/commands.rs"]
mod commands;
mod common;
#[path = "offsite/servers.rs"]
mod servers;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use commands::{ok, read_progress, umbra};
use common::{assert_same_tree, restored_path, Env, Rng};
use servers::{text, with_store, S3Server, SftpServer};

/// An S3 server that stops answering (SIGSTOP) mid-backup, and an SFTP server killed with
/// its sessions mid-backup: the backup fails within bounded time, naming the server and
/// what happened; the next backup completes and `check --read-data` is clean.
#[test]
fn servers_that_stop_answering_or_die_mid_backup_fail_the_backup_in_bounded_time() {
    let (Some(s3), Some(mut sftp)) = (S3Server::start(false), SftpServer::start()) else {
        return;
    };
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let s3_repo = s3.url("umbra-bucket", "faults");
    let sftp_repo = sftp.url("faults");
    for (store, repo, quick, says) in [
        (
            s3.env(),
            s3_repo,
            ["-o", "s3.timeout=2s", "-o", "s3.retry=2"],
            "the S3 server of s3:http://127.0.0.1",
        ),
        (
            sftp.env(),
            sftp_repo,
            ["-o", "sftp.timeout=5s", "-o", "sftp.retry=2"],
            "the SFTP server of sftp:sftp-test:",
        ),
    ] {
        ok(&env, &store, &repo, &["init"]);
        fs::write(src.join("big"), Rng(says.len() as u64).bytes(300_000_000)).expect("write");
        // The S3 server is stopped once the backup has read 64 MiB (its `--json` progress,
        // once a second), so that some packs are stored whatever the machine's load: a
        // fixed delay stopped it before the first pack on a busy machine.
        let mut child = with_store(&mut env.umbra(), &store)
            .args(quick)
            .args([
                "-r",
                &repo,
                "--json",
                "backup",
                "--priority",
                "normal",
                src.to_str().expect("utf8"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("umbra");
        let (progress, stdout) = read_progress(child.stdout.take().expect("stdout"));
        let s3_case = repo.starts_with("s3:");
        if s3_case {
            let read = progress
                .iter()
                .find(|&done| done >= 64 << 20)
                .expect("the backup ended before it read 64 MiB");
            eprintln!("stopping the S3 server after {read} bytes were read");
            s3.signal(libc::SIGSTOP);
        } else {
            // As soon as the backup's lock is on the server, before the data is.
            let locks = sftp.dir.path().join("srv/faults/locks");
            let started = Instant::now();
            while fs::read_dir(&locks).map_or(0, Iterator::count) == 0 {
                assert!(started.elapsed() < Duration::from_secs(20), "no lock");
                std::thread::sleep(Duration::from_millis(10));
            }
            sftp.kill();
        }
        let stopped = Instant::now();
        let out = child.wait_with_output().expect("wait");
        let took = stopped.elapsed();
        let err = String::from_utf8_lossy(&out.stderr).into_owned()
            + &stdout.join().expect("stdout reader");
        assert!(!out.status.success(), "the backup succeeded: {err}");
        assert!(err.contains(says), "{err}");
        assert!(
            !s3_case || err.contains("did not answer in time, also after retrying"),
            "{err}"
        );
        assert!(took < Duration::from_secs(120), "{took:?}");
        eprintln!("measured: {repo}: the backup failed {took:?} after the server went");
        if s3_case {
            s3.signal(libc::SIGCONT);
        } else {
            sftp.restart();
        }
        ok(&env, &store, &repo, &["unlock"]);
        let next = umbra(
            &env,
            &store,
            &repo,
            &["backup", src.to_str().expect("utf8")],
        );
        let said = text(&next);
        assert!(next.status.success(), "{said}");
        eprintln!("measured: {repo}: the next backup said: {said}");
        // What the failed backup stored is indexed and reused, not uploaded again.
        if s3_case {
            assert!(
                said.contains("indexed") && said.contains("reuses their data"),
                "{said}"
            );
            let added = said
                .split("added ")
                .nth(1)
                .and_then(|r| r.split(" MiB").next())
                .and_then(|n| n.parse::<f64>().ok());
            assert!(added.is_some_and(|mib| mib < 280.0), "{said}");
        }
        assert!(ok(&env, &store, &repo, &["check", "--read-data"]).contains("no errors"));
        let target = env.path(&format!("restored-{}", s3_case));
        ok(
            &env,
            &store,
            &repo,
            &[
                "restore",
                "latest",
                "--target",
                target.to_str().expect("utf8"),
            ],
        );
        assert_same_tree(&src, &restored_path(&target, &src));
    }
}
