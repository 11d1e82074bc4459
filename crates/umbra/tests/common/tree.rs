//! Comparing a restored tree with its original: every entry's kind, mode, owner, times,
//! content, link target, `user.` xattrs, hard links and sparseness ([`Fingerprint`]), the
//! things a faithful restore must give back; and the small helpers the restore tests use
//! around them.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{chmod, sh};

/// Everything about one entry that a faithful restore must reproduce.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, i64),
    pub content: Option<Vec<u8>>,
    pub link: Option<PathBuf>,
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// Other paths (relative) sharing this file's inode.
    pub hardlinks: Vec<PathBuf>,
    /// True when the file occupies clearly fewer blocks than its size.
    pub sparse: bool,
}

fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let mut names = vec![0u8; 4096];
    // SAFETY: buffers are valid for the lengths given.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let mut out = BTreeMap::new();
    if n <= 0 {
        return out;
    }
    for name in names[..n as usize]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
    {
        let key = String::from_utf8_lossy(name).into_owned();
        if !key.starts_with("user.") {
            continue;
        }
        if let Some(value) = get_xattr(path, &key) {
            out.insert(key, value);
        }
    }
    out
}

pub fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = std::ffi::CString::new(name).expect("name");
    // SAFETY: valid C strings and buffer.
    let rc = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "setxattr {name} on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// The value of one extended attribute of `path` (not followed), if it has it.
pub fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = std::ffi::CString::new(name).expect("name");
    let mut value = vec![0u8; 4096];
    // SAFETY: valid C strings and a buffer of the length given.
    let len = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    let len = usize::try_from(len).ok()?;
    value.truncate(len);
    Some(value)
}

/// A map from relative path to fingerprint, for every entry below `root`.
pub fn fingerprint_tree(root: &Path) -> BTreeMap<PathBuf, Fingerprint> {
    let mut inodes: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    let mut entries = Vec::new();
    walk(root, root, &mut entries);
    for (rel, meta) in &entries {
        if meta.is_file() && meta.nlink() > 1 {
            inodes.entry(meta.ino()).or_default().push(rel.clone());
        }
    }
    entries
        .into_iter()
        .map(|(rel, meta)| {
            let full = root.join(&rel);
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                "dir"
            } else if ft.is_symlink() {
                "symlink"
            } else {
                "file"
            };
            let hardlinks = inodes
                .get(&meta.ino())
                .map(|v| v.iter().filter(|p| **p != rel).cloned().collect())
                .unwrap_or_default();
            let fp = Fingerprint {
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                // Directory mtimes are restored, but symlinks' are not on every path; skip them.
                mtime: if ft.is_symlink() {
                    (0, 0)
                } else {
                    (meta.mtime(), meta.mtime_nsec())
                },
                content: ft.is_file().then(|| fs::read(&full).expect("read")),
                link: ft
                    .is_symlink()
                    .then(|| fs::read_link(&full).expect("readlink")),
                xattrs: if ft.is_symlink() {
                    BTreeMap::new()
                } else {
                    xattrs(&full)
                },
                hardlinks,
                sparse: ft.is_file()
                    && meta.len() > 1 << 20
                    && meta.blocks() * 512 < meta.len() / 2,
            };
            (rel, fp)
        })
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, fs::Metadata)>) {
    let mut children: Vec<_> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    children.sort();
    for p in children {
        let meta = fs::symlink_metadata(&p).expect("lstat");
        let rel = p.strip_prefix(root).expect("prefix").to_path_buf();
        let is_dir = meta.is_dir();
        out.push((rel, meta));
        if is_dir {
            walk(root, &p, out);
        }
    }
}

/// Asserts that `restored` holds exactly what `original` holds.
pub fn assert_same_tree(original: &Path, restored: &Path) {
    let a = fingerprint_tree(original);
    let b = fingerprint_tree(restored);
    let a_keys: Vec<_> = a.keys().collect();
    let b_keys: Vec<_> = b.keys().collect();
    assert_eq!(a_keys, b_keys, "restored tree has other entries");
    for (path, fa) in &a {
        assert_eq!(
            Some(fa),
            b.get(path),
            "entry {} differs after restore",
            path.display()
        );
    }
}

/// Where a snapshot of `source` lands inside a restore target.
pub fn restored_path(target: &Path, source: &Path) -> PathBuf {
    target.join(source.strip_prefix("/").expect("absolute source"))
}

/// Lets other users (a database server's user) reach `restored` by adding search
/// permission to each directory above it, from the test's temporary directory down. The
/// restored tree itself is left exactly as the restore made it: owners and modes are
/// what is being tested.
pub fn open_path_to(restored: &Path) {
    let mut dirs: Vec<&Path> = restored
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(std::env::temp_dir()) && *d != std::env::temp_dir())
        .collect();
    dirs.reverse();
    for d in dirs {
        let mode = fs::symlink_metadata(d).expect("lstat").mode();
        chmod(d, (mode & 0o7777) | 0o011);
    }
}

/// Asserts that `path` is owned by `user` (a name from /etc/passwd).
pub fn assert_owned_by(path: &Path, user: &str) {
    let uid: u32 = sh(&format!("id -u {user}")).trim().parse().expect("id -u");
    let got = fs::symlink_metadata(path).expect("lstat").uid();
    assert_eq!(
        got,
        uid,
        "{} is owned by uid {got}, not {user}",
        path.display()
    );
}
