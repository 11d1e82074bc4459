//! The web console's access rules over HTTP (issue #17): every route with and without a
//! token, with the read-only token, with a foreign `Host`, with a cross-origin POST and
//! with traversal paths; plain HTTP beyond loopback, and HTTPS. The actions (run,
//! download, restore, edit) are in `web_actions.rs`, the browser test in
//! `web_browser.rs`.

#[path = "web/client.rs"]
mod client;
mod common;
#[path = "web/console.rs"]
mod console;

use std::fs;

use client::request;
use common::Env;
use console::{console, jobs_with_data, Console};

/// Every route answers 401 without a token, and as documented with one.
#[test]
fn every_route_needs_the_token_and_answers_with_it() {
    let j = jobs_with_data("");
    assert!(j.run(&["run", "docs"]).status.success());
    assert!(j.run(&["check"]).status.success());
    assert!(j.run(&["prune"]).status.success());
    let c = console(&j, &["--read-only-token"]);
    let ro = format!(
        "Bearer {}",
        fs::read_to_string(j.env.path("state/web/read-only-token"))
            .unwrap()
            .trim()
    );
    let snap = c.get("/api/snapshots").json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let src = j.src.display().to_string();
    let routes = [
        "/".to_string(),
        "/jobs/docs".into(),
        "/tasks".into(),
        "/snapshots".into(),
        format!("/snapshots/{snap}"),
        format!("/snapshots/{snap}?path={src}"),
        format!("/snapshots/{snap}/file?path={src}/data"),
        format!("/snapshots/{snap}/archive?path={src}&format=tar"),
        format!("/snapshots/{snap}/archive?path={src}&format=zip"),
        format!("/diff?a={snap}&b={snap}"),
        "/health".into(),
        "/metrics".into(),
        "/api/jobs".into(),
        "/api/tasks".into(),
        "/api/snapshots".into(),
        format!("/api/snapshots/{snap}/ls?path={src}"),
        format!("/api/diff?a={snap}&b={snap}"),
        "/api/health".into(),
    ];
    for r in &routes {
        let anon = request(c.port, "GET", r, &[], b"");
        assert_eq!(anon.status, 401, "{r} without a token: {}", anon.text());
        let wrong = request(c.port, "GET", r, &[("Authorization", "Bearer 00")], b"");
        assert_eq!(wrong.status, 401, "{r} with a wrong token");
        let ok = c.get(r);
        assert_eq!(ok.status, 200, "{r}: {}", ok.text());
        let read_only = request(c.port, "GET", r, &[("Authorization", &ro)], b"");
        assert_eq!(read_only.status, 200, "{r} with the read-only token");
        assert_eq!(ok.header("x-frame-options"), Some("DENY"), "{r}");
        assert!(ok
            .header("content-security-policy")
            .unwrap_or("")
            .contains("frame-ancestors 'none'"));
    }
    for r in [
        "/api/jobs/docs/run",
        "/api/restore",
        "/jobs/docs/run",
        "/jobs/docs/edit",
        &format!("/snapshots/{snap}/restore"),
    ] {
        assert_eq!(request(c.port, "POST", r, &[], b"").status, 401, "POST {r}");
        let (kind, body): (&str, &[u8]) = if r.starts_with("/api/") {
            ("application/json", br#"{"snapshot": "x", "path": "/"}"#)
        } else {
            (
                "application/x-www-form-urlencoded",
                b"path=%2F&open_files_0=off",
            )
        };
        let h = [("Authorization", ro.as_str()), ("Content-Type", kind)];
        let refused = request(c.port, "POST", r, &h, body);
        assert_eq!(
            refused.status,
            403,
            "POST {r} with the read-only token: {}",
            refused.text()
        );
    }
    // Static assets need no token; they hold nothing secret.
    assert_eq!(
        request(c.port, "GET", "/static/console.js", &[], b"").status,
        200
    );
    // The overview shows the job, its source's open-files setting, method and level.
    let page = c.get("/").text();
    assert!(
        page.contains("docs") && page.contains("direct-unchanged"),
        "{page}"
    );
    assert!(page.contains("Run now"));
    // A snapshot's page says when each source's data is from.
    let page = c.get(&format!("/snapshots/{snap}")).text();
    let to_the_ms = page.match_indices(" UTC ").any(|(i, _)| {
        let before = &page.as_bytes()[..i];
        before.len() > 4 && before[before.len() - 4] == b'.'
    });
    assert!(
        page.contains("data from") && page.contains("(reading began)") && to_the_ms,
        "{page}"
    );
    // The API lists the job with its last run.
    let jobs = c.get("/api/jobs").json();
    assert_eq!(jobs[0]["name"], "docs");
    assert_eq!(jobs[0]["runs"][0]["status"], "success");
    assert_eq!(jobs[0]["sources"][0]["open_files"], "auto");
    // The snapshot list with a filter that matches nothing, and one by job.
    assert_eq!(
        c.get("/api/snapshots?host=nowhere")
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        c.get("/api/snapshots?job=docs")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        c.get("/api/snapshots?job=slow")
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The health page has the check just run, from umbra's maintenance log.
    let health = c.get("/api/health").json();
    assert_eq!(health["last_check"]["ok"], true, "{health}");
    assert_eq!(health["last_prune"]["kind"], "prune", "{health}");
    assert!(c.get("/health").text().contains("last check"));
    assert_eq!(health["reachable"], true);
    // /metrics is Prometheus text.
    assert!(c
        .get("/metrics")
        .text()
        .contains("umbra_job_last_success_timestamp_seconds"));
}

/// `--metrics-public` opens /metrics, and only /metrics, to a scraper without a token.
#[test]
fn metrics_public_opens_only_the_metrics() {
    let j = jobs_with_data("");
    let c = console(&j, &["--metrics-public"]);
    let m = request(c.port, "GET", "/metrics", &[], b"");
    assert_eq!(m.status, 200, "{}", m.text());
    assert!(m.text().contains("umbra_job"), "{}", m.text());
    assert_eq!(request(c.port, "GET", "/api/jobs", &[], b"").status, 401);
    assert_eq!(request(c.port, "GET", "/", &[], b"").status, 401);
}

/// The login link gives an HttpOnly, SameSite=Strict cookie; the token file is 0600.
#[test]
fn the_login_link_gives_a_strict_cookie_and_the_token_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let j = jobs_with_data("");
    let out = j
        .umbra()
        .args(["serve", "--print-url", "--listen", "127.0.0.1:9474"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let token = fs::read_to_string(j.env.path("state/web/token")).unwrap();
    assert_eq!(
        url,
        format!("http://127.0.0.1:9474/login?token={}", token.trim())
    );
    assert_eq!(token.trim().len(), 64, "256 bits as hex");
    let mode = fs::metadata(j.env.path("state/web/token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let c = console(&j, &[]);
    let r = request(
        c.port,
        "GET",
        &format!("/login?token={}", c.token),
        &[],
        b"",
    );
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(
        request(c.port, "GET", "/login?token=nope", &[], b"").status,
        401
    );
    let (cookie, _) = c.login();
    assert_eq!(
        request(c.port, "GET", "/api/jobs", &[("Cookie", &cookie)], b"").status,
        200
    );
}

/// The read-only token sees and downloads; it cannot run or restore.
#[test]
fn the_read_only_token_cannot_run_or_restore() {
    let j = jobs_with_data("");
    assert!(j.run(&["run", "docs"]).status.success());
    let c = console(&j, &["--read-only-token"]);
    let ro = fs::read_to_string(j.env.path("state/web/read-only-token")).unwrap();
    let auth = format!("Bearer {}", ro.trim());
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    assert_eq!(
        request(c.port, "GET", "/api/snapshots", &h, b"").status,
        200
    );
    let snap = c.get("/api/snapshots").json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let file = format!("/snapshots/{snap}/file?path={}/data", j.src.display());
    let got = request(c.port, "GET", &file, &h, b"");
    assert_eq!((got.status, got.body.as_slice()), (200, &b"payload"[..]));
    let run = request(c.port, "POST", "/api/jobs/docs/run", &h, b"");
    assert_eq!(run.status, 403, "{}", run.text());
    let body = serde_json::json!({"snapshot": snap, "path": j.src, "target": j.env.path("out")});
    let restore = request(
        c.port,
        "POST",
        "/api/restore",
        &h,
        body.to_string().as_bytes(),
    );
    assert_eq!(restore.status, 403);
    assert!(!j.env.path("out").exists());
    assert!(c.get("/api/tasks").json().as_array().unwrap().is_empty());
    // The pages show no buttons to it.
    let page = request(c.port, "GET", "/", &h, b"").text();
    assert!(!page.contains("Run now"));
}

/// A foreign Host, a cross-origin or token-less POST, and traversal paths are refused.
#[test]
fn foreign_hosts_cross_origin_posts_and_traversal_are_refused() {
    let j = jobs_with_data("");
    assert!(j.run(&["run", "docs"]).status.success());
    let c = console(&j, &[]);
    let auth = format!("Bearer {}", c.token);
    let r = request(
        c.port,
        "GET",
        "/",
        &[("Host", "evil.example:80"), ("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 421, "DNS rebinding: {}", r.text());
    let localhost = format!("localhost:{}", c.port);
    assert_eq!(
        request(
            c.port,
            "GET",
            "/",
            &[("Host", &localhost), ("Authorization", &auth)],
            b""
        )
        .status,
        200
    );
    let (cookie, csrf) = c.login();
    let form = format!("csrf={csrf}");
    let origin = format!("http://127.0.0.1:{}", c.port);
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let cross = request(
        c.port,
        "POST",
        "/jobs/docs/run",
        &[
            ("Cookie", &cookie),
            ("Origin", "http://evil.example"),
            form_type,
        ],
        form.as_bytes(),
    );
    assert_eq!(cross.status, 403, "cross-origin: {}", cross.text());
    let no_origin = request(
        c.port,
        "POST",
        "/jobs/docs/run",
        &[("Cookie", &cookie), form_type],
        form.as_bytes(),
    );
    assert_eq!(no_origin.status, 403, "no Origin");
    let no_csrf = request(
        c.port,
        "POST",
        "/jobs/docs/run",
        &[("Cookie", &cookie), ("Origin", &origin), form_type],
        b"csrf=wrong",
    );
    assert_eq!(no_csrf.status, 403, "wrong CSRF token");
    // The API from a browser session: same origin, but without the page's token.
    let api_no_csrf = request(
        c.port,
        "POST",
        "/api/jobs/docs/run",
        &[("Cookie", &cookie), ("Origin", &origin)],
        b"",
    );
    assert_eq!(api_no_csrf.status, 403, "{}", api_no_csrf.text());
    assert!(
        c.get("/api/tasks").json().as_array().unwrap().is_empty(),
        "nothing ran"
    );
    // A GET never changes anything: the run route only takes POST.
    assert_eq!(c.get("/api/jobs/docs/run").status, 405);
    let snap = c.get("/api/snapshots").json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        "/../../etc/passwd",
        "/tmp/../etc/shadow",
        "/a/./b",
        "..",
        "/x\\..\\y",
    ] {
        let q = bad.replace('\\', "%5C");
        for route in [
            format!("/snapshots/{snap}/file?path={q}"),
            format!("/api/snapshots/{snap}/ls?path={q}"),
            format!("/snapshots/{snap}/archive?path={q}"),
        ] {
            let r = c.get(&route);
            assert_eq!(r.status, 400, "{route}: {}", r.text());
        }
        let body = serde_json::json!({"snapshot": snap, "path": bad, "target": j.env.path("out")});
        assert_eq!(
            c.post_json("/api/restore", &body).status,
            400,
            "restore of {bad}"
        );
    }
    let rel = serde_json::json!({"snapshot": snap, "path": j.src, "target": "relative/dir"});
    assert_eq!(
        c.post_json("/api/restore", &rel).status,
        400,
        "a relative target"
    );
    let up = serde_json::json!({"snapshot": snap, "path": j.src, "target": "/tmp/../etc"});
    assert_eq!(
        c.post_json("/api/restore", &up).status,
        400,
        "a target with .."
    );
    assert!(!j.env.path("out").exists());
}

/// Beyond loopback the console needs TLS or --insecure-http; with a certificate it
/// serves HTTPS.
#[test]
fn beyond_loopback_it_needs_tls_and_serves_https() {
    let env = Env::new();
    let j = env.job_file("[jobs.docs]\nsources = [\"/tmp\"]\n");
    let out = env
        .umbra_with_config(&j)
        .args(["serve", "--listen", "0.0.0.0:9999"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--tls-cert"),
        "{err}"
    );
    if !common::require(
        common::have("openssl") && common::have("curl"),
        "openssl and curl",
    ) {
        return;
    }
    let (cert, key) = (env.path("cert.pem"), env.path("key.pem"));
    common::sh(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout {} -out {} 2>&1",
        key.display(),
        cert.display()
    ));
    let c = Console::start(
        env.umbra_with_config(&j),
        &env.path("state"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    // A client that connects and never says anything holds up nobody else.
    let _silent = std::net::TcpStream::connect(("127.0.0.1", c.port)).unwrap();
    let code = common::sh(&format!(
        "curl -sk --max-time 5 -o /dev/null -w '%{{http_code}}' -H 'Authorization: Bearer {}' https://127.0.0.1:{}/api/jobs",
        c.token, c.port
    ));
    assert_eq!(code.trim(), "200");
    let cookie = common::sh(&format!(
        "curl -sk -D - -o /dev/null 'https://127.0.0.1:{}/login?token={}'",
        c.port, c.token
    ));
    assert!(cookie.contains("Secure"), "{cookie}");
    let bad = env
        .umbra_with_config(&j)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("cannot read the TLS certificate /nonexistent.pem"));
}

/// `umbra daemon --web`: the scheduler and the console in one process.
#[test]
fn the_daemon_serves_the_console_beside_its_schedule() {
    let j = jobs_with_data("[jobs.nightly]\nsources = [\"SRC\"]\nschedule = \"*-*-* 03:00:00\"\n");
    let mut cmd = j.umbra();
    cmd.arg("daemon").arg("--web");
    let c = Console::start_with(cmd, &j.env.path("state"), &[]);
    let jobs = c.get("/api/jobs").json();
    let nightly = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "nightly")
        .expect("the scheduled job")
        .clone();
    assert_eq!(nightly["schedule"], "*-*-* 03:00:00");
    assert!(nightly["next_run"].as_str().is_some(), "{nightly}");
    assert_eq!(request(c.port, "GET", "/api/jobs", &[], b"").status, 401);
}
