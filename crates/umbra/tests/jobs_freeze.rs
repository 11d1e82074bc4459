//! The `freeze` quiescer on real cgroups (issue #21): a live writer held still by the
//! cgroup v2 freezer while its files are cloned or snapshotted, so that files which must
//! agree do; never left frozen when umbra is killed; a freeze that cannot complete is
//! bounded; umbra's own cgroup is refused.
//!
//! The writer is a SQLite database beside an append-only log (Python's sqlite3): it appends
//! `i` to the log, then commits `i` to the database. At any instant the log's last number
//! is the database's highest or one more; a copy that disagrees was taken at two instants.
//! With reflink clones, the SQLite quiescer alone cannot make these two files agree.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{have, is_root, require, Env, LoopFs};

/// A cgroup v2 group made for one test, removed (thawed, emptied) on drop.
struct TestCgroup {
    dir: PathBuf,
    members: Vec<Child>,
}

fn v2_root() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let mount = left.split_whitespace().nth(4)?;
        right.starts_with("cgroup2 ").then(|| PathBuf::from(mount))
    })
}

impl TestCgroup {
    fn new(tag: &str) -> Option<Self> {
        if !require(is_root(), "root, to create cgroups")
            || !require(v2_root().is_some(), "a mounted cgroup v2 hierarchy")
        {
            return None;
        }
        let dir = v2_root()?.join(format!("umbra-test-{tag}-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("create the test cgroup");
        if !dir.join("cgroup.freeze").exists() {
            require(false, "cgroup.freeze (a kernel with the cgroup v2 freezer)");
            return None;
        }
        Some(Self {
            dir,
            members: Vec::new(),
        })
    }

    /// Starts `cmd` and moves it into the group.
    fn spawn(&mut self, cmd: &mut Command) {
        let child = cmd.stdout(Stdio::null()).spawn().expect("spawn");
        fs::write(self.dir.join("cgroup.procs"), child.id().to_string()).expect("move into cgroup");
        self.members.push(child);
    }

    fn frozen(&self) -> bool {
        fs::read_to_string(self.dir.join("cgroup.events"))
            .unwrap_or_default()
            .lines()
            .any(|l| l == "frozen 1")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = fs::write(self.dir.join("cgroup.freeze"), "0");
        for c in &mut self.members {
            let _ = c.kill();
            let _ = c.wait();
        }
        for _ in 0..100 {
            if fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

const WRITER: &str = r#"
import os, sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect(os.path.join(d, "bank.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=DELETE")
db.execute("PRAGMA synchronous=OFF")
db.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER PRIMARY KEY, pad BLOB)")
log = open(os.path.join(d, "log.txt"), "a", buffering=1)
i = 0
while True:
    i += 1
    log.write(f"{i}\n")
    db.execute("BEGIN")
    db.execute("INSERT INTO t VALUES (?, randomblob(64))", (i,))
    db.execute("COMMIT")
"#;

/// The log's last number and the database's highest, of a restored copy.
fn agree(dir: &Path) -> Result<(u64, u64), String> {
    let log = fs::read_to_string(dir.join("log.txt")).map_err(|e| e.to_string())?;
    let last: u64 = log
        .lines()
        .rfind(|l| !l.is_empty())
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select coalesce(max(i),0) from t').fetchone()[0])",
        ])
        .arg(dir.join("bank.db"))
        .output()
        .map_err(|e| e.to_string())?;
    let max: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            format!(
                "the database does not open: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    if last == max || last == max + 1 {
        Ok((last, max))
    } else {
        Err(format!("the log ends at {last} but the database at {max}"))
    }
}

fn job_file(env: &Env, src: &Path, method: &str, quiesce: &str, bound: &str) -> PathBuf {
    env.job_file(&format!(
        "[jobs.t]\nsources = [\"{}\"]\nsnapshot = \"{method}\"\nfreeze_timeout = \"{bound}\"\n\n{quiesce}",
        src.display()
    ))
}

fn freeze_table(cg: &TestCgroup) -> String {
    format!(
        "[[jobs.t.quiesce]]\ntype = \"freeze\"\nname = \"writer\"\ncgroup = \"{}\"\n",
        cg.dir.display()
    )
}

fn run_job(env: &Env, config: &Path) -> std::process::Output {
    env.umbra_with_config(config)
        .args(["run", "t"])
        .output()
        .expect("umbra run")
}

/// Five backups of a live writer with its cgroup frozen: every restore agrees, the record
/// says `writers-frozen` with the window, and the writer goes on after each thaw. Then five
/// without the freeze, counted but not asserted (they may or may not disagree).
fn writer_held_still(fs_type: &str, method: &str) {
    if !require(have("python3"), "python3 (the writer)") {
        return;
    }
    let env = Env::new();
    let Some(fs_) = LoopFs::new(fs_type, env.dir.path(), 512) else {
        return;
    };
    let Some(mut cg) = TestCgroup::new(fs_type) else {
        return;
    };
    let src = fs_.path("app");
    fs::create_dir_all(&src).expect("mkdir");
    if fs_type == "btrfs" {
        // A subvolume of its own, so that a snapshot is of it alone.
        fs::remove_dir(&src).expect("rmdir");
        let ok = Command::new("btrfs")
            .args(["subvolume", "create"])
            .arg(&src)
            .stdout(Stdio::null())
            .status()
            .expect("btrfs");
        assert!(ok.success());
    }
    cg.spawn(Command::new("python3").args(["-c", WRITER]).arg(&src));
    std::thread::sleep(Duration::from_millis(500));
    env.init();
    let progress = || {
        fs::read_to_string(src.join("log.txt"))
            .map(|l| l.lines().count())
            .unwrap_or(0)
    };
    let config = job_file(&env, &src, method, &freeze_table(&cg), "5s");
    let rate = || {
        let before = progress();
        std::thread::sleep(Duration::from_millis(300));
        (progress() - before) as f64 / 0.3
    };
    eprintln!(
        "measured: writer before any freeze: {:.0} records/s",
        rate()
    );
    for trial in 0..5 {
        let out = run_job(&env, &config);
        assert!(
            out.status.success(),
            "trial {trial}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!cg.frozen(), "trial {trial}: left frozen");
        let after = rate();
        assert!(
            after > 0.0,
            "trial {trial}: the writer does not go on after the thaw"
        );
        let snap: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "show", "latest"])).expect("json");
        let record = &snap["consistency"];
        assert_eq!(record["sources"][0]["level"], "writers-frozen", "{record}");
        assert_eq!(record["quiesced"][0]["kind"], "freeze", "{record}");
        let window = record["quiesced"][0]["freeze_us"].as_u64().expect("window");
        let target = env.restore_latest(&format!("r{trial}"));
        let restored = common::restored_path(&target, &src);
        let (last, max) = agree(&restored).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        eprintln!(
            "measured: {fs_type}/{method} trial {trial}: frozen {:.1} ms; log {last}, database {max}; writer after the thaw {after:.0} records/s",
            window as f64 / 1000.0
        );
    }
    // The same without the freeze, for the record.
    let config = job_file(&env, &src, method, "", "5s");
    let mut disagree = 0;
    for trial in 0..5 {
        let out = run_job(&env, &config);
        // 3: a file (the journal) came or went while the tree was cloned file by file.
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let target = env.restore_latest(&format!("n{trial}"));
        if agree(&common::restored_path(&target, &src)).is_err() {
            disagree += 1;
        }
    }
    eprintln!("measured: {fs_type}/{method} without the freeze: {disagree} of 5 restores disagree");
}

#[test]
fn reflink_clones_of_a_frozen_writer_agree_across_files() {
    writer_held_still("xfs", "reflink");
}

#[test]
fn btrfs_snapshots_of_a_frozen_writer_agree_across_files() {
    writer_held_still("btrfs", "btrfs");
}

/// kill -9 of umbra while the cgroup is frozen: the guardian thaws it at once (well
/// within the bound plus a second), and `umbra cleanup` finds nothing frozen.
#[test]
fn a_killed_umbra_leaves_nothing_frozen() {
    let env = Env::new();
    let Some(fs_) = LoopFs::new("xfs", env.dir.path(), 512) else {
        return;
    };
    let Some(mut cg) = TestCgroup::new("kill") else {
        return;
    };
    cg.spawn(Command::new("sleep").arg("600"));
    let src = fs_.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.init();
    // The freeze first, then a quiescer that holds the window open for 5 s.
    let quiesce = format!(
        "{}\n[[jobs.t.quiesce]]\ntype = \"command\"\nname = \"slow\"\nfreeze = \"sleep 5\"\nthaw = \"true\"\n",
        freeze_table(&cg)
    );
    let config = job_file(&env, &src, "reflink", &quiesce, "8s");
    let thawed = kill_while_frozen(&env, &config, None, &cg);
    eprintln!("measured: thawed by the guardian {thawed:?} after kill -9");
    let out = env.ok(&["cleanup"]);
    assert!(out.contains("thawed 0 frozen cgroup(s)"), "{out}");
    assert!(out.contains("already thawed by the guardian"), "{out}");
    assert!(!cg.frozen());
    // The record is gone: a second cleanup has nothing to say about it.
    assert!(!env.ok(&["cleanup"]).contains("guardian"));
}

/// A process in uninterruptible sleep (writing to a frozen filesystem) keeps the cgroup
/// from freezing: the freeze gives up at the bound and thaws. A source that says
/// `open_files = "required"` then fails the run, saving nothing; by default the snapshots
/// are taken without the freeze, the run warns, and the record says the freeze failed and
/// claims no more than the snapshot gives.
#[test]
fn a_freeze_that_cannot_complete_is_bounded_and_thawed() {
    if !require(have("fsfreeze"), "fsfreeze (util-linux)") {
        return;
    }
    let env = Env::new();
    let Some(fs_) = LoopFs::new("xfs", env.dir.path(), 512) else {
        return;
    };
    fs::create_dir_all(env.path("stuck")).expect("mkdir");
    let Some(stuck_fs) = LoopFs::new("xfs", &env.path("stuck"), 512) else {
        return;
    };
    let Some(mut cg) = TestCgroup::new("stuck") else {
        return;
    };
    let src = fs_.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    let frozen_fs = stuck_fs.mount.clone();
    assert!(Command::new("fsfreeze")
        .arg("-f")
        .arg(&frozen_fs)
        .status()
        .expect("fsfreeze")
        .success());
    let target = stuck_fs.path("blocked");
    cg.spawn(Command::new("sh").args(["-c", &format!("echo x > {}", target.display())]));
    std::thread::sleep(Duration::from_millis(300));
    env.init();
    // Required: the run fails, nothing is saved.
    let required = env.job_file(&format!(
        "[jobs.t]\nsources = [{{ path = \"{}\", open_files = \"required\" }}]\nsnapshot = \"reflink\"\nfreeze_timeout = \"2s\"\n\n{}",
        src.display(),
        freeze_table(&cg)
    ));
    let started = Instant::now();
    let out = run_job(&env, &required);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("did not freeze in time") || err.contains("outlasted"),
        "{err}"
    );
    assert!(!cg.frozen(), "left frozen after the bound");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(env.snapshot_count(), 0, "no snapshot may be saved");
    // The default: on without the freeze, and said so.
    let config = job_file(&env, &src, "reflink", &freeze_table(&cg), "2s");
    let out = run_job(&env, &config);
    let _ = Command::new("fsfreeze").arg("-u").arg(&frozen_fs).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let said = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
    assert!(said.contains("could not freeze"), "{said}");
    assert!(!cg.frozen(), "left frozen after the bound");
    let snap: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "show", "latest"])).expect("json");
    let record = &snap["consistency"];
    assert_eq!(record["sources"][0]["level"], "file-atomic", "{record}");
    assert!(
        record["quiesced"][0]["details"]["failed"]
            .as_str()
            .is_some_and(|f| f.contains("did not freeze")),
        "{record}"
    );
}

/// umbra refuses to freeze the cgroup it runs in (the job's commands run there too), and
/// a unit that cannot be looked up fails the run; in both cases before anything is frozen.
#[test]
fn umbras_own_cgroup_and_an_unknown_unit_are_refused_before_anything_freezes() {
    let env = Env::new();
    let Some(cg) = TestCgroup::new("own") else {
        return;
    };
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.init();
    let config = job_file(&env, &src, "direct", &freeze_table(&cg), "5s");
    // umbra started inside the group it is asked to freeze.
    let base = env.umbra_with_config(&config);
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "echo $$ > {} && exec \"$0\" \"$@\"",
            cg.dir.join("cgroup.procs").display()
        ))
        .arg(base.get_program())
        .args(base.get_args())
        .args(["run", "t"])
        .stdin(Stdio::null());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let out = sh.output().expect("sh");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("holds umbra itself"), "{err}");
    assert!(!cg.frozen());
    // A unit on a machine without a running systemd: the lookup fails, nothing freezes.
    let unit = "[[jobs.t.quiesce]]\ntype = \"freeze\"\nunit = \"no-such-unit.service\"\n";
    let config = job_file(&env, &src, "direct", unit, "5s");
    let out = run_job(&env, &config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("systemctl") || err.contains("no-such-unit.service"),
        "{err}"
    );
}

/// A `docker` on PATH for the tests: `inspect` gives pid 1 (whose cgroup, the root, has
/// no freezer), so umbra falls back to `pause`/`unpause`, which this stand-in carries out
/// on the test's cgroup, logging each call. (No container engine runs here; the real
/// tools' outputs are covered by unit tests in `quiesce/cgroup.rs`.)
fn fake_docker(env: &Env, cg: &TestCgroup) -> PathBuf {
    let bin = env.path("fake-bin");
    fs::create_dir_all(&bin).expect("mkdir");
    let log = env.path("docker.log");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> {log}\ncase \"$1\" in\n  inspect) echo 1 ;;\n  pause) echo 1 > {cg}/cgroup.freeze; until grep -q 'frozen 1' {cg}/cgroup.events; do sleep 0.01; done ;;\n  unpause) grep -q 'frozen 1' {cg}/cgroup.events || {{ echo \"Error: container $2 is not paused\" >&2; exit 1; }}; echo 0 > {cg}/cgroup.freeze ;;\n  *) exit 1 ;;\nesac\n",
        log = log.display(),
        cg = cg.dir.display()
    );
    let docker = bin.join("docker");
    fs::write(&docker, script).expect("write");
    common::chmod(&docker, 0o755);
    bin
}

/// A container whose cgroup cannot be frozen here is paused through its engine, with the
/// same window, record and guardian: a kill -9 while paused is unpaused by the guardian.
#[test]
fn a_container_out_of_reach_is_paused_through_its_engine_and_unpaused_by_the_guardian() {
    let env = Env::new();
    let Some(fs_) = LoopFs::new("xfs", env.dir.path(), 512) else {
        return;
    };
    let Some(mut cg) = TestCgroup::new("engine") else {
        return;
    };
    cg.spawn(Command::new("sleep").arg("600"));
    let bin = fake_docker(&env, &cg);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let src = fs_.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.init();
    let container = "[[jobs.t.quiesce]]\ntype = \"freeze\"\nname = \"web\"\ncontainer = \"web\"\n";
    let config = job_file(&env, &src, "reflink", container, "8s");
    let out = env
        .umbra_with_config(&config)
        .env("PATH", &path)
        .args(["run", "t"])
        .output()
        .expect("umbra");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = fs::read_to_string(env.path("docker.log")).expect("docker ran");
    assert!(
        calls.contains("pause web\n") && calls.contains("unpause web\n"),
        "{calls}"
    );
    assert!(!cg.frozen());
    let snap: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "show", "latest"])).expect("json");
    let record = &snap["consistency"];
    assert_eq!(record["sources"][0]["level"], "writers-frozen", "{record}");
    assert!(
        record["quiesced"][0]["details"]["paused"]
            .as_str()
            .is_some_and(|p| p.starts_with("web (")),
        "{record}"
    );
    // kill -9 while paused: the guardian runs `docker unpause web` itself.
    let slow = format!(
        "{container}\n[[jobs.t.quiesce]]\ntype = \"command\"\nname = \"slow\"\nfreeze = \"sleep 5\"\nthaw = \"true\"\n"
    );
    let config = job_file(&env, &src, "reflink", &slow, "8s");
    let unpaused = kill_while_frozen(&env, &config, Some(&path), &cg);
    eprintln!("measured: unpaused by the guardian {unpaused:?} after kill -9");
    let out = env.ok(&["cleanup"]);
    assert!(out.contains("thawed 0 frozen cgroup(s)"), "{out}");
}

/// cgroup v1's freezer (`freezer.state`), where a machine has it mounted: frozen for the
/// window (a command quiescer after it reads the state), thawed after.
#[test]
fn the_v1_freezer_freezes_and_thaws() {
    let env = Env::new();
    if !require(is_root(), "root, to create cgroups") {
        return;
    }
    let Some(root) = fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                let mount = left.split_whitespace().nth(4)?;
                let options = right.split_whitespace().nth(2)?;
                (right.starts_with("cgroup ") && options.split(',').any(|o| o == "freezer"))
                    .then(|| PathBuf::from(mount))
            })
        })
    else {
        // A pure cgroup v2 machine has no v1 freezer to test; the v2 tests cover it.
        eprintln!("\n*** NOT RUN: no cgroup v1 freezer is mounted on this machine ***\n");
        return;
    };
    let dir = root.join(format!("umbra-test-v1-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("v1 cgroup");
    let mut sleeper = Command::new("sleep").arg("600").spawn().expect("sleep");
    fs::write(dir.join("cgroup.procs"), sleeper.id().to_string()).expect("move");
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.init();
    let seen = env.path("seen");
    let quiesce = format!(
        "[[jobs.t.quiesce]]\ntype = \"freeze\"\ncgroup = \"{dir}\"\n\n[[jobs.t.quiesce]]\ntype = \"command\"\nname = \"look\"\nfreeze = \"cat {dir}/freezer.state > {seen}\"\nthaw = \"true\"\n",
        dir = dir.display(),
        seen = seen.display()
    );
    let config = job_file(&env, &src, "direct", &quiesce, "5s");
    let out = run_job(&env, &config);
    let state = fs::read_to_string(dir.join("freezer.state")).unwrap_or_default();
    let _ = fs::write(dir.join("freezer.state"), "THAWED");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = fs::remove_dir(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&seen).expect("seen").trim(),
        "FROZEN",
        "frozen while the window was open"
    );
    assert_eq!(state.trim(), "THAWED");
}

/// Runs job `t` of `config` (with `path` as PATH, when given), kills umbra with SIGKILL
/// once `cg` is frozen, and returns how long after the kill `cg` was thawed (at most the
/// 8 s bound plus a second).
fn kill_while_frozen(env: &Env, config: &Path, path: Option<&str>, cg: &TestCgroup) -> Duration {
    let mut cmd = env.umbra_with_config(config);
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let mut umbra = cmd
        .args(["run", "t"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("umbra");
    let started = Instant::now();
    while !cg.frozen() {
        assert!(started.elapsed() < Duration::from_secs(30), "never frozen");
        std::thread::sleep(Duration::from_millis(5));
    }
    umbra.kill().expect("kill -9");
    let killed = Instant::now();
    let _ = umbra.wait();
    while cg.frozen() {
        assert!(
            killed.elapsed() < Duration::from_secs(9),
            "still frozen {:?} after kill -9 (bound 8 s + 1 s)",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    killed.elapsed()
}
