//! Choosing a snapshot method for each source, and saying why.
//!
//! Automatic choice, from the filesystem that holds the source:
//! btrfs → btrfs (root) or reflink; a device-mapper volume → LVM (then reflink on xfs);
//! zfs → ZFS; xfs → reflink; anything else → direct.
//! `--open-files required` turns "no method" into an error before anything is read;
//! `--open-files off` reads directly; `--snapshot METHOD` insists on one method.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use umbra_core::{ErrorKind, Method, Result, UmbraError};

use crate::mounts::MountTable;
use crate::provider::{Provider, SourceInfo, Support};
#[cfg(unix)]
use crate::{btrfs::Btrfs, reflink::Reflink};
use crate::{direct::Direct, lvm::Lvm, zfs::Zfs};

/// What to do about files in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenFiles {
    /// Use the best snapshot method available; read directly if there is none.
    #[default]
    Auto,
    /// Fail before reading anything if a source cannot be snapshotted.
    Required,
    /// Read directly (with change detection).
    Off,
}

/// The method chosen for one source.
#[derive(Clone)]
pub struct SourceChoice {
    pub info: SourceInfo,
    pub method: Method,
    pub provider: Arc<dyn Provider>,
    /// Why this method, in words for `umbra sources` and `--dry-run`.
    pub reason: String,
}

pub struct Planner {
    providers: Vec<Arc<dyn Provider>>,
    mounts: MountTable,
    root: bool,
}

impl Planner {
    pub fn new() -> Result<Self> {
        Self::with_lvm(Lvm::default())
    }

    /// A planner whose LVM provider sizes classic snapshots as `lvm` says.
    pub fn with_lvm(lvm: Lvm) -> Result<Self> {
        Ok(Self {
            providers: vec![
                #[cfg(unix)]
                Arc::new(Btrfs),
                Arc::new(lvm),
                Arc::new(Zfs),
                #[cfg(unix)]
                Arc::new(Reflink),
                #[cfg(windows)]
                Arc::new(crate::vss::Vss::system()),
                Arc::new(Direct),
            ],
            mounts: MountTable::read()?,
            root: umbra_core::os::is_privileged(),
        })
    }

    #[must_use]
    pub fn provider(&self, method: Method) -> Option<Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|p| p.method() == method)
            .cloned()
    }

    fn info(&self, path: &Path) -> Result<SourceInfo> {
        let real_path = std::fs::canonicalize(path)
            .map(without_verbatim_prefix)
            .map_err(|e| {
                UmbraError::new(
                    ErrorKind::SourceUnreadable,
                    format!("cannot back up {}: {e}", path.display()),
                )
            })?;
        let mount = self.mounts.containing(&real_path).cloned();
        // Windows: a network share (`\\server\share`) has no drive letter of its own.
        let mount = mount.or_else(|| crate::mounts::Mount::network_share(&real_path));
        let mount = mount.ok_or_else(|| {
            UmbraError::new(
                ErrorKind::Internal,
                format!("no mount holds {}", real_path.display()),
            )
        })?;
        Ok(SourceInfo {
            path: path.to_path_buf(),
            real_path,
            mount,
            root: self.root,
            capture_at_once: false,
        })
    }

    /// The methods worth trying for a source, best first, from its filesystem.
    fn candidates(info: &SourceInfo) -> Vec<Method> {
        let mut m = match info.mount.fs_type.as_str() {
            "btrfs" => vec![Method::Btrfs],
            "zfs" => vec![Method::Zfs],
            "NTFS" | "ReFS" if cfg!(windows) => vec![Method::Vss],
            _ => vec![],
        };
        if info.mount.is_device_mapper() {
            m.push(Method::Lvm);
        }
        if ["xfs", "btrfs"].contains(&info.mount.fs_type.as_str()) {
            m.push(Method::Reflink);
        }
        m
    }

    fn choice(&self, info: SourceInfo, method: Method, reason: String) -> Result<SourceChoice> {
        let provider = self.provider(method).ok_or_else(|| {
            UmbraError::new(ErrorKind::Internal, format!("no provider for {method}"))
        })?;
        Ok(SourceChoice {
            info,
            method,
            provider,
            reason,
        })
    }

    /// Chooses the method for `path` (absolute, as the user named it).
    pub fn choose(
        &self,
        path: &Path,
        policy: OpenFiles,
        forced: Option<Method>,
    ) -> Result<SourceChoice> {
        let info = self.info(path)?;
        let fs = format!(
            "{} on {}",
            info.mount.fs_type,
            info.mount.mount_point.display()
        );
        if policy == OpenFiles::Off {
            return self.choice(
                info,
                Method::Direct,
                "--open-files off: read in place, with change detection".into(),
            );
        }
        if let Some(method) = forced {
            let provider = self.provider(method).ok_or_else(|| {
                UmbraError::new(
                    ErrorKind::Internal,
                    format!("no provider for the {method} method"),
                )
            })?;
            return match provider.supports(&info) {
                Support::Yes => self.choice(info, method, format!("--snapshot {method}")),
                Support::No(why) => Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "cannot use --snapshot {method} for {}: {why}",
                        path.display()
                    ),
                )
                .with_hint(alternatives(method, info.root))),
            };
        }
        let mut why_not = Vec::new();
        for method in Self::candidates(&info) {
            if let Some(p) = self.provider(method) {
                match p.supports(&info) {
                    Support::Yes => return self.choice(info, method, fs.clone()),
                    Support::No(why) => why_not.push(format!("{method}: {why}")),
                }
            }
        }
        if why_not.is_empty() {
            why_not.push(format!("{} offers no snapshots", info.mount.fs_type));
        }
        if policy == OpenFiles::Required {
            return Err(UmbraError::new(
                ErrorKind::SourceUnreadable,
                format!(
                    "no snapshot can be taken of {} ({fs}): {}",
                    path.display(),
                    why_not.join("; ")
                ),
            )
            .with_hint(if cfg!(windows) {
                "Run umbra elevated (as administrator) on an NTFS or ReFS volume for Volume \
                 Shadow Copy, or allow direct reads with --open-files auto. Nothing was read or \
                 written."
            } else if info.root {
                "Put the data on a filesystem with snapshots (btrfs, LVM, ZFS) or reflinks \
                 (xfs, btrfs), or allow direct reads with --open-files auto. Nothing was read or \
                 written."
            } else {
                "Run as root for btrfs snapshots, use a filesystem with reflinks (xfs, btrfs), \
                 or allow direct reads with --open-files auto. Nothing was read or written."
            }));
        }
        self.choice(
            info,
            Method::Direct,
            format!(
                "no snapshot possible ({}): read in place, with change detection",
                why_not.join("; ")
            ),
        )
    }

    /// A plan for several sources; fails on the first source that cannot be planned.
    pub fn choose_all(
        &self,
        paths: &[PathBuf],
        policy: OpenFiles,
        forced: Option<Method>,
    ) -> Result<Vec<SourceChoice>> {
        paths
            .iter()
            .map(|p| self.choose(p, policy, forced))
            .collect()
    }
}

/// Windows' `canonicalize` answers in verbatim form (`\\?\C:\data`,
/// `\\?\UNC\server\share`); the mount table and the user speak `C:\data` and
/// `\\server\share`. Unix paths pass unchanged.
fn without_verbatim_prefix(path: PathBuf) -> PathBuf {
    let text = path.to_string_lossy().into_owned();
    if let Some(unc) = text.strip_prefix(r"\\?\UNC\") {
        return PathBuf::from(format!(r"\\{unc}"));
    }
    match text.strip_prefix(r"\\?\") {
        Some(disk) if disk.as_bytes().get(1) == Some(&b':') => PathBuf::from(disk),
        _ => path,
    }
}

fn alternatives(method: Method, root: bool) -> String {
    if cfg!(windows) {
        let mut alts = vec!["--open-files off (direct reads)"];
        if !root {
            alts.insert(0, "running umbra elevated (as administrator)");
        }
        return format!("Alternatives: {}.", alts.join(", "));
    }
    let mut alts = vec![
        "--snapshot reflink (on xfs or btrfs)",
        "--open-files off (direct reads)",
    ];
    if method == Method::Btrfs && !root {
        alts.insert(0, "running umbra as root");
    }
    format!("Alternatives: {}.", alts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::without_verbatim_prefix;
    use std::path::PathBuf;

    #[test]
    fn verbatim_windows_paths_become_the_ones_users_write() {
        let p = |s: &str| without_verbatim_prefix(PathBuf::from(s));
        assert_eq!(p(r"\\?\C:\data\db"), PathBuf::from(r"C:\data\db"));
        assert_eq!(
            p(r"\\?\UNC\server\share\x"),
            PathBuf::from(r"\\server\share\x")
        );
        assert_eq!(
            p(r"\\?\GLOBALROOT\Device\X"),
            PathBuf::from(r"\\?\GLOBALROOT\Device\X")
        );
        assert_eq!(p("/srv/data"), PathBuf::from("/srv/data"));
    }
}
