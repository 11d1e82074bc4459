//! Linux's cgroup freezer: finding a service's or container's cgroup, and holding every
//! process in it still.
//!
//! Two kernels' interfaces, one value ([`Cgroup`]):
//! - **cgroup v2** (the main path): write `1` to `cgroup.freeze`, then wait until
//!   `cgroup.events` says `frozen 1`: only then is every process stopped. `0` thaws.
//! - **cgroup v1**'s `freezer` controller, where only that exists: write `FROZEN` to
//!   `freezer.state` and wait until it reads `FROZEN` (it says `FREEZING` meanwhile).
//!
//! A frozen process makes no writes and notices nothing: it goes on exactly where it was
//! when thawed. A process in uninterruptible sleep (waiting on a disk or a frozen
//! filesystem) cannot be frozen until it wakes, so the freeze waits for it, boundedly.
//!
//! Where the hierarchies are mounted is read from `/proc/self/mountinfo`, never assumed:
//! a pure v2 system has it at `/sys/fs/cgroup`, a hybrid one at `/sys/fs/cgroup/unified`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Result, UmbraError};

/// Which freezer interface a cgroup is frozen through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Version {
    V1,
    V2,
}

/// One cgroup that can be frozen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cgroup {
    /// Its directory in the mounted hierarchy.
    pub dir: PathBuf,
    pub version: Version,
}

/// The mount points of the v2 hierarchy and of v1's freezer controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    pub v2: Option<PathBuf>,
    pub v1_freezer: Option<PathBuf>,
}

impl Hierarchies {
    /// Reads them from `/proc/self/mountinfo`.
    pub fn of_this_system() -> Result<Self> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| UmbraError::io("cannot read", Path::new("/proc/self/mountinfo"), e))?;
        Ok(Self::parse(&text))
    }

    /// `mountinfo` lines: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`.
    fn parse(mountinfo: &str) -> Self {
        let mut found = Self::default();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount_point) = left.split_whitespace().nth(4) else {
                continue;
            };
            let mut rest = right.split_whitespace();
            let (fs_type, _source, options) = (rest.next(), rest.next(), rest.next());
            let mount_point = PathBuf::from(unescape(mount_point));
            match fs_type {
                Some("cgroup2") if found.v2.is_none() => found.v2 = Some(mount_point),
                Some("cgroup")
                    if found.v1_freezer.is_none()
                        && options.is_some_and(|o| o.split(',').any(|x| x == "freezer")) =>
                {
                    found.v1_freezer = Some(mount_point);
                }
                _ => {}
            }
        }
        found
    }

    /// The cgroup a process is in, from its `/proc/PID/cgroup` text: the v2 one where the
    /// v2 hierarchy is mounted, else the v1 freezer's.
    pub fn of_process_text(&self, proc_cgroup: &str) -> Option<Cgroup> {
        let mut v1 = None;
        for line in proc_cgroup.lines() {
            let mut parts = line.splitn(3, ':');
            let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let rel = path.trim_start_matches('/');
            if id == "0" && controllers.is_empty() {
                if let Some(root) = &self.v2 {
                    return Some(Cgroup {
                        dir: root.join(rel),
                        version: Version::V2,
                    });
                }
            } else if controllers.split(',').any(|c| c == "freezer") {
                if let Some(root) = &self.v1_freezer {
                    v1 = Some(Cgroup {
                        dir: root.join(rel),
                        version: Version::V1,
                    });
                }
            }
        }
        v1
    }

    /// The cgroup of process `pid`.
    pub fn of_process(&self, pid: u32) -> Result<Cgroup> {
        let path = PathBuf::from(format!("/proc/{pid}/cgroup"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| UmbraError::io("cannot read", &path, e))?;
        self.of_process_text(&text).ok_or_else(|| {
            UmbraError::new(
                ErrorKind::Config,
                format!("process {pid} is in no cgroup that can be frozen"),
            )
            .with_hint("umbra freezes through cgroup v2 (`cgroup.freeze`) or cgroup v1's `freezer` controller; mount one of them.")
        })
    }

    /// A cgroup named by the job file's `cgroup` key: a directory of a mounted hierarchy,
    /// or a path relative to the v2 root (`/system.slice/nginx.service`).
    pub fn named(&self, path: &Path) -> Result<Cgroup> {
        let candidates = [
            self.v2.as_ref().map(|r| (r, Version::V2)),
            self.v1_freezer.as_ref().map(|r| (r, Version::V1)),
        ];
        for (root, version) in candidates.into_iter().flatten() {
            let dir = if path.starts_with(root) {
                path.to_path_buf()
            } else {
                root.join(path.strip_prefix("/").unwrap_or(path))
            };
            if dir.join(control_file(version)).is_file() {
                return Ok(Cgroup { dir, version });
            }
        }
        Err(UmbraError::new(
            ErrorKind::Config,
            format!("{} is not a cgroup that can be frozen", path.display()),
        )
        .with_hint("Name a cgroup directory that has `cgroup.freeze` (v2) or `freezer.state` (v1), for example /sys/fs/cgroup/system.slice/app.service, or name the service with `unit`."))
    }
}

fn control_file(version: Version) -> &'static str {
    match version {
        Version::V2 => "cgroup.freeze",
        Version::V1 => "freezer.state",
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            if let Ok(n) = u8::from_str_radix(&code, 8) {
                out.push(char::from(n));
                continue;
            }
            out.push(c);
            out.push_str(&code);
        } else {
            out.push(c);
        }
    }
    out
}

/// A systemd unit's cgroup, from `systemctl show -p ControlGroup --value UNIT`
/// (`/system.slice/nginx.service`; empty when the unit is not running).
pub fn unit_cgroup_path(unit: &str, systemctl_output: &str) -> Result<PathBuf> {
    let path = systemctl_output.trim();
    if path.is_empty() || !path.starts_with('/') {
        return Err(UmbraError::new(
            ErrorKind::JobFailed,
            format!("the unit {unit} has no cgroup: it is not running"),
        )
        .with_hint("Start the unit, or remove it from the quiescer's `unit` list."));
    }
    Ok(PathBuf::from(path))
}

/// A container's main process, from `docker|podman inspect --format {{.State.Pid}} NAME`
/// (0 when the container is not running).
pub fn container_pid(name: &str, inspect_output: &str) -> Result<u32> {
    match inspect_output.trim().parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(UmbraError::new(
            ErrorKind::JobFailed,
            format!(
                "the container {name} is not running (inspect said `{}`)",
                inspect_output.trim()
            ),
        )
        .with_hint("Start the container, or remove it from the quiescer's `container` list.")),
    }
}

impl Cgroup {
    /// Whether `self` is `other` or one of its ancestors (freezing it would freeze `other`).
    #[must_use]
    pub fn contains(&self, other: &Self) -> bool {
        self.version == other.version && other.dir.starts_with(&self.dir)
    }

    fn write(&self, file: &str, value: &str) -> std::io::Result<()> {
        std::fs::write(self.dir.join(file), value)
    }

    /// Asks the kernel to freeze every process in the cgroup (returns at once).
    pub fn start_freeze(&self) -> Result<()> {
        let (file, value) = match self.version {
            Version::V2 => ("cgroup.freeze", "1"),
            Version::V1 => ("freezer.state", "FROZEN"),
        };
        self.write(file, value)
            .map_err(|e| UmbraError::io("cannot freeze", &self.dir.join(file), e))
    }

    /// Whether every process in the cgroup is frozen now.
    pub fn is_frozen(&self) -> Result<bool> {
        let file = match self.version {
            Version::V2 => "cgroup.events",
            Version::V1 => "freezer.state",
        };
        let text = std::fs::read_to_string(self.dir.join(file))
            .map_err(|e| UmbraError::io("cannot read", &self.dir.join(file), e))?;
        Ok(match self.version {
            Version::V2 => text.lines().any(|l| l.trim() == "frozen 1"),
            Version::V1 => text.trim() == "FROZEN",
        })
    }

    /// Freezes the cgroup and waits until it is frozen, at most until `deadline`.
    pub fn freeze(&self, deadline: Instant) -> Result<()> {
        self.start_freeze()?;
        loop {
            if self.is_frozen()? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(UmbraError::new(
                    ErrorKind::JobFailed,
                    format!(
                        "{} did not freeze in time: a process in it is in uninterruptible sleep (waiting on a disk or a frozen filesystem)",
                        self.dir.display()
                    ),
                )
                .with_hint("Find it with `ps -eo pid,stat,wchan,cmd | grep ' D'`; raise `freeze_timeout` if the wait is expected."));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Lets every process in the cgroup go on. Idempotent; a cgroup that is gone (its
    /// service stopped) has nothing left to thaw.
    pub fn thaw(&self) -> Result<()> {
        let (file, value) = match self.version {
            Version::V2 => ("cgroup.freeze", "0"),
            Version::V1 => ("freezer.state", "THAWED"),
        };
        match self.write(file, value) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(UmbraError::io("cannot thaw", &self.dir.join(file), e)),
        }
    }

    /// The control file whose write thaws the cgroup, and the value to write (for the
    /// guardian, which may not allocate).
    #[must_use]
    pub fn thaw_write(&self) -> (PathBuf, &'static str) {
        match self.version {
            Version::V2 => (self.dir.join("cgroup.freeze"), "0"),
            Version::V1 => (self.dir.join("freezer.state"), "THAWED"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";

    #[test]
    fn hierarchies_are_found_where_they_are_mounted() {
        let h = Hierarchies::parse(HYBRID);
        assert_eq!(h.v2.as_deref(), Some(Path::new("/sys/fs/cgroup/unified")));
        assert_eq!(
            h.v1_freezer.as_deref(),
            Some(Path::new("/sys/fs/cgroup/freezer"))
        );
        let pure = Hierarchies::parse("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert_eq!(pure.v2.as_deref(), Some(Path::new("/sys/fs/cgroup")));
        assert_eq!(pure.v1_freezer, None);
    }

    #[test]
    fn a_process_cgroup_prefers_v2_and_falls_back_to_the_v1_freezer() {
        let h = Hierarchies::parse(HYBRID);
        let text = "6:freezer:/docker/abc\n0::/system.slice/docker-abc.scope\n";
        assert_eq!(
            h.of_process_text(text),
            Some(Cgroup {
                dir: PathBuf::from("/sys/fs/cgroup/unified/system.slice/docker-abc.scope"),
                version: Version::V2
            })
        );
        let v1_only = Hierarchies { v2: None, ..h };
        assert_eq!(
            v1_only.of_process_text(text),
            Some(Cgroup {
                dir: PathBuf::from("/sys/fs/cgroup/freezer/docker/abc"),
                version: Version::V1
            })
        );
    }

    #[test]
    fn units_and_containers_are_read_from_their_tools_documented_output() {
        // `systemctl show -p ControlGroup --value nginx.service`
        assert_eq!(
            unit_cgroup_path("nginx.service", "/system.slice/nginx.service\n").ok(),
            Some(PathBuf::from("/system.slice/nginx.service"))
        );
        let stopped = unit_cgroup_path("nginx.service", "\n").expect_err("not running");
        assert!(stopped.message().contains("not running"));
        // `docker inspect --format '{{.State.Pid}}' web`
        assert_eq!(container_pid("web", "4242\n").ok(), Some(4242));
        assert!(container_pid("web", "0\n").is_err());
    }

    #[test]
    fn an_ancestor_contains_its_descendants_and_itself() {
        let at = |p: &str| Cgroup {
            dir: PathBuf::from(p),
            version: Version::V2,
        };
        assert!(at("/cg/a").contains(&at("/cg/a/b")));
        assert!(at("/cg/a").contains(&at("/cg/a")));
        assert!(!at("/cg/a/b").contains(&at("/cg/a")));
        assert!(!at("/cg/ab").contains(&at("/cg/a")));
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape("/mnt/with\\040space"), "/mnt/with space");
    }
}
