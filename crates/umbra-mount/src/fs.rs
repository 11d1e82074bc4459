//! The FUSE callbacks: lookups, attributes, directory listings, reads and links, all
//! answered from the inode table and the repository view. Read-only: everything that
//! would change something is left to fuser's defaults, which refuse it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fuser::{
    FileAttr, FileType, Filesystem, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, Request,
};
use umbra_core::{Event, Monitor};
use umbra_repo::view::{RepoView, ViewKind};

use crate::inodes::{Entry, Inodes};

/// Nothing under the mount changes while it is mounted.
const TTL: Duration = Duration::from_secs(300);

pub struct SnapshotFs {
    pub view: RepoView,
    pub inodes: Inodes,
    pub monitor: Arc<dyn Monitor>,
    pub uid: u32,
    pub gid: u32,
}

/// The time to hand fuser so that the kernel gets `t`.
///
/// fuser 0.16 turns a time before 1970 into minus its whole seconds and plus its fraction
/// (-0.25 s becomes 0 s + 0.25 s), where the kernel takes seconds rounded down and the
/// positive rest (-1 s + 0.75 s). A time `s` whole seconds and `f` more before 1970 is
/// therefore handed over as `s + 1` seconds and `1 - f` before it, which fuser sends on
/// as `-(s + 1)` and `1 - f`: the kernel's form of `t`.
fn fuser_time(t: SystemTime) -> SystemTime {
    let Ok(before) = SystemTime::UNIX_EPOCH.duration_since(t) else {
        return t;
    };
    match before.subsec_nanos() {
        0 => t,
        f => SystemTime::UNIX_EPOCH - Duration::new(before.as_secs() + 1, 1_000_000_000 - f),
    }
}

impl SnapshotFs {
    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let inode = self.inodes.get(ino)?;
        let made = |kind, perm, size, time| FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: time,
            kind,
            perm,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        };
        Some(match &inode.entry {
            Entry::Made => made(FileType::Directory, 0o555, 0, self.inodes.made_time),
            Entry::Snapshot(_, time) => made(FileType::Directory, 0o555, 0, *time),
            Entry::MadeLink(target) => made(
                FileType::Symlink,
                0o777,
                target.len() as u64,
                self.inodes.made_time,
            ),
            Entry::Node(node) => {
                let kind = match node.kind {
                    ViewKind::Dir(_) => FileType::Directory,
                    ViewKind::File(_) => FileType::RegularFile,
                    ViewKind::Symlink(_) => FileType::Symlink,
                    ViewKind::Special => FileType::RegularFile,
                };
                let mtime = fuser_time(node.mtime.unwrap_or(SystemTime::UNIX_EPOCH));
                let size = match &node.kind {
                    ViewKind::Symlink(t) => t.len() as u64,
                    ViewKind::File(_) => node.size,
                    _ => 0,
                };
                FileAttr {
                    atime: node.atime.map_or(mtime, fuser_time),
                    ctime: node.ctime.map_or(mtime, fuser_time),
                    uid: node.uid,
                    gid: node.gid,
                    #[allow(clippy::cast_possible_truncation)]
                    perm: (node.permissions & 0o7777) as u16,
                    ..made(kind, 0, size, mtime)
                }
            }
        })
    }

    fn damage(&self, what: &str, err: &umbra_core::UmbraError) {
        self.monitor.event(Event::Damage {
            message: format!("{what}: {}", err.message()),
        });
    }
}

impl Filesystem for SnapshotFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        match self.inodes.lookup(&self.view, parent, name) {
            Some(Ok(ino)) => match self.attr(ino) {
                Some(attr) => reply.entry(&TTL, &attr, 0),
                None => reply.error(libc::ENOENT),
            },
            Some(Err(e)) => {
                self.damage("cannot list a directory", &e);
                reply.error(libc::EIO);
            }
            None => reply.error(libc::ENOENT),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match self.attr(ino) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(libc::ENOENT),
        }
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        match self.inodes.get(ino).map(|i| &i.entry) {
            Some(Entry::MadeLink(target))
            | Some(Entry::Node(umbra_repo::view::ViewNode {
                kind: ViewKind::Symlink(target),
                ..
            })) => reply.data(target.as_bytes()),
            _ => reply.error(libc::EINVAL),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let Some(Entry::Node(node)) = self.inodes.get(ino).map(|i| &i.entry) else {
            reply.error(libc::EISDIR);
            return;
        };
        let ViewKind::File(content) = &node.kind else {
            reply.error(libc::EINVAL);
            return;
        };
        let offset = u64::try_from(offset).unwrap_or(0);
        match self.view.read(content, offset, size as usize) {
            Ok(data) => reply.data(&data),
            Err(e) => {
                let name = node.name.to_string_lossy().into_owned();
                self.damage(&format!("cannot read `{name}`"), &e);
                reply.error(libc::EIO);
            }
        }
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let children: Vec<(std::ffi::OsString, u64)> = match self.inodes.children(&self.view, ino) {
            Some(Ok(c)) => c.to_vec(),
            Some(Err(e)) => {
                self.damage("cannot list a directory", &e);
                reply.error(libc::EIO);
                return;
            }
            None => {
                reply.error(libc::ENOTDIR);
                return;
            }
        };
        let dots = [(".".into(), ino), ("..".into(), ino)];
        let start = usize::try_from(offset).unwrap_or(0);
        for (i, (name, child)) in dots.into_iter().chain(children).enumerate().skip(start) {
            let kind = self.attr(child).map_or(FileType::RegularFile, |a| a.kind);
            if reply.add(child, (i + 1) as i64, kind, &name) {
                break;
            }
        }
        reply.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::fuser_time;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// What fuser 0.16 does with a time (its `time_from_system_time`).
    fn as_fuser_sends(t: SystemTime) -> (i64, u32) {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => (
                -(e.duration().as_secs() as i64),
                e.duration().subsec_nanos(),
            ),
        }
    }

    #[test]
    fn times_before_1970_reach_the_kernel_rounded_down() {
        let before = |s, ns| UNIX_EPOCH - Duration::new(s, ns);
        assert_eq!(
            as_fuser_sends(fuser_time(before(0, 250_000_000))),
            (-1, 750_000_000)
        );
        // 1969-07-20T20:17:40.123456789Z
        let moon = before(14_182_939, 876_543_211);
        assert_eq!(as_fuser_sends(fuser_time(moon)), (-14_182_940, 123_456_789));
        assert_eq!(as_fuser_sends(fuser_time(before(3, 0))), (-3, 0));
        let later = UNIX_EPOCH + Duration::new(5, 7);
        assert_eq!(as_fuser_sends(fuser_time(later)), (5, 7));
    }
}
