//! Paths inside a snapshot, as requests send them.
//!
//! A path a browser sends is never joined to anything on disk: it is split into names,
//! each checked (no `..`, no `.`, no empty or NUL-bearing name), and looked up one
//! directory at a time in the snapshot's own tree. Whatever it says, it can only name an
//! entry of that tree.

use std::ffi::OsStr;

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::view::{RepoView, TreeRef, ViewKind, ViewNode};

/// The names of `path` (`/a/b` or `a/b`; `/` or empty is the root).
pub fn names(path: &str) -> Result<Vec<&str>> {
    let mut out = Vec::new();
    for name in path.split('/') {
        if name.is_empty() {
            continue;
        }
        if name == "." || name == ".." || name.contains('\0') || name.contains('\\') {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{path}` is not a path inside a snapshot"),
            )
            .with_hint("Paths are absolute names in the snapshot, without `.` or `..`."));
        }
        out.push(name);
    }
    Ok(out)
}

/// The path made canonical: `/a/b`, or `/` for the root.
pub fn canonical(path: &str) -> Result<String> {
    Ok(format!("/{}", names(path)?.join("/")))
}

/// What a path names in a snapshot.
pub enum Found {
    Dir(TreeRef),
    Entry(ViewNode),
}

/// Walks `path` down from `root`.
pub fn find(view: &RepoView, root: TreeRef, path: &str) -> Result<Found> {
    let mut dir = root;
    let names = names(path)?;
    for (i, name) in names.iter().enumerate() {
        let node = view.child(dir, OsStr::new(name))?.ok_or_else(|| {
            UmbraError::new(ErrorKind::NotFound, format!("the snapshot has no `{path}`"))
        })?;
        let last = i + 1 == names.len();
        match (&node.kind, last) {
            (ViewKind::Dir(tree), _) => dir = *tree,
            (_, true) => return Ok(Found::Entry(node)),
            (_, false) => {
                return Err(UmbraError::new(
                    ErrorKind::NotFound,
                    format!("`{name}` in `{path}` is not a directory"),
                ))
            }
        }
    }
    Ok(Found::Dir(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        assert!(names("/a/../b").is_err());
        assert!(names("..").is_err());
        assert!(names("/a/./b").is_err());
        assert!(names("a\\..\\b").is_err());
        assert!(names("a\0b").is_err());
        assert_eq!(names("//a///b/").unwrap(), vec!["a", "b"]);
        assert_eq!(canonical("").unwrap(), "/");
        assert_eq!(canonical("a/b").unwrap(), "/a/b");
    }
}
