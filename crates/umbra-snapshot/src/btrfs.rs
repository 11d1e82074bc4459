//! btrfs: a read-only snapshot of the subvolume that holds the source.
//!
//! - The subvolume is found by walking up from the source while the device number stays
//!   the same (every btrfs subvolume has its own); for a plain directory on a btrfs
//!   filesystem it is the top-level subvolume (or whichever subvolume is mounted).
//! - btrfs snapshots do not recurse: a nested subvolume shows up in the snapshot as an
//!   empty directory. So nested subvolumes below the source are found beforehand (in
//!   `prepare`, outside the snapshot set), snapshotted too, and each is bind-mounted
//!   read-only onto its empty directory inside the parent snapshot. The reader then sees
//!   one tree, as it was.
//! - Snapshots live on the same filesystem, in `<mount point>/.umbra-snapshots/`, named
//!   `umbra-<time>-<pid>[-n<k>]`. Release refuses any path not shaped like that.
//! - Taking a snapshot commits the filesystem (a flush of dirty data), which is most of
//!   its cost; `docs/CONSISTENCY.md` has measured times.
//!
//! Needs root: unprivileged users may create snapshots but not delete them (unless the
//! filesystem is mounted with `user_subvol_rm_allowed`), so without root the planner
//! uses reflink clones instead.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use umbra_core::{ConsistencyLevel, ErrorKind, Method, Result, UmbraError};

use crate::mounts::{Mount, MountTable};
use crate::provider::{
    named_by_umbra, run, run_tag, Prepared, Presented, Provider, Recorder, SourceInfo, Support,
};
use crate::registry::Artifact;

/// The directory, at the filesystem's mount point, that holds umbra's snapshots.
pub const SNAPSHOT_DIR: &str = ".umbra-snapshots";
const SNAPSHOT_KIND: &str = "btrfs-snapshot";
const MOUNT_KIND: &str = "mount";
/// Inode number of the root directory of every btrfs subvolume.
const SUBVOLUME_ROOT_INODE: u64 = 256;

pub struct Btrfs;

struct Plan {
    subvolume: PathBuf,
    /// Nested subvolumes, relative to `subvolume`, parents before children.
    nested: Vec<PathBuf>,
    snapshot_dir: PathBuf,
    source: PathBuf,
}

fn metadata(path: &Path) -> Result<std::fs::Metadata> {
    std::fs::metadata(path).map_err(|e| UmbraError::io("cannot inspect", path, e))
}

/// The root of the subvolume holding `path`.
fn subvolume_root(path: &Path, mount_point: &Path) -> Result<PathBuf> {
    let start = if metadata(path)?.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(path).to_path_buf()
    };
    let dev = metadata(&start)?.dev();
    let mut cur = start;
    while cur != mount_point {
        let Some(parent) = cur.parent() else { break };
        if metadata(parent)?.dev() != dev {
            break;
        }
        cur = parent.to_path_buf();
    }
    Ok(cur)
}

/// Nested subvolumes below `dir` (inside subvolume `root`), relative to `root`.
fn nested_subvolumes(
    root: &Path,
    dir: &Path,
    mounts: &MountTable,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    let dev = metadata(dir)?.dev();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| UmbraError::io("cannot list", &d, e))?;
        for entry in entries.filter_map(std::result::Result::ok) {
            let Ok(ft) = entry.file_type() else { continue };
            if !ft.is_dir() || entry.file_name() == SNAPSHOT_DIR {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.dev() == dev {
                stack.push(path);
            } else if meta.ino() == SUBVOLUME_ROOT_INODE && !mounts.is_mount_point(&path) {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.push(rel);
                nested_subvolumes(root, &path, mounts, out)?;
            }
        }
    }
    Ok(())
}

/// Nested subvolumes below `dir` (inside subvolume `root`), relative to `root`, as the
/// filesystem lists them: one `btrfs subvolume list -o` per subvolume (its children, named
/// from the top of the filesystem). Walking the source instead stats every directory in it
/// before the snapshot is taken: 0.4 s for 12,800 directories with a cold cache, on the
/// wall clock, and it warms nothing the reader uses (the reader opens the snapshot's
/// inodes). `None` when an answer does not map onto a subvolume root here (a name the
/// listing cannot carry, a subvolume under another filesystem's mount); the caller then
/// walks, which finds the same set.
fn listed_nested(
    root: &Path,
    dir: &Path,
    mount: &Mount,
    mounts: &MountTable,
) -> Option<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut parents = vec![root.to_path_buf()];
    while let Some(parent) = parents.pop() {
        let list = run(
            "btrfs",
            &["subvolume", "list", "-o", &parent.to_string_lossy()],
        )
        .ok()?;
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            // "ID 258 gen 7 top level 257 path @home/a/b/inner"
            let (_, listed) = line.split_once(" path ")?;
            let in_fs = Path::new("/").join(listed);
            let Ok(below_mount) = in_fs.strip_prefix(&mount.root) else {
                continue; // not in the part of the filesystem mounted here
            };
            let local = mount.mount_point.join(below_mount);
            let Ok(inside) = local.strip_prefix(dir) else {
                continue;
            };
            if inside.as_os_str().is_empty()
                || inside.components().any(|c| c.as_os_str() == SNAPSHOT_DIR)
                || mounts.is_mount_point(&local)
            {
                continue;
            }
            // Behind another mount, the path names something else: walk instead.
            let parent_dir = local.parent()?;
            if mounts.containing(parent_dir).map(|m| &m.mount_point) != Some(&mount.mount_point) {
                return None;
            }
            let meta = std::fs::symlink_metadata(&local).ok()?;
            if !meta.is_dir() || meta.ino() != SUBVOLUME_ROOT_INODE {
                return None;
            }
            out.push(local.strip_prefix(root).ok()?.to_path_buf());
            parents.push(local);
        }
    }
    Some(out)
}

impl Provider for Btrfs {
    fn method(&self) -> Method {
        Method::Btrfs
    }

    fn supports(&self, source: &SourceInfo) -> Support {
        if source.mount.fs_type != "btrfs" {
            return Support::No(format!(
                "{} is on {}, not btrfs",
                source.path.display(),
                source.mount.fs_type
            ));
        }
        if source.mount.read_only() {
            return Support::No(
                "the filesystem is mounted read-only; it cannot hold a snapshot".into(),
            );
        }
        if !source.root {
            return Support::No("creating and removing btrfs snapshots needs root".into());
        }
        Support::Yes
    }

    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>> {
        let subvolume = subvolume_root(&source.real_path, &source.mount.mount_point)?;
        let mut nested = Vec::new();
        if metadata(&source.real_path)?.is_dir() {
            let mounts = MountTable::read()?;
            match listed_nested(&subvolume, &source.real_path, &source.mount, &mounts) {
                Some(listed) => nested = listed,
                None => nested_subvolumes(&subvolume, &source.real_path, &mounts, &mut nested)?,
            }
        }
        nested.sort_by_key(|p| p.components().count());
        Ok(Box::new(Plan {
            subvolume,
            nested,
            snapshot_dir: source.mount.mount_point.join(SNAPSHOT_DIR),
            source: source.real_path.clone(),
        }))
    }

    /// A snapshot is gone when its path is gone *and* the filesystem no longer lists it:
    /// a deleted subvolume is listed until the kernel has dropped it.
    fn still_present(&self, artifact: &Artifact) -> bool {
        let path = PathBuf::from(&artifact.target);
        if artifact.kind != SNAPSHOT_KIND {
            return crate::provider::path_present(artifact);
        }
        if std::fs::symlink_metadata(&path).is_ok() {
            return true;
        }
        listed_id(&path).is_some()
    }

    fn release(&self, artifact: &Artifact) -> Result<()> {
        let path = PathBuf::from(&artifact.target);
        let in_our_dir = path.components().any(|c| c.as_os_str() == SNAPSHOT_DIR);
        match artifact.kind.as_str() {
            SNAPSHOT_KIND if in_our_dir && named_by_umbra(&path, "umbra-") => {
                let listed = listed_id(&path);
                if std::fs::symlink_metadata(&path).is_ok() {
                    // --commit-after: the deletion is on disk before we say it is done.
                    run(
                        "btrfs",
                        &["subvolume", "delete", "--commit-after", &artifact.target],
                    )?;
                }
                // A deleted subvolume lives on until the kernel has dropped it (right after
                // a kill -9 that can take seconds): wait, boundedly, for this one, also when
                // an earlier attempt deleted it. Whether it is gone is `still_present`'s.
                if let (Some((fs_path, id)), true) = (listed, artifact.kind == SNAPSHOT_KIND) {
                    wait_dropped(&fs_path, &id);
                }
                // Leave no empty .umbra-snapshots behind; it stays while others use it.
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir(dir);
                }
                Ok(())
            }
            MOUNT_KIND if in_our_dir => crate::unmount(&path),
            _ => Err(UmbraError::new(
                ErrorKind::Internal,
                format!("refusing to release {artifact}: not something the btrfs method creates"),
            )),
        }
    }
}

/// How long a release waits for the kernel to drop a deleted snapshot.
const DROP_WAIT: Duration = Duration::from_secs(10);

/// Waits until the filesystem at `fs_path` no longer lists the deleted subvolume `id`
/// among those not yet cleaned, for at most [`DROP_WAIT`].
///
/// Why not `btrfs subvolume sync`: it looks once a second, and the kernel's cleaner
/// usually drops a snapshot within half a second of its deletion's commit, so every
/// release waited a second it did not need (1.0 s against 0.3-0.4 s beside pgbench,
/// docs/BENCHMARKS.md, 2026-12-03): part of the backup window. This looks after 10 ms,
/// then twice as long each time up to a fifth of a second. A listing that cannot be had
/// ends the wait; whether the snapshot is gone is then `still_present`'s to say.
fn wait_dropped(fs_path: &Path, id: &str) {
    let fs = fs_path.to_string_lossy();
    let deadline = Instant::now() + DROP_WAIT;
    let needle = format!("ID {id} ");
    let mut pause = Duration::from_millis(10);
    while let Ok(list) = run("btrfs", &["subvolume", "list", "-d", &fs]) {
        let now = Instant::now();
        if !list.lines().any(|l| l.starts_with(&needle)) || now >= deadline {
            return;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Whether the filesystem still lists the subvolume at `path` (also after its path was
/// deleted, until the kernel has dropped it): a place on that filesystem to ask, and the
/// subvolume's id. `None` when it is not listed, or the filesystem cannot be asked.
fn listed_id(path: &Path) -> Option<(PathBuf, String)> {
    let name = format!("/{}", path.file_name()?.to_string_lossy());
    let fs_path = path.ancestors().skip(1).find(|p| p.exists())?;
    let list = run("btrfs", &["subvolume", "list", &fs_path.to_string_lossy()]).ok()?;
    // "ID 259 gen 8 top level 5 path .umbra-snapshots/umbra-…"
    let line = list.lines().find(|l| l.ends_with(&name))?;
    let id = line.split_whitespace().nth(1)?.to_string();
    Some((fs_path.to_path_buf(), id))
}

impl Prepared for Plan {
    fn take(self: Box<Self>, rec: &mut Recorder<'_>) -> Result<Presented> {
        std::fs::create_dir_all(&self.snapshot_dir).map_err(|e| {
            UmbraError::io(
                "cannot create the snapshot directory",
                &self.snapshot_dir,
                e,
            )
        })?;
        let name = format!("umbra-{}", run_tag());
        let snapshot = self.snapshot_dir.join(&name);
        rec.record(Artifact::path(SNAPSHOT_KIND, &snapshot))?;
        run(
            "btrfs",
            &[
                "subvolume",
                "snapshot",
                "-r",
                &self.subvolume.to_string_lossy(),
                &snapshot.to_string_lossy(),
            ],
        )?;
        for (k, rel) in self.nested.iter().enumerate() {
            let nested_snapshot = self.snapshot_dir.join(format!("{name}-n{k}"));
            rec.record(Artifact::path(SNAPSHOT_KIND, &nested_snapshot))?;
            run(
                "btrfs",
                &[
                    "subvolume",
                    "snapshot",
                    "-r",
                    &self.subvolume.join(rel).to_string_lossy(),
                    &nested_snapshot.to_string_lossy(),
                ],
            )?;
            let target = snapshot.join(rel);
            rec.record(Artifact::path(MOUNT_KIND, &target))?;
            crate::bind_mount_read_only(&nested_snapshot, &target)?;
        }
        let rel = self
            .source
            .strip_prefix(&self.subvolume)
            .unwrap_or(Path::new(""));
        Ok(Presented {
            read_from: snapshot.join(rel),
            level: ConsistencyLevel::VolumeSnapshot,
            identity_from: None,
            clone_on_read: None,
        })
    }
}
