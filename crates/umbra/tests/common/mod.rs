//! Helpers for the end-to-end tests: each test gets its own temporary directory with a
//! password file, a cache directory and a repository path, and runs the built `umbra`
//! binary against them.
//!
//! Tests that need root or the `restic` binary call [`require`]: in CI (`CI=true`) a
//! missing prerequisite fails the test; elsewhere the test says loudly why it did not run.

#![allow(dead_code)]

pub mod jobs;
pub mod leftovers;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["message_type"] == "summary")
            .unwrap_or_else(|| {
                panic!(
                    "no summary from backup; status {:?}\nstdout: {stdout}\nstderr: {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        (out.status.code(), summary)
    }
}

/// Everything about one entry that a faithful restore must reproduce.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, i64),
    pub content: Option<Vec<u8>>,
    pub link: Option<PathBuf>,
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// Other paths (relative) sharing this file's inode.
    pub hardlinks: Vec<PathBuf>,
    /// True when the file occupies clearly fewer blocks than its size.
    pub sparse: bool,
}

fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let mut names = vec![0u8; 4096];
    // SAFETY: buffers are valid for the lengths given.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let mut out = BTreeMap::new();
    if n <= 0 {
        return out;
    }
    for name in names[..n as usize]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
    {
        let key = String::from_utf8_lossy(name).into_owned();
        if !key.starts_with("user.") {
            continue;
        }
        let cname = std::ffi::CString::new(name).expect("name");
        let mut value = vec![0u8; 4096];
        // SAFETY: as above.
        let len = unsafe {
            libc::lgetxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len >= 0 {
            value.truncate(len as usize);
            out.insert(key, value);
        }
    }
    out
}

pub fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = std::ffi::CString::new(name).expect("name");
    // SAFETY: valid C strings and buffer.
    let rc = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "setxattr {name} on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// A map from relative path to fingerprint, for every entry below `root`.
pub fn fingerprint_tree(root: &Path) -> BTreeMap<PathBuf, Fingerprint> {
    let mut inodes: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    let mut entries = Vec::new();
    walk(root, root, &mut entries);
    for (rel, meta) in &entries {
        if meta.is_file() && meta.nlink() > 1 {
            inodes.entry(meta.ino()).or_default().push(rel.clone());
        }
    }
    entries
        .into_iter()
        .map(|(rel, meta)| {
            let full = root.join(&rel);
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                "dir"
            } else if ft.is_symlink() {
                "symlink"
            } else {
                "file"
            };
            let hardlinks = inodes
                .get(&meta.ino())
                .map(|v| v.iter().filter(|p| **p != rel).cloned().collect())
                .unwrap_or_default();
            let fp = Fingerprint {
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                // Directory mtimes are restored, but symlinks' are not on every path; skip them.
                mtime: if ft.is_symlink() {
                    (0, 0)
                } else {
                    (meta.mtime(), meta.mtime_nsec())
                },
                content: ft.is_file().then(|| fs::read(&full).expect("read")),
                link: ft
                    .is_symlink()
                    .then(|| fs::read_link(&full).expect("readlink")),
                xattrs: if ft.is_symlink() {
                    BTreeMap::new()
                } else {
                    xattrs(&full)
                },
                hardlinks,
                sparse: ft.is_file()
                    && meta.len() > 1 << 20
                    && meta.blocks() * 512 < meta.len() / 2,
            };
            (rel, fp)
        })
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, fs::Metadata)>) {
    let mut children: Vec<_> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    children.sort();
    for p in children {
        let meta = fs::symlink_metadata(&p).expect("lstat");
        let rel = p.strip_prefix(root).expect("prefix").to_path_buf();
        let is_dir = meta.is_dir();
        out.push((rel, meta));
        if is_dir {
            walk(root, &p, out);
        }
    }
}

/// Asserts that `restored` holds exactly what `original` holds.
pub fn assert_same_tree(original: &Path, restored: &Path) {
    let a = fingerprint_tree(original);
    let b = fingerprint_tree(restored);
    let a_keys: Vec<_> = a.keys().collect();
    let b_keys: Vec<_> = b.keys().collect();
    assert_eq!(a_keys, b_keys, "restored tree has other entries");
    for (path, fa) in &a {
        assert_eq!(
            Some(fa),
            b.get(path),
            "entry {} differs after restore",
            path.display()
        );
    }
}

/// Where a snapshot of `source` lands inside a restore target.
pub fn restored_path(target: &Path, source: &Path) -> PathBuf {
    target.join(source.strip_prefix("/").expect("absolute source"))
}

/// Lets other users (a database server's user) reach `restored` by adding search
/// permission to each directory above it, from the test's temporary directory down. The
/// restored tree itself is left exactly as the restore made it: owners and modes are
/// what is being tested.
pub fn open_path_to(restored: &Path) {
    let mut dirs: Vec<&Path> = restored
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(std::env::temp_dir()) && *d != std::env::temp_dir())
        .collect();
    dirs.reverse();
    for d in dirs {
        let mode = fs::symlink_metadata(d).expect("lstat").mode();
        chmod(d, (mode & 0o7777) | 0o011);
    }
}

/// Asserts that `path` is owned by `user` (a name from /etc/passwd).
pub fn assert_owned_by(path: &Path, user: &str) {
    let uid: u32 = sh(&format!("id -u {user}")).trim().parse().expect("id -u");
    let got = fs::symlink_metadata(path).expect("lstat").uid();
    assert_eq!(
        got,
        uid,
        "{} is owned by uid {got}, not {user}",
        path.display()
    );
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
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

/// A real filesystem on a loop device, created and mounted for one test, unmounted and
/// deleted on drop. Needs root and the filesystem's mkfs.
pub struct LoopFs {
    pub mount: PathBuf,
    image: PathBuf,
}

impl LoopFs {
    /// `None` (after saying why) when the test cannot run here; in CI a missing
    /// prerequisite fails instead.
    pub fn new(fs_type: &str, dir: &Path, size_mb: u64) -> Option<Self> {
        let mkfs = format!("mkfs.{fs_type}");
        if !require(
            is_root(),
            &format!("root, to mount a {fs_type} loop device"),
        ) || !require(have(&mkfs), &format!("{mkfs} (see .ci/run)"))
        {
            return None;
        }
        let image = dir.join(format!("{fs_type}.img"));
        let mount = dir.join(format!("{fs_type}-mnt"));
        fs::create_dir_all(&mount).expect("mkdir");
        let f = fs::File::create(&image).expect("image");
        f.set_len(size_mb << 20).expect("size");
        drop(f);
        let quiet: &[&str] = match fs_type {
            "btrfs" => &["-q", "-f"],
            "xfs" => &["-q", "-f"],
            _ => &["-q", "-F"],
        };
        let st = Command::new(&mkfs)
            .args(quiet)
            .arg(&image)
            .status()
            .expect("mkfs");
        assert!(st.success(), "{mkfs} failed");
        let st = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mount)
            .status()
            .expect("mount");
        assert!(st.success(), "mount {fs_type} failed");
        Some(Self { mount, image })
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.mount.join(rel)
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        // Anything still mounted below (a leaked bind mount) first, deepest first.
        let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut below: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|m| Path::new(m).starts_with(&self.mount))
            .collect();
        below.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in below {
            let _ = Command::new("umount").arg(m).status();
        }
        let _ = fs::remove_file(&self.image);
    }
}

/// A tmpfs mounted for a test (root only), unmounted on drop.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// A tmpfs at `path`; `options` like `size=3m` or `size=1m,nr_inodes=64`.
    pub fn mount(path: PathBuf, options: &str) -> Self {
        fs::create_dir_all(&path).expect("mkdir");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount");
        assert!(st.success(), "mount tmpfs");
        Self(path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
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

/// The real `restic` on the repository at `repo`, with this environment's password.
pub fn restic_at(env: &Env, repo: &Path, args: &[&str]) -> Output {
    Command::new("restic")
        .arg("-r")
        .arg(repo)
        .arg("--password-file")
        .arg(env.path("password"))
        .arg("--no-cache")
        .args(args)
        .output()
        .expect("restic")
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
