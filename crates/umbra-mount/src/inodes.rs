//! The inode table: every name the filesystem has shown, with what it stands for.
//!
//! Inodes are handed out as the kernel looks names up and never reused while mounted.
//! The fixed part (`ids`, `snapshots`, `hosts`, `tags`) is built at mount time; a
//! snapshot's directories are read from the repository the first time they are listed.
//! A tree shared by many snapshots gets an inode per place it appears: the kernel does
//! not allow one directory inode under two parents.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::time::SystemTime;

use umbra_core::Result;
use umbra_repo::view::{RepoView, TreeRef, ViewKind, ViewNode};

/// What an inode stands for.
pub enum Entry {
    /// A directory umbra makes up (the root, `ids`, `snapshots`, a host, a tag).
    Made,
    /// A snapshot's own directory: the root of its tree.
    Snapshot(TreeRef, SystemTime),
    /// A symlink umbra makes up (`latest`).
    MadeLink(OsString),
    /// An entry inside a snapshot.
    Node(ViewNode),
}

pub struct Inode {
    pub entry: Entry,
    /// Children by name, once known (always for made directories).
    pub children: Option<Vec<(OsString, u64)>>,
}

pub struct Inodes {
    table: Vec<Inode>,
    /// The newest snapshot's time: the times of the made-up directories.
    pub made_time: SystemTime,
}

impl Inodes {
    /// The fixed part, restic's layout: `ids/ID`, `snapshots/TIME` (+ `latest`),
    /// `hosts/HOST/TIME` (+ `latest`), `tags/TAG/TIME` (+ `latest`).
    pub fn new(view: &RepoView) -> Self {
        let made_time = view
            .snapshots()
            .last()
            .map_or(SystemTime::UNIX_EPOCH, |s| s.time);
        let mut me = Self {
            table: Vec::new(),
            made_time,
        };
        let root = me.add(Entry::Made, Some(Vec::new()));
        let ids = me.made_dir(root, "ids");
        let snapshots = me.made_dir(root, "snapshots");
        let hosts = me.made_dir(root, "hosts");
        let tags = me.made_dir(root, "tags");
        let mut by_host: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut by_tag: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, s) in view.snapshots().iter().enumerate() {
            me.snapshot_dir(ids, &s.short_id, s.tree, s.time);
            by_host.entry(&s.hostname).or_default().push(i);
            for t in &s.tags {
                by_tag.entry(t).or_default().push(i);
            }
        }
        me.time_dirs(
            view,
            snapshots,
            &(0..view.snapshots().len()).collect::<Vec<_>>(),
        );
        for (host, list) in by_host {
            let dir = me.made_dir(hosts, host);
            me.time_dirs(view, dir, &list);
        }
        for (tag, list) in by_tag {
            let dir = me.made_dir(tags, tag);
            me.time_dirs(view, dir, &list);
        }
        me
    }

    fn time_dirs(&mut self, view: &RepoView, parent: u64, list: &[usize]) {
        let snaps = view.snapshots();
        for &i in list {
            self.snapshot_dir(parent, &snaps[i].name, snaps[i].tree, snaps[i].time);
        }
        if let Some(&last) = list.last() {
            let target = OsString::from(&snaps[last].name);
            self.link(parent, "latest", Entry::MadeLink(target));
        }
    }

    fn add(&mut self, entry: Entry, children: Option<Vec<(OsString, u64)>>) -> u64 {
        self.table.push(Inode { entry, children });
        self.table.len() as u64
    }

    fn link(&mut self, parent: u64, name: &str, entry: Entry) -> u64 {
        let ino = self.add(entry, None);
        if let Some(children) = self.get_mut(parent).and_then(|p| p.children.as_mut()) {
            children.push((OsString::from(name), ino));
        }
        ino
    }

    fn made_dir(&mut self, parent: u64, name: &str) -> u64 {
        let ino = self.link(parent, name, Entry::Made);
        if let Some(i) = self.get_mut(ino) {
            i.children = Some(Vec::new());
        }
        ino
    }

    fn snapshot_dir(&mut self, parent: u64, name: &str, tree: TreeRef, time: SystemTime) {
        self.link(parent, name, Entry::Snapshot(tree, time));
    }

    pub fn get(&self, ino: u64) -> Option<&Inode> {
        self.table.get(usize::try_from(ino).ok()?.checked_sub(1)?)
    }

    fn get_mut(&mut self, ino: u64) -> Option<&mut Inode> {
        self.table
            .get_mut(usize::try_from(ino).ok()?.checked_sub(1)?)
    }

    /// The children of a directory, reading its tree from the repository the first time.
    /// `None` when `ino` is not a directory.
    pub fn children(&mut self, view: &RepoView, ino: u64) -> Option<Result<&[(OsString, u64)]>> {
        let inode = self.get(ino)?;
        if inode.children.is_none() {
            let tree = match &inode.entry {
                Entry::Snapshot(tree, _) => *tree,
                Entry::Node(ViewNode {
                    kind: ViewKind::Dir(tree),
                    ..
                }) => *tree,
                _ => return None,
            };
            let nodes = match view.list(tree) {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            let mut children = Vec::with_capacity(nodes.len());
            for node in nodes {
                let name = node.name.clone();
                let child = self.add(Entry::Node(node), None);
                children.push((name, child));
            }
            if let Some(i) = self.get_mut(ino) {
                i.children = Some(children);
            }
        }
        self.get(ino).and_then(|i| i.children.as_deref()).map(Ok)
    }

    /// The child `name` of directory `parent`.
    pub fn lookup(&mut self, view: &RepoView, parent: u64, name: &OsStr) -> Option<Result<u64>> {
        match self.children(view, parent)? {
            Ok(children) => children
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, ino)| Ok(*ino)),
            Err(e) => Some(Err(e)),
        }
    }
}
