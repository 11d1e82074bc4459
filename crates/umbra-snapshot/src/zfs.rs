//! ZFS: `zfs snapshot` of the dataset that holds the source, recursive when the source
//! holds child datasets, mounted read-only for reading.
//!
//! - A recursive snapshot (`zfs snapshot -r`) is atomic across the dataset and all its
//!   children. Each child's snapshot is mounted at its place inside the parent's, so the
//!   reader sees one tree, as with nested btrfs subvolumes.
//! - Snapshots are mounted with `mount -t zfs -o ro dataset@name DIR` under
//!   `/run/umbra/mnt/`, rather than read through `.zfs/snapshot/`, which a dataset may hide
//!   (`snapdir=hidden` only hides listing) or a child dataset's mount may shadow.
//! - Snapshots are named `umbra-<time>-<pid>`; release refuses any other name.
//!
//! Needs root and zfsutils. CI's kernel has no ZFS, so the tests run inside a VM.

use std::path::{Path, PathBuf};

use umbra_core::{ConsistencyLevel, ErrorKind, Method, Result, UmbraError};

use crate::lvm::{mount_dir, release_mount_dir};
use crate::provider::{run, run_tag, Prepared, Presented, Provider, Recorder, SourceInfo, Support};
use crate::registry::Artifact;

const SNAPSHOT_KIND: &str = "zfs-snapshot";
const RECURSIVE_KIND: &str = "zfs-snapshot-recursive";
const MOUNT_KIND: &str = "mount";

pub struct Zfs;

/// A dataset and where it is mounted, from `zfs list -H -o name,mountpoint -r DATASET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub name: String,
    pub mountpoint: Option<PathBuf>,
}

/// Parses `zfs list -H -o name,mountpoint` output (tab separated).
#[must_use]
pub fn parse_list(text: &str) -> Vec<Dataset> {
    text.lines()
        .filter_map(|l| {
            let (name, mp) = l.split_once('\t')?;
            let mountpoint = (mp.starts_with('/')).then(|| PathBuf::from(mp));
            Some(Dataset {
                name: name.to_string(),
                mountpoint,
            })
        })
        .collect()
}

/// The children of `root` (a dataset mounted at `root_mount`) that are mounted below
/// `source`, with their path relative to `root_mount`, shallowest first.
#[must_use]
pub fn children_below(
    datasets: &[Dataset],
    root: &str,
    root_mount: &Path,
    source: &Path,
) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = datasets
        .iter()
        .filter(|d| d.name != root && d.name.starts_with(&format!("{root}/")))
        .filter_map(|d| {
            let mp = d.mountpoint.as_ref()?;
            (mp.starts_with(source) && mp != source).then(|| {
                (
                    d.name.clone(),
                    mp.strip_prefix(root_mount).unwrap_or(mp).to_path_buf(),
                )
            })
        })
        .collect();
    out.sort_by_key(|(_, rel)| rel.components().count());
    out
}

struct Plan {
    dataset: String,
    children: Vec<(String, PathBuf)>,
    inside: PathBuf,
}

impl Provider for Zfs {
    fn method(&self) -> Method {
        Method::Zfs
    }

    fn supports(&self, source: &SourceInfo) -> Support {
        if source.mount.fs_type != "zfs" {
            return Support::No(format!(
                "{} is on {}, not ZFS",
                source.path.display(),
                source.mount.fs_type
            ));
        }
        if !source.root {
            return Support::No(
                "ZFS snapshots need root (or `zfs allow snapshot,mount,destroy`)".into(),
            );
        }
        Support::Yes
    }

    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>> {
        let dataset = source.mount.source.clone();
        let list = run(
            "zfs",
            &["list", "-H", "-o", "name,mountpoint", "-r", &dataset],
        )?;
        let children = children_below(
            &parse_list(&list),
            &dataset,
            &source.mount.mount_point,
            &source.real_path,
        );
        let inside = source
            .real_path
            .strip_prefix(&source.mount.mount_point)
            .unwrap_or(Path::new(""))
            .to_path_buf();
        Ok(Box::new(Plan {
            dataset,
            children,
            inside,
        }))
    }

    fn still_present(&self, artifact: &Artifact) -> bool {
        if artifact.kind == SNAPSHOT_KIND || artifact.kind == RECURSIVE_KIND {
            return snapshot_exists(&artifact.target);
        }
        crate::provider::path_present(artifact)
    }

    fn release(&self, artifact: &Artifact) -> Result<()> {
        let ours = artifact
            .target
            .split_once('@')
            .is_some_and(|(_, s)| s.starts_with("umbra-"));
        match artifact.kind.as_str() {
            SNAPSHOT_KIND | RECURSIVE_KIND if ours => {
                if !snapshot_exists(&artifact.target) {
                    return Ok(());
                }
                // Its mounts (and its children's: `pool/fs/child@umbra-…`) go first.
                let suffix = artifact
                    .target
                    .split_once('@')
                    .map(|(_, s)| format!("@{s}"))
                    .unwrap_or_default();
                crate::unmount_sources(|source| source.ends_with(&suffix))?;
                let mut args = vec!["destroy"];
                if artifact.kind == RECURSIVE_KIND {
                    args.push("-r");
                }
                args.push(&artifact.target);
                run("zfs", &args).map(|_| ())
            }
            MOUNT_KIND => match release_mount_dir(Path::new(&artifact.target)) {
                Ok(r) => r,
                // A child's mount lies inside the parent's mount directory.
                Err(()) if artifact.target.starts_with(crate::lvm::MOUNT_BASE) => {
                    crate::unmount(Path::new(&artifact.target))
                }
                Err(()) => Err(refuse(artifact)),
            },
            _ => Err(refuse(artifact)),
        }
    }
}

/// Whether the ZFS snapshot `name` (`pool/fs@snap`) exists.
fn snapshot_exists(name: &str) -> bool {
    run("zfs", &["list", "-H", "-t", "snapshot", "-o", "name", name]).is_ok()
}

fn refuse(artifact: &Artifact) -> UmbraError {
    UmbraError::new(
        ErrorKind::Internal,
        format!("refusing to release {artifact}: not something the zfs method creates"),
    )
}

impl Prepared for Plan {
    fn take(self: Box<Self>, rec: &mut Recorder<'_>) -> Result<Presented> {
        let name = format!("umbra-{}", run_tag());
        let snapshot = format!("{}@{name}", self.dataset);
        let recursive = !self.children.is_empty();
        rec.record(Artifact::new(
            if recursive {
                RECURSIVE_KIND
            } else {
                SNAPSHOT_KIND
            },
            snapshot.clone(),
        ))?;
        if recursive {
            run("zfs", &["snapshot", "-r", &snapshot])?;
        } else {
            run("zfs", &["snapshot", &snapshot])?;
        }
        let dir = mount_dir(rec, &name)?;
        run(
            "mount",
            &["-t", "zfs", "-o", "ro", &snapshot, &dir.to_string_lossy()],
        )?;
        for (child, rel) in &self.children {
            let target = dir.join(rel);
            rec.record(Artifact::path(MOUNT_KIND, &target))?;
            run(
                "mount",
                &[
                    "-t",
                    "zfs",
                    "-o",
                    "ro",
                    &format!("{child}@{name}"),
                    &target.to_string_lossy(),
                ],
            )?;
        }
        Ok(Presented {
            read_from: dir.join(&self.inside),
            level: ConsistencyLevel::VolumeSnapshot,
            identity_from: None,
            clone_on_read: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded in the test VM (zfs 2.1, Debian 12) by tests/vm/zfs.sh with
    /// `zfs list -H -o name,mountpoint -r tpool`.
    const RECORDED: &str = "tpool\t/tmp/zroot/tpool\ntpool/fs\t/tmp/zroot/tpool/fs\ntpool/fs/child\t/tmp/zroot/tpool/fs/child\ntpool/fs/child/grand\t/tmp/zroot/tpool/fs/child/grand\n";

    #[test]
    fn parses_recorded_zfs_list() {
        let l = parse_list(RECORDED);
        assert_eq!(l.len(), 4);
        assert_eq!(l[2].name, "tpool/fs/child");
        assert_eq!(
            l[2].mountpoint.as_deref(),
            Some(Path::new("/tmp/zroot/tpool/fs/child"))
        );
        // Constructed, not recorded: `legacy` and `-` mountpoints are not paths.
        let odd = parse_list("tpool/legacy\tlegacy\ntpool/vol\t-\n");
        assert_eq!(
            odd.iter().map(|d| d.mountpoint.clone()).collect::<Vec<_>>(),
            vec![None, None]
        );
    }

    #[test]
    fn children_below_the_source_are_found_shallowest_first() {
        let l = parse_list(RECORDED);
        let root = Path::new("/tmp/zroot/tpool/fs");
        let c = children_below(&l, "tpool/fs", root, root);
        assert_eq!(
            c,
            vec![
                ("tpool/fs/child".to_string(), PathBuf::from("child")),
                (
                    "tpool/fs/child/grand".to_string(),
                    PathBuf::from("child/grand")
                ),
            ]
        );
        // A source deeper in the tree only gets the children below it.
        let c = children_below(&l, "tpool/fs", root, &root.join("child/grand"));
        assert!(c.is_empty());
    }

    #[test]
    fn release_refuses_foreign_snapshots() {
        assert!(Zfs
            .release(&Artifact::new(SNAPSHOT_KIND, "tpool/fs@daily"))
            .is_err());
        assert!(Zfs.release(&Artifact::new(MOUNT_KIND, "/mnt/x")).is_err());
    }
}
