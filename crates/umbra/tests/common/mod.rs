//! Helpers for the end-to-end tests: each test gets its own temporary directory with a
//! password file, a cache directory and a repository path, and runs the built `umbra`
//! binary against them.
//!
//! Tests that need root or the `restic` binary call [`require`]: in CI (`CI=true`) a
//! missing prerequisite fails the test; elsewhere the test says loudly why it did not run.

#![allow(dead_code)]

pub mod jobs;
pub mod leftovers;
mod mounts;
mod tree;

// Each test file uses some of these, as of everything in this module (hence the
// `dead_code` above).
#[allow(unused_imports)]
pub use mounts::{LoopFs, ReadOnlyView, Tmpfs};
#[allow(unused_imports)]
pub use tree::{
    assert_owned_by, assert_same_tree, fingerprint_tree, get_xattr, open_path_to, restored_path,
    set_xattr, Fingerprint,
};

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn have(binary: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {binary}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Returns false (after saying why, loudly) when a prerequisite is missing outside CI.
/// In CI a missing prerequisite is a failure: the tests must run there.
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("this test needs {what}, and CI must provide it (see .ci/run)");
    }
    eprintln!(
        "\n*** NOT RUN: this test needs {what}; run `bash .ci/run` (as root) to run it ***\n"
    );
    false
}

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("umbra-test-")
            .tempdir()
            .expect("tempdir");
        fs::write(dir.path().join("password"), "correct horse\n").expect("password file");
        chmod(&dir.path().join("password"), 0o600);
        Self { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn repo(&self) -> PathBuf {
        self.path("repo")
    }

    /// Writes `umbra.toml` in this environment: its repository and password file, then
    /// `jobs` (the job tables). Returns the file's path.
    pub fn job_file(&self, jobs: &str) -> PathBuf {
        let config = self.path("umbra.toml");
        fs::write(
            &config,
            format!(
                "[repository]\npath = \"{}\"\npassword_file = \"{}\"\n\n{jobs}",
                self.repo().display(),
                self.path("password").display()
            ),
        )
        .expect("write the job file");
        config
    }

    /// `umbra -c CONFIG` with this environment's cache and state, and the repository and
    /// password the job file names (not this environment's).
    pub fn umbra_with_config(&self, config: &Path) -> Command {
        let mut c = self.umbra();
        c.env_remove("UMBRA_REPOSITORY")
            .env_remove("UMBRA_PASSWORD_FILE")
            .arg("-c")
            .arg(config);
        c
    }

    /// `umbra` with this environment's repository, password and cache.
    pub fn umbra(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_umbra"));
        c.env_remove("UMBRA_PASSWORD")
            .env_remove("UMBRA_PASSWORD_COMMAND")
            .env("UMBRA_REPOSITORY", self.repo())
            .env("UMBRA_PASSWORD_FILE", self.path("password"))
            .env("UMBRA_CACHE_DIR", self.path("cache"))
            .env("UMBRA_STATE_DIR", self.path("state"))
            .stdin(std::process::Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.umbra().args(args).output().expect("run umbra")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "umbra {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn init(&self) {
        self.ok(&["init"]);
    }

    /// A repository holding one snapshot of `src/` with one file, `f` ("data"); returns
    /// `src`. For tests about everything but the data.
    pub fn with_one_snapshot() -> (Self, PathBuf) {
        let env = Self::new();
        env.init();
        let src = env.path("src");
        fs::create_dir_all(&src).expect("mkdir");
        fs::write(src.join("f"), "data").expect("write");
        env.backup_json(&[&src], &[]);
        (env, src)
    }

    /// Restores the latest snapshot into `self.path(dir)` (asserting success) and returns
    /// that directory.
    pub fn restore_latest(&self, dir: &str) -> PathBuf {
        let target = self.path(dir);
        self.ok(&[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ]);
        target
    }

    /// `umbra` as the unprivileged user `nobody` (through setpriv) when the tests run as
    /// root, as this user otherwise; with this environment's repository, password, cache,
    /// state and a home of its own. Call [`Env::open_up_for_nobody`] first.
    pub fn umbra_unprivileged(&self) -> Command {
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_umbra"),
            ]);
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_umbra"))
        };
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", self.path("home"))
            .env("UMBRA_REPOSITORY", self.repo())
            .env("UMBRA_PASSWORD_FILE", self.path("password"))
            .env("UMBRA_CACHE_DIR", self.path("cache"))
            .env("UMBRA_STATE_DIR", self.path("state"))
            .stdin(std::process::Stdio::null());
        c
    }

    /// Lets `nobody` reach and write this environment's directories and read its password.
    pub fn open_up_for_nobody(&self) {
        for dir in ["", "home", "cache", "state"] {
            fs::create_dir_all(self.path(dir)).expect("mkdir");
            chmod(&self.path(dir), 0o777);
        }
        chmod(&self.path("password"), 0o644);
    }

    /// Opens the repository through the library and holds a lock of `kind` until the
    /// returned value is dropped: another process that really holds a lock.
    pub fn hold_lock(&self, kind: umbra_repo::lock::LockKind) -> umbra_repo::Repo {
        std::env::set_var("UMBRA_CACHE_DIR", self.path("cache"));
        umbra_repo::Repo::open(
            &umbra_repo::RepoLocation::local(self.repo()),
            "correct horse",
            umbra_repo::OpenOptions::locked(kind),
            std::sync::Arc::new(umbra_core::NullMonitor),
        )
        .expect("take the lock")
    }

    /// Backs up `paths` with --json and returns the summary object.
    pub fn backup_json(&self, paths: &[&Path], extra: &[&str]) -> (Option<i32>, serde_json::Value) {
        let mut args: Vec<&OsStr> = vec![OsStr::new("--json"), OsStr::new("backup")];
        args.extend(extra.iter().map(OsStr::new));
        args.extend(paths.iter().map(|p| p.as_os_str()));
        let out = self.umbra().args(&args).output().expect("run umbra");
        (out.status.code(), summary_of(&out))
    }

    /// `umbra` as [`Self::umbra`] runs it, under `strace -f`, which writes the system calls
    /// `calls` (strace's `-e trace=` list) of all its threads to `log`.
    pub fn umbra_traced(&self, calls: &str, log: &Path) -> Command {
        let plain = self.umbra();
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-e", &format!("trace={calls}"), "-o"])
            .arg(log)
            .arg(plain.get_program())
            .stdin(std::process::Stdio::null());
        for (key, value) in plain.get_envs() {
            match value {
                Some(value) => c.env(key, value),
                None => c.env_remove(key),
            };
        }
        c
    }

    /// How many snapshots the repository lists.
    pub fn snapshot_count(&self) -> usize {
        let listed: serde_json::Value =
            serde_json::from_str(&self.ok(&["--json", "snapshots"])).expect("json");
        listed.as_array().expect("a list of snapshots").len()
    }
}

/// A btrfs loop filesystem with a source directory `data` holding `file` of `mib` MiB of
/// random data, and an initialised repository; `None` when the test cannot run here.
pub fn btrfs_source(file: &str, mib: usize, seed: u64) -> Option<(Env, LoopFs, PathBuf)> {
    let env = Env::new();
    let lfs = LoopFs::new("btrfs", env.dir.path(), 300)?;
    env.init();
    let src = lfs.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join(file), Rng(seed).bytes(mib << 20)).expect("write");
    Some((env, lfs, src))
}

/// The unsigned number `key` of a JSON object (a summary's `bytes_read`, say).
pub fn json_u64(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// The summary object of a `umbra --json backup` run's output.
pub fn summary_of(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message_type"] == "summary")
        .unwrap_or_else(|| {
            panic!(
                "no summary from backup; status {:?}\nstdout: {stdout}\nstderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Waits until everything written so far is older than the margin within which a backup's
/// next backup reads a file again whatever its times say (`RACY_MARGIN_MS`; docs/
/// CONSISTENCY.md, "Files written as the view was taken"). Tests that check that an
/// unchanged file is not read call this between writing the files and the first backup.
pub fn age_past_racy_margin() {
    let margin = umbra_core::consistency::RACY_MARGIN_MS + 200;
    std::thread::sleep(std::time::Duration::from_millis(margin));
}

/// Sleeps until 10 ms into the next second of the clock, and returns that moment: on a
/// filesystem with whole-second times (ext4 with 128-byte inodes), what a test does in the
/// following few hundred milliseconds is stamped with one time.
pub fn start_of_a_second() -> std::time::Instant {
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_millis();
    std::thread::sleep(std::time::Duration::from_millis(u64::from(1_010 - into)));
    std::time::Instant::now()
}

/// What decides whether a file changed, for backup programs: inode, size, and the
/// modification and change times to the nanosecond.
pub fn change_stamp(path: &Path) -> (u64, u64, i64, i64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).expect("stat");
    (
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    )
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Sets `path`'s modification time (not followed) to `when`, as `touch -d` reads it.
pub fn touch_date(path: &Path, when: &str) {
    let st = std::process::Command::new("touch")
        .args(["-h", "-d", when])
        .arg(path)
        .status()
        .expect("touch");
    assert!(st.success(), "touch -d {when} {}", path.display());
}

/// `(mode bits, uid, gid, mtime)` of a path, not followed.
pub fn mode_owner_mtime(path: &Path) -> (u32, u32, u32, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path).expect("lstat");
    (m.mode() & 0o7777, m.uid(), m.gid(), m.mtime())
}

/// A small deterministic pseudo-random generator (xorshift), for reproducible trees.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

/// Every file below `dir`, sorted (for finding packs, index and snapshot files).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The real `restic` on this environment's repository and password, without a cache.
pub fn restic(env: &Env, args: &[&str]) -> Output {
    restic_at(env, &env.repo(), args)
}

/// The real `restic` on this environment's repository, asserting that it succeeds.
pub fn restic_succeeds(env: &Env, args: &[&str]) -> Output {
    let out = restic(env, args);
    assert!(
        out.status.success(),
        "restic {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Restores this environment's latest snapshot with the real `restic` into
/// `env.path(dir)` (asserting success) and returns that directory.
pub fn restic_restore_latest(env: &Env, dir: &str) -> PathBuf {
    let target = env.path(dir);
    let target_arg = target.to_str().expect("utf8");
    restic_succeeds(env, &["restore", "latest", "--target", target_arg]);
    target
}

/// The real `restic` on the repository at `repo`, with this environment's password.
pub fn restic_at(env: &Env, repo: &Path, args: &[&str]) -> Output {
    restic_command(env, repo)
        .args(args)
        .output()
        .expect("restic")
}

/// The real `restic` on the repository `repo` (a path or a store's URL), with this
/// environment's password and without a cache, for the caller to add to and run.
pub fn restic_command(env: &Env, repo: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new("restic");
    cmd.arg("-r")
        .arg(repo)
        .arg("--password-file")
        .arg(env.path("password"))
        .arg("--no-cache");
    cmd
}

/// Runs a shell command and returns its stdout (for btrfs, mount checks and the like).
/// Whether something listens on 127.0.0.1:`port`. A connection to itself does not count:
/// the test ports come from the ephemeral range, so Linux may give a connection to a port
/// nothing listens on that same port as its own end, and the two ends meet
/// (a "simultaneous open"). That once let a test go on before its server listened, and
/// held the port the server was about to bind.
pub fn listening(port: u16) -> bool {
    connect(port).is_some()
}

/// A connection to what listens on 127.0.0.1:`port`; `None` when nothing does (a
/// connection to itself included, see [`listening`]).
pub fn connect(port: u16) -> Option<std::net::TcpStream> {
    std::net::TcpStream::connect(("127.0.0.1", port))
        .ok()
        .filter(|s| s.local_addr().ok() != s.peer_addr().ok())
}

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd` with `sh -c` and fails the test, with its stderr, unless it succeeds.
pub fn sh_ok(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Mount points below `dir` (to check that nothing is left mounted).
pub fn mounts_below(dir: &Path) -> Vec<String> {
    fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
        .filter(|m| Path::new(m).starts_with(dir) && Path::new(m) != dir)
        .collect()
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
#[allow(dead_code)]
pub fn unused_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The newest installed PostgreSQL's binaries (with pgbench), as Debian lays them out.
#[allow(dead_code)]
pub fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("pgbench").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// A PostgreSQL program run as the `postgres` user.
#[allow(dead_code)]
pub fn as_postgres(bin: &Path, program: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(bin.join(program));
    c
}

/// A new PostgreSQL cluster in `data` (trust authentication, superuser `postgres`), with
/// `sock` as a directory the server may put its socket in; both owned by `postgres`.
#[allow(dead_code)]
pub fn initdb(bin: &Path, data: &Path, sock: &Path) {
    for d in [data, sock] {
        fs::create_dir_all(d).expect("mkdir");
        sh(&format!("chown postgres:postgres {}", d.display()));
    }
    let st = as_postgres(bin, "initdb")
        .args(["-A", "trust", "-U", "postgres", "-D"])
        .arg(data)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("initdb");
    assert!(st.success(), "initdb failed");
}
