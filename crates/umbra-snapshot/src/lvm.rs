//! LVM: a snapshot of the logical volume that holds the source, mounted read-only.
//!
//! - Classic (thick) volumes get a copy-on-write snapshot sized with lvcreate's own
//!   syntax: `N%ORIGIN` (default `20%ORIGIN`) or `N%FREE` of the volume group. Writes to
//!   the origin while the snapshot exists are copied into that area first: every write
//!   to the origin costs an extra read and write, and if the area fills up the snapshot
//!   becomes invalid. umbra checks after reading ([`Provider::verify`]); an overflowed
//!   snapshot fails the backup and no snapshot is recorded in the repository.
//! - Thin volumes get a thin snapshot (no size, shares the pool), activated with `-K`.
//! - The snapshot is mounted read-only under `/run/umbra/mnt/umbra-<time>-<pid>`; xfs
//!   needs `nouuid` (the snapshot has the origin's UUID).
//! - Snapshots are named `umbra-<time>-<pid>`; release refuses any other name.
//!
//! Needs root and the lvm2 tools. The host kernel of CI has no device-mapper, so the tests
//! run inside a VM (see tests/vm/).

use std::path::{Path, PathBuf};

use umbra_core::{ConsistencyLevel, ErrorKind, Method, Result, UmbraError};

use crate::provider::{run, run_tag, Prepared, Presented, Provider, Recorder, SourceInfo, Support};
use crate::registry::Artifact;

const SNAPSHOT_KIND: &str = "lvm-snapshot";
const MOUNT_KIND: &str = "mount";
/// Where snapshots are mounted.
pub const MOUNT_BASE: &str = "/run/umbra/mnt";

/// Validates a classic snapshot's copy-on-write size, `N%ORIGIN` or `N%FREE` with N from
/// 1 to 100, and returns it normalised (`20%ORIGIN`).
pub fn parse_cow_size(s: &str) -> Result<String, String> {
    let (n, unit) = s
        .split_once('%')
        .ok_or("expected N%ORIGIN or N%FREE, like 20%ORIGIN")?;
    let n: u32 = n
        .parse()
        .map_err(|_| format!("`{n}` is not a whole number"))?;
    if !(1..=100).contains(&n) || !["ORIGIN", "FREE"].contains(&unit.to_ascii_uppercase().as_str())
    {
        return Err("expected N%ORIGIN or N%FREE with N from 1 to 100, like 20%ORIGIN".into());
    }
    Ok(format!("{n}%{}", unit.to_ascii_uppercase()))
}

pub struct Lvm {
    /// lvcreate's `-l` for classic snapshots: `N%ORIGIN` or `N%FREE`.
    pub cow_size: String,
}

impl Default for Lvm {
    fn default() -> Self {
        Self {
            cow_size: "20%ORIGIN".into(),
        }
    }
}

/// One logical volume, from `lvs`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalVolume {
    pub vg: String,
    pub lv: String,
    /// lvs's lv_attr, e.g. `-wi-ao----` (volume), `swi-a-s---` (snapshot), `Vwi-a-tz--` (thin).
    pub attr: String,
    /// The thin pool, for thin volumes.
    pub pool: Option<String>,
    /// For snapshots: how full the copy-on-write area is, in percent.
    pub data_percent: Option<f64>,
}

impl LogicalVolume {
    /// An invalid snapshot (its copy-on-write area overflowed): lv_attr's 5th character.
    #[must_use]
    pub fn is_invalid_snapshot(&self) -> bool {
        self.attr.chars().nth(4) == Some('I')
    }
}

/// The fields we ask lvs for, in order.
pub const LVS_FIELDS: &str = "vg_name,lv_name,lv_attr,pool_lv,data_percent";

/// Parses `lvs --noheadings --separator '|' -o LVS_FIELDS` output.
#[must_use]
pub fn parse_lvs(text: &str) -> Vec<LogicalVolume> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().split('|').map(str::trim).collect();
            if f.len() < 5 || f[0].is_empty() {
                return None;
            }
            Some(LogicalVolume {
                vg: f[0].to_string(),
                lv: f[1].to_string(),
                attr: f[2].to_string(),
                pool: (!f[3].is_empty()).then(|| f[3].to_string()),
                data_percent: f[4].replace(',', ".").parse().ok(),
            })
        })
        .collect()
}

fn lvs(target: &str) -> Result<Option<LogicalVolume>> {
    match run(
        "lvs",
        &["--noheadings", "--separator", "|", "-o", LVS_FIELDS, target],
    ) {
        Ok(out) => Ok(parse_lvs(&out).into_iter().next()),
        Err(e) if e.message().contains("not found") || e.message().contains("Failed to find") => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The lvcreate arguments for a snapshot of `lv` named `name`.
#[must_use]
pub fn lvcreate_args(lv: &LogicalVolume, name: &str, cow_size: &str) -> Vec<String> {
    let origin = format!("{}/{}", lv.vg, lv.lv);
    let mut args = vec![
        "-q".into(),
        "-y".into(),
        "-s".into(),
        "-n".into(),
        name.into(),
    ];
    if lv.pool.is_none() {
        args.extend(["-l".into(), cow_size.into()]);
    }
    args.push(origin);
    args
}

/// The mount options for a snapshot of a filesystem of `fs_type`.
#[must_use]
pub fn mount_options(fs_type: &str) -> &'static str {
    match fs_type {
        "xfs" => "ro,nouuid",
        _ => "ro",
    }
}

struct Plan {
    lv: LogicalVolume,
    fs_type: String,
    cow_size: String,
    /// The source's path inside the volume's filesystem.
    inside: PathBuf,
}

impl Provider for Lvm {
    fn method(&self) -> Method {
        Method::Lvm
    }

    fn supports(&self, source: &SourceInfo) -> Support {
        if !source.mount.is_device_mapper() {
            return Support::No(format!(
                "{} is not a device-mapper volume",
                source.mount.source
            ));
        }
        if !source.root {
            return Support::No("LVM snapshots need root".into());
        }
        match lvs(&source.mount.source) {
            Ok(Some(_)) => Support::Yes,
            Ok(None) => Support::No(format!(
                "{} is not an LVM logical volume",
                source.mount.source
            )),
            Err(e) => Support::No(e.message().to_string()),
        }
    }

    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>> {
        let lv = lvs(&source.mount.source)?.ok_or_else(|| {
            UmbraError::new(
                ErrorKind::SourceUnreadable,
                format!("{} is not an LVM logical volume", source.mount.source),
            )
        })?;
        let rel = source
            .real_path
            .strip_prefix(&source.mount.mount_point)
            .unwrap_or(Path::new(""));
        let inside = source
            .mount
            .root
            .strip_prefix("/")
            .unwrap_or(&source.mount.root)
            .join(rel);
        Ok(Box::new(Plan {
            lv,
            fs_type: source.mount.fs_type.clone(),
            cow_size: self.cow_size.clone(),
            inside,
        }))
    }

    fn release(&self, artifact: &crate::registry::Artifact) -> Result<()> {
        match artifact.kind.as_str() {
            SNAPSHOT_KIND => {
                let ok = artifact
                    .target
                    .split_once('/')
                    .is_some_and(|(_, lv)| lv.starts_with("umbra-"));
                if !ok {
                    return Err(refuse(artifact));
                }
                if lvs(&artifact.target)?.is_none() {
                    return Ok(());
                }
                // Its mount goes first (device-mapper doubles dashes inside names).
                let mapper = artifact.target.split_once('/').map(|(vg, lv)| {
                    format!(
                        "/dev/mapper/{}-{}",
                        vg.replace('-', "--"),
                        lv.replace('-', "--")
                    )
                });
                let dev = format!("/dev/{}", artifact.target);
                crate::unmount_sources(|source| {
                    source == dev || Some(source) == mapper.as_deref()
                })?;
                run("lvremove", &["-q", "-y", &artifact.target]).map(|_| ())
            }
            MOUNT_KIND => release_mount_dir(Path::new(&artifact.target))
                .map_err(|_| refuse(artifact))
                .and_then(|r| r),
            _ => Err(refuse(artifact)),
        }
    }

    fn still_present(&self, artifact: &crate::registry::Artifact) -> bool {
        if artifact.kind == SNAPSHOT_KIND {
            // An error asking counts as present: never report a release we cannot see.
            return lvs(&artifact.target).map_or(true, |lv| lv.is_some());
        }
        crate::provider::path_present(artifact)
    }

    fn verify(&self, artifact: &crate::registry::Artifact) -> Result<()> {
        if artifact.kind != SNAPSHOT_KIND {
            return Ok(());
        }
        match lvs(&artifact.target)? {
            Some(lv) if lv.is_invalid_snapshot() || lv.data_percent.is_some_and(|p| p >= 100.0) => Err(UmbraError::new(
                ErrorKind::Io,
                format!(
                    "the LVM snapshot {} overflowed its copy-on-write area while it was read: what was read cannot be trusted",
                    artifact.target
                ),
            )
            .with_hint("Give snapshots more room (--lvm-snapshot-size 50%ORIGIN, or free space in the volume group), or back up when the volume is less busy.")),
            Some(_) => Ok(()),
            None => Err(UmbraError::new(ErrorKind::Io, format!("the LVM snapshot {} disappeared while it was read", artifact.target))),
        }
    }
}

fn refuse(artifact: &crate::registry::Artifact) -> UmbraError {
    UmbraError::new(
        ErrorKind::Internal,
        format!("refusing to release {artifact}: not something the lvm method creates"),
    )
}

/// Unmounts and removes a mount directory of umbra's (`/run/umbra/mnt/umbra-*`). The outer
/// error means "not ours"; the inner result is the release itself.
pub(crate) fn release_mount_dir(path: &Path) -> std::result::Result<Result<()>, ()> {
    if path.parent() != Some(Path::new(MOUNT_BASE))
        || !crate::provider::named_by_umbra(path, "umbra-")
    {
        return Err(());
    }
    Ok(
        crate::unmount(path).and_then(|()| match std::fs::remove_dir(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(UmbraError::io("cannot remove the mount directory", path, e)),
        }),
    )
}

/// Creates (and records) a mount directory for a snapshot called `name`.
pub(crate) fn mount_dir(rec: &mut Recorder<'_>, name: &str) -> Result<PathBuf> {
    let dir = Path::new(MOUNT_BASE).join(name);
    rec.record(Artifact::path(MOUNT_KIND, &dir))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| UmbraError::io("cannot create the mount directory", &dir, e))?;
    Ok(dir)
}

impl Prepared for Plan {
    fn take(self: Box<Self>, rec: &mut Recorder<'_>) -> Result<Presented> {
        let name = format!("umbra-{}", run_tag());
        let target = format!("{}/{}", self.lv.vg, name);
        rec.record(Artifact::new(SNAPSHOT_KIND, target.clone()))?;
        let args = lvcreate_args(&self.lv, &name, &self.cow_size);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("lvcreate", &args)?;
        if self.lv.pool.is_some() {
            run("lvchange", &["-q", "-ay", "-K", &target])?;
        }
        let dir = mount_dir(rec, &name)?;
        let device = format!("/dev/{}/{}", self.lv.vg, name);
        run(
            "mount",
            &[
                "-o",
                mount_options(&self.fs_type),
                &device,
                &dir.to_string_lossy(),
            ],
        )?;
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

    /// Recorded in the test VM (Debian 12, lvm2 2.03.16) by tests/vm/lvm.sh with
    /// `lvs --noheadings --separator '|' -o vg_name,lv_name,lv_attr,pool_lv,data_percent`:
    /// a thin pool, two plain volumes, a thin volume, and (during the overflow test) a
    /// classic snapshot whose copy-on-write area overflowed.
    const RECORDED: &str = "  vgt|pool|twi-aotz--||9.77
  vgt|thick_ext4|-wi-ao----||
  vgt|thick_xfs|-wi-ao----||
  vgt|thin_ext4|Vwi-aotz--|pool|9.77
  vgt|umbra-1795323444875-673|swi-I-s---||100.00
";

    #[test]
    fn parses_recorded_lvs_output() {
        let lvs = parse_lvs(RECORDED);
        assert_eq!(lvs.len(), 5);
        assert_eq!(
            (lvs[1].vg.as_str(), lvs[1].lv.as_str()),
            ("vgt", "thick_ext4")
        );
        assert_eq!(lvs[1].pool, None);
        assert_eq!(lvs[1].data_percent, None);
        assert_eq!(lvs[3].pool.as_deref(), Some("pool"));
        assert_eq!(lvs[3].data_percent, Some(9.77));
        assert!(!lvs[1].is_invalid_snapshot());
        assert!(lvs[4].is_invalid_snapshot());
    }

    #[test]
    fn classic_snapshots_get_a_size_and_thin_ones_do_not() {
        let lvs = parse_lvs(RECORDED);
        assert_eq!(
            lvcreate_args(&lvs[1], "umbra-1", "20%ORIGIN"),
            [
                "-q",
                "-y",
                "-s",
                "-n",
                "umbra-1",
                "-l",
                "20%ORIGIN",
                "vgt/thick_ext4"
            ]
        );
        assert_eq!(
            lvcreate_args(&lvs[3], "umbra-2", "20%ORIGIN"),
            ["-q", "-y", "-s", "-n", "umbra-2", "vgt/thin_ext4"]
        );
        assert_eq!(mount_options("xfs"), "ro,nouuid");
        assert_eq!(mount_options("ext4"), "ro");
    }

    #[test]
    fn release_refuses_what_umbra_did_not_name() {
        let lvm = Lvm::default();
        assert!(lvm
            .release(&Artifact::new(SNAPSHOT_KIND, "vg0/home"))
            .is_err());
        assert!(lvm
            .release(&Artifact::new(MOUNT_KIND, "/mnt/data"))
            .is_err());
        assert!(lvm
            .release(&Artifact::new(MOUNT_KIND, "/run/umbra/mnt/other"))
            .is_err());
    }
}
