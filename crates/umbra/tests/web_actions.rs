//! The web console's actions over HTTP (issue #17): Run now, downloads and restores
//! compared byte for byte, a locked and an unreachable repository, and editing a job.
//! Access checks are in `web.rs`, the browser in `web_browser.rs`.

#[path = "web/client.rs"]
mod client;
mod common;
#[path = "web/console.rs"]
mod console;

use std::fs;

use client::request;
use console::{console, jobs_with_data};

/// Run now: the run is live, recorded "from the console", and not started twice.
#[test]
fn run_now_runs_once_and_is_recorded_from_the_console() {
    let j = jobs_with_data("");
    let c = console(&j, &[]);
    let started = c.post_json("/api/jobs/slow/run", &serde_json::json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["id"].as_str().unwrap().to_string();
    let again = c.post_json("/api/jobs/slow/run", &serde_json::json!({}));
    assert_eq!(
        again.status,
        409,
        "a running job is not started twice: {}",
        again.text()
    );
    let page = c.get("/").text();
    assert!(page.contains(">running<"), "the overview shows it running");
    // The event stream replays the output and ends with the final state.
    let events = c.get(&format!("/api/tasks/{id}/events")).text();
    assert!(
        events.contains("event: line") && events.contains("event: end"),
        "{events}"
    );
    assert!(
        events.contains("\\\"success\\\"") || events.contains("success"),
        "{events}"
    );
    let done = c.wait_task(&id);
    assert_eq!(done["state"], "success", "{done}");
    // The live view follows the phases as they end (`-v --json` phase events).
    let output = c.get(&format!("/api/tasks/{id}")).json()["output"].to_string();
    assert!(
        output.contains(r#"\"message_type\":\"phase\",\"phase\":\"before\""#),
        "{output}"
    );
    let last = j.last_run("slow");
    assert_eq!(last["triggered_by"], "console");
    assert_eq!(last["status"], "success");
    let audit = fs::read_to_string(j.env.path("state/web/audit.jsonl")).unwrap();
    assert!(audit.contains("\"job\":\"slow\"") && audit.contains("\"from\":\"console\""));
    // A job the file does not have.
    assert_eq!(
        c.post_json("/api/jobs/nope/run", &serde_json::json!({}))
            .status,
        404
    );
    // Its page lists the run with a link to its log, which is served as text.
    let history = c.get("/jobs/slow").text();
    assert!(history.contains("from the console"));
    let run_id = last["run_id"].as_str().unwrap();
    let log = c.get(&format!("/jobs/slow/logs/{run_id}"));
    assert_eq!(log.status, 200);
    assert!(log.text().contains("sleep 3"));
    assert_eq!(c.get("/jobs/slow/logs/..%2F..%2Fhistory").status, 404);
}

/// Downloads and restores give back the same bytes; a restore writes below its target.
#[test]
fn downloads_and_restores_give_back_the_same_bytes() {
    let j = jobs_with_data("");
    assert!(j.run(&["run", "docs"]).status.success());
    let c = console(&j, &[]);
    let snap = c.get("/api/snapshots").json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let src = j.src.display().to_string();
    let blob = c.get(&format!(
        "/snapshots/{snap}/file?path={src}/sub/deeper/blob.bin"
    ));
    assert_eq!(blob.status, 200);
    assert_eq!(
        blob.body,
        fs::read(j.src.join("sub/deeper/blob.bin")).unwrap()
    );
    assert!(blob
        .header("content-disposition")
        .unwrap()
        .contains("blob.bin"));
    for format in ["tar", "zip"] {
        let a = c.get(&format!(
            "/snapshots/{snap}/archive?path={src}/sub&format={format}"
        ));
        assert_eq!(a.status, 200, "{format}");
        let file = j.env.path(&format!("sub.{format}"));
        fs::write(&file, &a.body).unwrap();
        let out_dir = j.env.path(&format!("unpacked-{format}"));
        fs::create_dir_all(&out_dir).unwrap();
        let unpack = if format == "tar" {
            common::sh(&format!(
                "tar -xf {} -C {} && echo ok",
                file.display(),
                out_dir.display()
            ))
        } else {
            common::sh(&format!(
                "python3 -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' {} {} && echo ok",
                file.display(),
                out_dir.display()
            ))
        };
        assert!(unpack.contains("ok"), "{format}: {unpack}");
        let found = common::files_under(&out_dir);
        let blob_copy = found
            .iter()
            .find(|p| p.ends_with("deeper/blob.bin"))
            .expect("blob.bin in the archive");
        assert_eq!(
            fs::read(blob_copy).unwrap(),
            fs::read(j.src.join("sub/deeper/blob.bin")).unwrap()
        );
    }
    // Restore a directory to another path.
    let target = j.env.path("elsewhere");
    let body =
        serde_json::json!({"snapshot": &snap[..8], "path": format!("{src}/sub"), "target": target});
    let r = c.post_json("/api/restore", &body);
    assert_eq!(r.status, 202, "{}", r.text());
    let done = c.wait_task(r.json()["id"].as_str().unwrap());
    assert_eq!(done["state"], "success", "{done}");
    let restored = common::restored_path(&target, &j.src.join("sub"));
    common::assert_same_tree(&j.src.join("sub"), &restored);
    assert!(
        !restored.parent().unwrap().join("data").exists(),
        "only the directory asked for"
    );
    // A name with glob characters restores itself only.
    let odd = serde_json::json!({"snapshot": snap, "path": format!("{src}/odd [name]*.txt"), "target": j.env.path("odd")});
    let done = c.wait_task(
        c.post_json("/api/restore", &odd).json()["id"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(done["state"], "success", "{done}");
    let files = common::files_under(&j.env.path("odd"));
    assert_eq!(files.len(), 1, "{files:?}");
    // In place, over a damaged copy: the original place gets its content back.
    fs::write(j.src.join("sub/note.txt"), "scribbled over\n").unwrap();
    let in_place = serde_json::json!({"snapshot": snap, "path": format!("{src}/sub/note.txt")});
    let done = c.wait_task(
        c.post_json("/api/restore", &in_place).json()["id"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(done["state"], "success", "{done}");
    assert_eq!(
        fs::read_to_string(j.src.join("sub/note.txt")).unwrap(),
        "a note\n"
    );
    // A directory of the snapshot is paged.
    let page = c
        .get(&format!(
            "/api/snapshots/{snap}/ls?path={src}&limit=1&offset=1"
        ))
        .json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
}

/// A locked repository is said on the page; an unreachable one is an error page, and
/// the console keeps answering and recovers when it comes back.
#[test]
fn a_locked_or_unreachable_repository_is_said_not_crashed_on() {
    let j = jobs_with_data("");
    assert!(j.run(&["run", "docs"]).status.success());
    let c = console(&j, &[]);
    assert_eq!(c.get("/api/snapshots").status, 200);
    {
        std::env::set_var("UMBRA_STATE_DIR", j.env.path("state-lock-holder"));
        let _lock = j.env.hold_lock(umbra_repo::lock::LockKind::Exclusive);
        let health = c.get("/health").text();
        assert!(health.contains("locked by another process"), "{health}");
        assert_eq!(
            c.get("/api/health").json()["locks"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Browsing still works while it is locked: the console takes no lock.
        assert_eq!(c.get("/api/snapshots").status, 200);
    }
    let moved = j.env.path("repo-away");
    fs::rename(j.env.repo(), &moved).unwrap();
    let r = c.get("/snapshots");
    assert!(r.status >= 400, "{}", r.text());
    assert!(r.text().contains("repository"), "{}", r.text());
    let h = c.get("/api/health").json();
    assert_eq!(h["reachable"], false, "{h}");
    assert_eq!(
        c.get("/").status,
        200,
        "the overview does not need the repository"
    );
    fs::rename(&moved, j.env.repo()).unwrap();
    assert_eq!(
        c.get("/api/snapshots").status,
        200,
        "back when the repository is"
    );
}

/// Editing a job: only with --allow-edit, checked as `config check` checks, comments
/// kept, the previous file kept beside it.
#[test]
fn editing_a_job_needs_allow_edit_and_keeps_the_file_whole() {
    let j = jobs_with_data("");
    let original = format!(
        "# the operator's note\n{}",
        fs::read_to_string(&j.config).unwrap()
    );
    fs::write(&j.config, &original).unwrap();
    let off = console(&j, &[]);
    assert_eq!(off.get("/jobs/docs/edit").status, 403);
    drop(off);
    let c = console(&j, &["--allow-edit"]);
    let (cookie, csrf) = c.login();
    let origin = format!("http://127.0.0.1:{}", c.port);
    let post = |body: &str| {
        request(
            c.port,
            "POST",
            "/jobs/docs/edit",
            &[
                ("Cookie", &cookie),
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
    };
    let form = c.get("/jobs/docs/edit").text();
    assert!(
        form.contains("open_files_0") && form.contains("after_snapshot"),
        "{form}"
    );
    let bad = post(&format!(
        "csrf={csrf}&open_files_0=sometimes&before=&after_snapshot="
    ));
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(
        fs::read_to_string(&j.config).unwrap(),
        original,
        "nothing written"
    );
    let ok = post(&format!(
        "csrf={csrf}&open_files_0=off&before=echo+stop%0Aecho+more&after_snapshot=echo+start"
    ));
    assert_eq!(ok.status, 303, "{}", ok.text());
    let text = fs::read_to_string(&j.config).unwrap();
    assert!(text.contains("# the operator's note"), "{text}");
    assert!(text.contains("open_files = \"off\""), "{text}");
    assert!(
        text.contains("\"echo stop\"") && text.contains("\"echo start\""),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(format!("{}.previous", j.config.display())).unwrap(),
        original
    );
    let check = j.run(&["config", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let jobs = c.get("/api/jobs").json();
    assert_eq!(jobs[0]["sources"][0]["open_files"], "off");
    assert_eq!(jobs[0]["before"][1], "echo more");
    let audit = fs::read_to_string(j.env.path("state/web/audit.jsonl")).unwrap();
    assert!(audit.contains("\"kind\":\"edit\""));
}

/// A job's retention that prunes is "last prune" on the health page; `umbra -v run`
/// tells each phase as it ends.
#[test]
fn a_jobs_prune_is_the_last_prune_and_phases_are_told() {
    let j = jobs_with_data("[jobs.kept]\nsources = [\"SRC\"]\nkeep = { last = 1 }\nprune = true\n");
    assert!(j.run(&["run", "kept"]).status.success());
    fs::write(j.src.join("sub/note.txt"), "changed\n").unwrap();
    let second = j.run(&["-v", "run", "kept"]);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let told = format!(
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(told.contains("phase backup: ok"), "{told}");
    assert!(told.contains("phase retention: ok"), "{told}");
    let log = fs::read_to_string(j.env.path("state/maintenance.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"prune\""), "{log}");
    let c = console(&j, &[]);
    let health = c.get("/api/health").json();
    assert_eq!(health["last_prune"]["ok"], true, "{health}");
    assert!(health["last_check"].is_null(), "{health}");
}
