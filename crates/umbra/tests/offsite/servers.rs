//! The servers the off-site tests run: moto's S3 server and OpenSSH's sshd (as a user of
//! its own), each on a free port of 127.0.0.1 and gone when dropped, and the environment a
//! command needs to reach them.

// Each test binary that includes this uses a part of it.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{have, is_root, require};

pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while !crate::common::listening(port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The environment a command needs to reach a store (credentials, the ssh wrapper).
pub type StoreEnv = Vec<(String, String)>;

/// moto's S3 server on a free port, with one bucket; stopped on drop.
pub struct S3Server {
    child: Child,
    pub port: u16,
    /// The access key pair that works (moto takes any, unless started with auth).
    pub keys: (String, String),
}

impl S3Server {
    pub fn start(auth: bool) -> Option<Self> {
        if !require(
            have("moto_server"),
            "moto's S3 server (`pip install 'moto[server]'`; see .ci/run)",
        ) {
            return None;
        }
        let port = unused_port();
        let mut cmd = Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if auth {
            // The first 3 requests may come unsigned: they create the user and its key.
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "3");
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server");
        wait_for_port(port, "moto_server");
        let mut server = Self {
            child,
            port,
            keys: ("umbra-test-key".into(), "umbra-test-secret".into()),
        };
        if auth {
            server.keys = server.python(
                "import boto3, json\n\
                 iam = boto3.client('iam', **kw)\n\
                 iam.create_user(UserName='u')\n\
                 iam.put_user_policy(UserName='u', PolicyName='all', PolicyDocument=json.dumps(\
                 {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))\n\
                 k = iam.create_access_key(UserName='u')['AccessKey']\n\
                 print(k['AccessKeyId'], k['SecretAccessKey'])\n",
            );
        }
        server.python(
            "import boto3\nboto3.client('s3', **kw).create_bucket(Bucket='umbra-bucket')\n",
        );
        Some(server)
    }

    /// Runs a boto3 snippet against the server (`kw` holds the endpoint and the keys);
    /// returns the two words it prints, if any.
    pub fn python(&self, code: &str) -> (String, String) {
        let prelude = format!(
            "kw = dict(endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', \
             aws_access_key_id='{}', aws_secret_access_key='{}')\n",
            self.port, self.keys.0, self.keys.1
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(format!("{prelude}{code}"))
            .output()
            .expect("python3");
        assert!(out.status.success(), "boto3: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut words = said.split_whitespace().map(str::to_string);
        (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        )
    }

    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        format!("s3:http://127.0.0.1:{}/{bucket}/{prefix}", self.port)
    }

    pub fn env(&self) -> StoreEnv {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), self.keys.0.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.keys.1.clone()),
        ]
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The unprivileged user the test's sshd runs as (and the only one it lets in).
pub const SFTP_USER: &str = "umbra-sftp";

/// OpenSSH's sshd on a free port, running as [`SFTP_USER`], serving the repository
/// directory below `dir`; the client side is an `ssh` wrapper (first on PATH) that reads
/// the test's own config, so that umbra and restic both use the system's ssh as they
/// would with `~/.ssh/config`.
pub struct SftpServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl SftpServer {
    pub fn start() -> Option<Self> {
        if !require(is_root(), "root (to run sshd as a user of its own)")
            || !require(
                Path::new("/usr/sbin/sshd").exists(),
                "OpenSSH's sshd (Debian's openssh-server; see .ci/run)",
            )
        {
            return None;
        }
        let exists = Command::new("id")
            .arg(SFTP_USER)
            .output()
            .is_ok_and(|o| o.status.success());
        if !exists {
            let out = Command::new("useradd")
                .args(["--system", "--create-home", "--home-dir"])
                .arg(format!("/var/lib/{SFTP_USER}"))
                .args(["--shell", "/bin/sh", SFTP_USER])
                .output()
                .expect("useradd");
            // Another test may have made it at the same moment.
            let made = Command::new("id")
                .arg(SFTP_USER)
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(made, "useradd: {}", text(&out));
        }
        // The server's files live outside the test's private directory, which the server's
        // user could not enter.
        let dir = tempfile::Builder::new()
            .prefix("umbra-sftp-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all(d.join("srv")).expect("mkdir");
        fs::create_dir_all(d.join("bin")).expect("mkdir");
        fs::create_dir_all(d.join("run")).expect("mkdir");
        for key in ["hostkey", "clientkey"] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .output()
                .expect("ssh-keygen");
            assert!(out.status.success(), "{}", text(&out));
        }
        fs::copy(d.join("clientkey.pub"), d.join("authorized_keys")).expect("copy");
        let port = unused_port();
        fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nPidFile {d}/run/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nSubsystem sftp internal-sftp\n",
                d = d.display()
            ),
        )
        .expect("sshd_config");
        let hostkey = fs::read_to_string(d.join("hostkey.pub")).expect("host key");
        fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {hostkey}"),
        )
        .expect("known_hosts");
        fs::write(
            d.join("ssh_config"),
            format!(
                "Host sftp-test\n  HostName 127.0.0.1\n  Port {port}\n  User {SFTP_USER}\n\
                 Host *\n  IdentityFile {d}/clientkey\n  IdentitiesOnly yes\n\
                 UserKnownHostsFile {d}/known_hosts\n  BatchMode yes\n",
                d = d.display()
            ),
        )
        .expect("ssh_config");
        let wrapper = d.join("bin/ssh");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
                d.join("ssh_config").display()
            ),
        )
        .expect("wrapper");
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod");
        let owned = Command::new("chown")
            .args(["-R", SFTP_USER])
            .arg(d.join("srv"))
            .arg(d.join("run"))
            .arg(d.join("hostkey"))
            .arg(d.join("authorized_keys"))
            .status()
            .expect("chown");
        assert!(owned.success());
        let child = Self::spawn(d);
        wait_for_port(port, "sshd");
        Some(Self { dir, port, child })
    }

    fn spawn(d: &Path) -> Child {
        Command::new("setpriv")
            .args(["--reuid", SFTP_USER, "--regid", SFTP_USER, "--clear-groups"])
            .arg("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("run/sshd.log"))
            .process_group(0)
            .spawn()
            .expect("sshd")
    }

    /// Kills sshd and every session it serves (each session is a process of its own
    /// session, so the whole tree below the listener is found through /proc).
    pub fn kill(&mut self) {
        let mut doomed = vec![self.child.id()];
        let mut i = 0;
        while i < doomed.len() {
            let parent = doomed[i];
            for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                // The parent is the second field after the command's closing parenthesis.
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid == Some(parent) && !doomed.contains(&pid) {
                    doomed.push(pid);
                }
            }
            i += 1;
        }
        for pid in doomed {
            // SAFETY: signalling the test's own sshd and its sessions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.child = Self::spawn(self.dir.path());
        wait_for_port(self.port, "sshd");
    }

    /// `sftp:sftp-test:/…/srv/NAME`, through the ssh config's host alias.
    pub fn url(&self, name: &str) -> String {
        format!(
            "sftp:sftp-test:{}",
            self.dir.path().join("srv").join(name).display()
        )
    }

    pub fn env(&self) -> StoreEnv {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![("PATH".into(), path)]
    }
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        // SAFETY: signalling our own child's process group.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Sets a store's environment on a command; an empty value removes the variable.
pub fn with_store<'a>(cmd: &'a mut Command, store: &StoreEnv) -> &'a mut Command {
    for (k, v) in store {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd
}
