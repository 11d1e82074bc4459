//! The mount table, read from `/proc/self/mountinfo`.
//!
//! The planner chooses a snapshot method from the filesystem that holds a source, and the
//! providers need its mount point and device. mountinfo (not /proc/mounts) is used
//! because it gives the root of each mount within its filesystem, which is what tells a
//! btrfs subvolume mount (`subvol=/@home`) from a mount of the top level.

use std::path::{Path, PathBuf};

use umbra_core::Result;

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The directory of the filesystem that is mounted there (`/` for the whole fs).
    pub root: PathBuf,
    /// Filesystem type: `btrfs`, `xfs`, `ext4`, `zfs`, ...
    pub fs_type: String,
    /// The mount source: a device (`/dev/mapper/vg-lv`), a dataset (`pool/data`), ...
    pub source: String,
    /// `major:minor` of the device.
    pub device: (u32, u32),
    /// Per-mount and per-superblock options, merged.
    pub options: Vec<String>,
}

impl Mount {
    /// The share that holds a UNC path (`\\server\share\...`), as a mount of type
    /// `network share`; `None` for any other path.
    #[must_use]
    pub fn network_share(path: &Path) -> Option<Self> {
        let text = path.to_string_lossy();
        let rest = text.strip_prefix("\\\\")?;
        let mut parts = rest.splitn(3, '\\');
        let (server, share) = (parts.next()?, parts.next()?);
        if server.is_empty() || share.is_empty() || server == "?" {
            return None;
        }
        let root = format!("\\\\{server}\\{share}\\");
        Some(Self {
            mount_point: PathBuf::from(&root),
            root: PathBuf::from("\\"),
            fs_type: "network share".into(),
            source: root,
            device: (0, 0),
            options: vec!["rw".into()],
        })
    }

    #[must_use]
    pub fn read_only(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// True when the mount's device is a device-mapper volume (LVM and the like). sysfs
    /// tells for sure (`/sys/dev/block/MAJ:MIN/dm`); the major number does not, since it
    /// is allocated at boot.
    #[must_use]
    pub fn is_device_mapper(&self) -> bool {
        let (major, minor) = self.device;
        Path::new(&format!("/sys/dev/block/{major}:{minor}/dm")).exists()
            || self.source.starts_with("/dev/mapper/")
            || self.source.starts_with("/dev/dm-")
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).ok();
            if let Some(v) = octal.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the text of a mountinfo file. Malformed lines are skipped.
#[must_use]
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.len() < 2 {
        return None;
    }
    let (major, minor) = l[2].split_once(':')?;
    let mut options: Vec<String> = l[5].split(',').map(str::to_string).collect();
    if let Some(super_opts) = r.get(2) {
        options.extend(super_opts.split(',').map(str::to_string));
    }
    Some(Mount {
        mount_point: PathBuf::from(unescape(l[4])),
        root: PathBuf::from(unescape(l[3])),
        fs_type: r[0].to_string(),
        source: unescape(r[1]),
        device: (major.parse().ok()?, minor.parse().ok()?),
        options,
    })
}

/// The mount table of this process.
#[derive(Debug, Clone)]
pub struct MountTable {
    mounts: Vec<Mount>,
}

impl MountTable {
    /// The mounts of this process (`/proc/self/mountinfo`); on Windows, one per drive
    /// letter, with its file system's name (`NTFS`, `ReFS`, `FAT32`) as the type.
    #[cfg(windows)]
    pub fn read() -> Result<Self> {
        Ok(Self {
            mounts: windows_volumes(),
        })
    }

    /// The mounts of this process (`/proc/self/mountinfo`).
    #[cfg(unix)]
    pub fn read() -> Result<Self> {
        use umbra_core::{ErrorKind, UmbraError};
        let text = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
            UmbraError::new(
                ErrorKind::Io,
                "cannot read the mount table (/proc/self/mountinfo)",
            )
            .with_source(e)
        })?;
        Ok(Self::from_text(&text))
    }

    #[must_use]
    pub fn from_text(text: &str) -> Self {
        Self {
            mounts: parse_mountinfo(text),
        }
    }

    /// The mount that holds `path` (which must be absolute and free of symlinks): the
    /// one with the longest mount point that is a prefix of it, the last mounted on ties.
    #[must_use]
    pub fn containing(&self, path: &Path) -> Option<&Mount> {
        self.mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| path.starts_with(&m.mount_point))
            .max_by_key(|(i, m)| (m.mount_point.components().count(), *i))
            .map(|(_, m)| m)
    }

    /// True when `path` is itself a mount point.
    #[must_use]
    pub fn is_mount_point(&self, path: &Path) -> bool {
        self.mounts.iter().any(|m| m.mount_point == path)
    }

    #[must_use]
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }
}

/// Every drive letter with a volume behind it, as a mount at `X:\\`.
#[cfg(windows)]
fn windows_volumes() -> Vec<Mount> {
    use windows_sys::Win32::Storage::FileSystem::{GetLogicalDrives, GetVolumeInformationW};
    // SAFETY: no arguments.
    let drives = unsafe { GetLogicalDrives() };
    let mut mounts = Vec::new();
    for i in 0..26u8 {
        if drives & (1 << i) == 0 {
            continue;
        }
        let root = format!("{}:\\", char::from(b'A' + i));
        let wide: Vec<u16> = root.encode_utf16().chain(Some(0)).collect();
        let mut fs_name = [0u16; 64];
        let mut flags = 0u32;
        // SAFETY: a NUL-terminated root and buffers of the lengths given; the others null.
        let ok = unsafe {
            GetVolumeInformationW(
                wide.as_ptr(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut flags,
                fs_name.as_mut_ptr(),
                fs_name.len() as u32,
            )
        };
        // A drive whose volume cannot be asked (wine's Z:, a disconnected network drive)
        // is still a place files live: its file system is "unknown", and has no snapshots.
        let len = if ok == 0 {
            fs_name[..7].copy_from_slice(&"unknown".encode_utf16().collect::<Vec<u16>>());
            7
        } else {
            fs_name
                .iter()
                .position(|c| *c == 0)
                .unwrap_or(fs_name.len())
        };
        /// `FILE_READ_ONLY_VOLUME`
        const READ_ONLY: u32 = 0x0008_0000;
        mounts.push(Mount {
            mount_point: PathBuf::from(&root),
            root: PathBuf::from("\\"),
            fs_type: String::from_utf16_lossy(&fs_name[..len]),
            source: root.clone(),
            device: (0, u32::from(i)),
            options: vec![if flags & READ_ONLY != 0 { "ro" } else { "rw" }.to_string()],
        });
    }
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from a Debian machine with a btrfs subvolume mount, an LVM volume, a ZFS
    /// dataset and a mount point with a space in its name.
    const RECORDED: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime - ext4 /dev/vda rw
98 27 0:45 /@home /home rw,relatime - btrfs /dev/sdb2 rw,space_cache=v2,subvolid=257,subvol=/@home
99 27 253:3 / /srv/pg rw,noatime - xfs /dev/mapper/vg0-pgdata rw,attr2,inode64
100 27 0:50 / /tank/data rw,xattr,noacl - zfs tank/data rw,xattr,noacl
101 27 7:0 / /mnt/with\\040space ro,relatime - ext4 /dev/loop0 ro
";

    #[test]
    fn parses_recorded_mountinfo() {
        let t = MountTable::from_text(RECORDED);
        assert_eq!(t.mounts().len(), 6);
        let home = t.containing(Path::new("/home/alice/mail")).expect("home");
        assert_eq!(home.fs_type, "btrfs");
        assert_eq!(home.root, PathBuf::from("/@home"));
        assert!(home.options.iter().any(|o| o == "subvol=/@home"));
        let pg = t.containing(Path::new("/srv/pg/base")).expect("pg");
        assert_eq!(
            (pg.fs_type.as_str(), pg.source.as_str()),
            ("xfs", "/dev/mapper/vg0-pgdata")
        );
        assert_eq!(pg.device, (253, 3));
        assert_eq!(
            t.containing(Path::new("/tank/data/x")).expect("zfs").source,
            "tank/data"
        );
        let spaced = t
            .containing(Path::new("/mnt/with space/f"))
            .expect("spaced");
        assert!(spaced.read_only());
        assert_eq!(
            t.containing(Path::new("/etc")).expect("root").fs_type,
            "ext4"
        );
        assert!(t.is_mount_point(Path::new("/srv/pg")));
        assert!(!t.is_mount_point(Path::new("/srv")));
    }

    #[test]
    fn a_later_mount_over_the_same_point_wins() {
        let t = MountTable::from_text(
            "1 0 8:1 / /data rw - ext4 /dev/sda1 rw\n2 1 0:40 / /data rw - tmpfs tmpfs rw\n",
        );
        assert_eq!(
            t.containing(Path::new("/data/x")).expect("m").fs_type,
            "tmpfs"
        );
    }

    #[test]
    fn a_unc_path_is_held_by_its_share() {
        let m = Mount::network_share(Path::new(r"\\files\backup\db\x")).expect("share");
        assert_eq!(m.mount_point, Path::new(r"\\files\backup\"));
        assert_eq!(m.fs_type, "network share");
        assert!(Mount::network_share(Path::new(r"\\?\C:\x")).is_none());
        assert!(Mount::network_share(Path::new("/srv/x")).is_none());
    }

    #[cfg(windows)]
    #[test]
    fn the_read_table_has_the_system_drive() {
        let t = MountTable::read().expect("volumes");
        let c = t.containing(Path::new("C:\\Windows")).expect("C:");
        assert_eq!(c.mount_point, Path::new("C:\\"));
    }

    #[cfg(unix)]
    #[test]
    fn the_read_table_has_a_root_mount() {
        let t = MountTable::read().expect("mountinfo");
        assert!(t.containing(Path::new("/")).is_some());
    }
}
