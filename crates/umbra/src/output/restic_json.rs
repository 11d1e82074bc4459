//! restic 0.14's `--json` shapes for `ls` and `find`, so that a script written against
//! restic reads umbra unchanged: the same keys with the same types and the same
//! omissions (no `size` for a directory in `ls`), and `find`'s one array. What umbra
//! adds (`linktarget` in `ls`) is a key restic's later versions have too.

use serde_json::{json, Map, Value};
use umbra_repo::browse::{go_mode_string, Entry};

/// The node's name: the last part of its path.
fn name_of(e: &Entry) -> String {
    e.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into())
}

fn put(o: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    o.insert(key.into(), value.into());
}

fn put_some<T: Into<Value>>(o: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        put(o, key, v);
    }
}

/// One line of `ls --json` after the snapshot's: restic's `lsNode`.
#[must_use]
pub fn ls_node(e: &Entry) -> Value {
    let mut o = Map::new();
    put(&mut o, "name", name_of(e));
    put(&mut o, "type", e.kind);
    put(&mut o, "path", e.path.display().to_string());
    put(&mut o, "uid", e.uid.unwrap_or(0));
    put(&mut o, "gid", e.gid.unwrap_or(0));
    if e.kind == "file" {
        put(&mut o, "size", e.size);
    }
    put(&mut o, "mode", e.mode.unwrap_or(0));
    put(&mut o, "permissions", go_mode_string(e.mode.unwrap_or(0)));
    put_some(&mut o, "mtime", e.mtime.clone());
    put_some(&mut o, "atime", e.atime.clone());
    put_some(&mut o, "ctime", e.ctime.clone());
    put_some(&mut o, "linktarget", e.link.clone());
    put(&mut o, "struct_type", "node");
    Value::Object(o)
}

/// The first line of `ls --json`: the snapshot, as `snapshots --json` gives it, marked.
#[must_use]
pub fn ls_snapshot(snapshot: &umbra_repo::SnapshotInfo) -> Value {
    let mut v = serde_json::to_value(snapshot).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("struct_type".into(), "snapshot".into());
    }
    v
}

/// One match of `find --json`: restic's node, with the owner's names and the device.
#[must_use]
pub fn find_match(e: &Entry) -> Value {
    let mut o = Map::new();
    put(&mut o, "path", e.path.display().to_string());
    put(&mut o, "permissions", go_mode_string(e.mode.unwrap_or(0)));
    put(&mut o, "type", e.kind);
    put(&mut o, "mode", e.mode.unwrap_or(0));
    put_some(&mut o, "mtime", e.mtime.clone());
    put_some(&mut o, "atime", e.atime.clone());
    put_some(&mut o, "ctime", e.ctime.clone());
    put(&mut o, "uid", e.uid.unwrap_or(0));
    put(&mut o, "gid", e.gid.unwrap_or(0));
    put(&mut o, "user", e.user.clone().unwrap_or_default());
    put(&mut o, "group", e.group.clone().unwrap_or_default());
    if e.device_id != 0 {
        put(&mut o, "device_id", e.device_id);
    }
    if e.size > 0 {
        put(&mut o, "size", e.size);
    }
    if e.links != 0 {
        put(&mut o, "links", e.links);
    }
    put_some(&mut o, "linktarget", e.link.clone());
    Value::Object(o)
}

/// `find --json`: one array, an object per snapshot with matches, as restic prints it.
#[must_use]
pub fn find_result(found: &[(String, Vec<Entry>)]) -> Value {
    Value::Array(
        found
            .iter()
            .map(|(id, entries)| {
                json!({
                    "matches": entries.iter().map(find_match).collect::<Vec<_>>(),
                    "hits": entries.len(),
                    "snapshot": id,
                })
            })
            .collect(),
    )
}
