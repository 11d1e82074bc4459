//! Filesystems a test mounts for itself and unmounts when dropped: a real filesystem on a
//! loop device ([`LoopFs`]) and a small tmpfs ([`Tmpfs`]), for the tests that need a given
//! filesystem's behaviour or a full disk, and a read-only view of a directory
//! ([`ReadOnlyView`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{have, is_root, require};

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
        Self::made_with(fs_type, dir, size_mb, &[])
    }

    /// As [`LoopFs::new`], with more arguments for `mkfs` (`-I 128`: ext4 with whole
    /// seconds for its times).
    pub fn made_with(fs_type: &str, dir: &Path, size_mb: u64, args: &[&str]) -> Option<Self> {
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
            .args(args)
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

/// A read-only bind mount of a directory, removed on drop. Needs root.
pub struct ReadOnlyView(PathBuf);

impl ReadOnlyView {
    pub fn of(dir: &Path, at: PathBuf) -> Self {
        fs::create_dir_all(&at).expect("mkdir");
        super::sh_ok(&format!("mount --bind {} {}", dir.display(), at.display()));
        super::sh_ok(&format!("mount -o remount,bind,ro {}", at.display()));
        Self(at)
    }

    /// Where the view is mounted.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
