//! The web console in a real browser (issue #17): Debian's chromium, driven through
//! chromedriver's WebDriver protocol (plain JSON over HTTP, spoken by the tests' own
//! small client). As a person would: log in through the printed link, see the job and
//! its consistency badge, press Run now and watch it finish, browse the new snapshot,
//! download a file and compare it byte for byte, restore a directory to another path and
//! compare it. Each page is saved as a screenshot in `target/tmp/web-screenshots/`
//! (docs/WEB.md shows them).

#[path = "web/client.rs"]
mod client;
mod common;
#[path = "web/console.rs"]
mod console;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use client::request;
use common::jobs::Jobs;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: Child,
    port: u16,
    session: String,
    shots: PathBuf,
}

impl Browser {
    fn start(profile: &Path, shots: PathBuf) -> Self {
        let port = common::unused_tcp_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !common::listening(port) {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let r = request(
            port,
            "POST",
            "/session",
            &[("Content-Type", "application/json")],
            caps.to_string().as_bytes(),
        );
        let v = r.json();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        fs::create_dir_all(&shots).unwrap();
        Self {
            driver,
            port,
            session,
            shots,
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("/session/{}{path}", self.session);
        let r = request(
            self.port,
            method,
            &url,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        let v = r.json();
        assert!(r.status < 400, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = format!("/session/{}/element", self.session);
            let body = json!({"using": "css selector", "value": css}).to_string();
            let r = request(
                self.port,
                "POST",
                &url,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            );
            let v = r.json();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no element `{css}` ({v}) on the page:\n{}",
                self.source()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), json!({}));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/text"), json!({}))
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    fn source(&self) -> String {
        self.call("GET", "/source", json!({}))
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": [] }),
        )
    }

    fn screenshot(&self, name: &str) {
        let png = self.call("GET", "/screenshot", json!({}));
        let bytes = client::base64_decode(png.as_str().unwrap_or(""));
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        fs::write(self.shots.join(format!("{name}.png")), bytes).unwrap();
    }

    fn wait_text(&self, css: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let t = self.text(css);
            if t.contains(want) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never said `{want}` (it says `{t}`)"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = format!("/session/{}", self.session);
        let _ = std::panic::catch_unwind(|| request(self.port, "DELETE", &url, &[], b""));
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn a_person_logs_in_runs_browses_downloads_and_restores() {
    if !common::require(
        common::have("chromedriver") && Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium and chromium-driver",
    ) {
        return;
    }
    let j = Jobs::new(
        "[jobs.documents]\nsources = [\"SRC\"]\n[jobs.documents.hooks]\nbefore = [\"sleep 1\"]\n",
    );
    fs::create_dir_all(j.src.join("letters")).unwrap();
    let blob = common::Rng(11).bytes(1_500_000);
    fs::write(j.src.join("letters/scan.bin"), &blob).unwrap();
    fs::write(j.src.join("letters/to-alice.txt"), "Dear Alice,\n").unwrap();
    assert!(
        j.run(&["run", "documents"]).status.success(),
        "a first run for the overview"
    );
    let c = console::Console::start(j.umbra(), &j.env.path("state"), &[]);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    let b = Browser::start(&j.env.path("chromium-profile"), shots);

    // Log in through the printed link.
    let url = j
        .umbra()
        .args([
            "serve",
            "--print-url",
            "--listen",
            &format!("127.0.0.1:{}", c.port),
        ])
        .output()
        .unwrap();
    let url = String::from_utf8_lossy(&url.stdout).trim().to_string();
    b.go(&url);
    // The job, its source's method and the last run's consistency badge.
    let job = b.text("#job-documents");
    assert!(
        job.contains("documents") && job.contains("direct-unchanged"),
        "{job}"
    );
    assert!(job.contains("sleep 1"), "its before command: {job}");
    b.screenshot("1-overview");

    // Run now, and watch it finish.
    b.click("#job-documents form button");
    b.find("#progress[data-task]");
    b.wait_text("#state", "success");
    assert!(
        b.text("#log").contains("\"status\""),
        "the live log shows the run's events"
    );
    b.screenshot("2-run-now");

    // Browse the new snapshot.
    b.go(&format!("http://127.0.0.1:{}/snapshots", c.port));
    let rows = b.text("#snapshots");
    assert!(rows.contains("direct-unchanged"), "{rows}");
    b.screenshot("3-snapshots");
    b.click("#snapshots tr:nth-child(2) a");
    b.find("#entries");
    // Walk down to the source's directory, one link at a time.
    let mut depth = 0;
    while !b.text("#entries").contains("letters/") {
        b.click("#entries a.dir");
        depth += 1;
        assert!(depth < 20, "the source's directory was not found");
    }
    b.screenshot("4-browse");
    let link = b.find("#entries a.dir");
    let href = b.call("GET", &format!("/element/{link}/property/href"), json!({}));
    b.go(href.as_str().unwrap());
    let entries = b.text("#entries");
    assert!(
        entries.contains("scan.bin") && entries.contains("to-alice.txt"),
        "{entries}"
    );

    // Download a file as the browser does (its own cookie) and compare it byte for byte.
    let got = b.script(
        "const done = arguments[arguments.length - 1];
         const a = [...document.querySelectorAll('#entries a.file')].find(x => x.textContent === 'scan.bin');
         fetch(a.href).then(r => r.arrayBuffer()).then(buf => {
           let s = ''; const u = new Uint8Array(buf);
           for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode.apply(null, u.subarray(i, i + 8192));
           done(btoa(s));
         }).catch(e => done('error: ' + e));",
    );
    assert_eq!(
        client::base64_decode(got.as_str().unwrap()),
        blob,
        "the downloaded file"
    );
    b.screenshot("5-directory");

    // Restore this directory to another path, and compare it.
    let target = j.env.path("restored-from-browser");
    b.type_into(
        "main > form.restore input[name=target]",
        target.to_str().unwrap(),
    );
    b.click("main > form.restore button");
    b.wait_text("#state", "success");
    b.screenshot("6-restore");
    let restored = common::restored_path(&target, &j.src.join("letters"));
    common::assert_same_tree(&j.src.join("letters"), &restored);
    let history = fs::read_to_string(j.env.path("state/web/audit.jsonl")).unwrap();
    assert!(history.contains("\"kind\":\"restore\""));
    // The repository page.
    b.go(&format!("http://127.0.0.1:{}/health", c.port));
    assert!(b.text("main").contains("snapshots"));
    b.screenshot("7-repository");
}
