//! A console started for a test: `umbra serve` on a free port, with the test's job file,
//! repository and state; killed when dropped.

#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{request, Resp};

pub struct Console {
    pub child: Child,
    pub port: u16,
    pub token: String,
    pub state: std::path::PathBuf,
}

impl Console {
    /// Starts `umbra serve` from `cmd` (an `umbra -c CONFIG` command of the test) on a
    /// free port, and waits until it answers.
    pub fn start(mut cmd: Command, state: &Path, extra: &[&str]) -> Self {
        cmd.arg("serve");
        Self::start_with(cmd, state, extra)
    }

    /// Like [`Console::start`], for a command that already names its subcommand
    /// (`daemon --web`).
    pub fn start_with(mut cmd: Command, state: &Path, extra: &[&str]) -> Self {
        let port = crate::common::unused_tcp_port();
        let listen = format!("127.0.0.1:{port}");
        let child = cmd
            .args(["--listen", &listen])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start umbra serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !crate::common::listening(port) {
            assert!(
                Instant::now() < deadline,
                "the console did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let token = std::fs::read_to_string(state.join("web/token")).expect("the token file");
        Self {
            child,
            port,
            token: token.trim().to_string(),
            state: state.to_path_buf(),
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        let auth = format!("Bearer {}", self.token);
        request(self.port, "GET", path, &[("Authorization", &auth)], b"")
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Resp {
        let auth = format!("Bearer {}", self.token);
        request(
            self.port,
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    }

    /// Waits for a task to end; returns its final status.
    pub fn wait_task(&self, id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let t = self.get(&format!("/api/tasks/{id}")).json();
            if t["state"] != "running" {
                return t;
            }
            assert!(Instant::now() < deadline, "task {id} did not end: {t}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A browser session: logs in through the token link and returns the cookie and the
    /// page's CSRF token.
    pub fn login(&self) -> (String, String) {
        let r = request(
            self.port,
            "GET",
            &format!("/login?token={}", self.token),
            &[],
            b"",
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        let page = request(self.port, "GET", "/", &[("Cookie", &cookie)], b"").text();
        let csrf = page
            .split("name=\"csrf-token\" content=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a CSRF token in the page")
            .to_string();
        (cookie, csrf)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A job file with two jobs (`docs`, and `slow`, whose `before` sleeps 3 s) over a
/// source with a nested directory, a 700 KB file and a name with glob characters.
pub fn jobs_with_data(extra_job: &str) -> crate::common::jobs::Jobs {
    let j = crate::common::jobs::Jobs::new(&format!(
        "[jobs.docs]\nsources = [\"SRC\"]\n\n[jobs.slow]\nsources = [\"SRC\"]\n[jobs.slow.hooks]\nbefore = [\"sleep 3\"]\n{extra_job}"
    ));
    fs::create_dir_all(j.src.join("sub/deeper")).unwrap();
    fs::write(
        j.src.join("sub/deeper/blob.bin"),
        crate::common::Rng(7).bytes(700_000),
    )
    .unwrap();
    fs::write(j.src.join("sub/note.txt"), "a note\n").unwrap();
    fs::write(j.src.join("odd [name]*.txt"), "glob characters\n").unwrap();
    j
}

pub fn console(j: &crate::common::jobs::Jobs, extra: &[&str]) -> Console {
    Console::start(j.umbra(), &j.env.path("state"), extra)
}
