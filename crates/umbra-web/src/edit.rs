//! Editing a job from the console (`--allow-edit`): the open-files switch of each source
//! and the `before` and `after_snapshot` commands, the fields of the dialog umbra started
//! from.
//!
//! The file is changed with `toml_edit`, so its comments and formatting stay as the
//! operator wrote them; a command the edit keeps keeps its table (`timeout`, `on_error`).
//! The new text must pass the same parser as `umbra config check` before anything is
//! written; then the previous file is kept beside it (`FILE.previous`) and the new one
//! replaces it atomically (written to a temporary file in the same directory, synced,
//! renamed over), with the old file's permissions.

use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};
use umbra_core::{ErrorKind, Result, UmbraError};

/// What the form sends for one job.
#[derive(Debug, Clone, Default)]
pub struct JobEdit {
    /// The open-files setting of each source, in the order of `sources`.
    pub open_files: Vec<String>,
    /// One command per entry.
    pub before: Vec<String>,
    pub after_snapshot: Vec<String>,
}

fn invalid(message: String) -> UmbraError {
    UmbraError::new(ErrorKind::InvalidInput, message)
}

/// The job file's text with `edit` applied to job `name`; fails when the result would
/// not pass `umbra config check`.
pub fn apply(file: &Path, text: &str, name: &str, edit: &JobEdit) -> Result<String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| invalid(format!("{}: not valid TOML: {e}", file.display())))?;
    let job = doc
        .get_mut("jobs")
        .and_then(|j| j.get_mut(name))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| invalid(format!("{} has no [jobs.{name}] table", file.display())))?;
    for o in &edit.open_files {
        if !["auto", "required", "off"].contains(&o.as_str()) {
            return Err(invalid(format!("`{o}` is not an open-files setting"))
                .with_hint("Use auto, required or off."));
        }
    }
    let sources = job
        .get_mut("sources")
        .ok_or_else(|| invalid(format!("[jobs.{name}] has no sources")))?;
    set_open_files(sources, &edit.open_files)?;
    if !job.contains_key("hooks") {
        let mut t = Table::new();
        t.set_implicit(false);
        job.insert("hooks", Item::Table(t));
    }
    let hooks = job
        .get_mut("hooks")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| invalid(format!("[jobs.{name}] `hooks` is not a table")))?;
    set_commands(hooks, "before", &edit.before);
    set_commands(hooks, "after_snapshot", &edit.after_snapshot);
    let new_text = doc.to_string();
    umbra_jobs::Config::parse(file, &new_text)?;
    Ok(new_text)
}

/// Sets each source's `open_files`: a bare path becomes `{ path = ..., open_files = ... }`
/// when its setting is not `auto`.
fn set_open_files(sources: &mut Item, settings: &[String]) -> Result<()> {
    if let Some(array) = sources.as_array_mut() {
        if array.len() != settings.len() {
            return Err(invalid(
                "the form has a setting for another number of sources: reload the page".into(),
            ));
        }
        for (i, setting) in settings.iter().enumerate() {
            let Some(v) = array.get_mut(i) else { continue };
            match v {
                Value::String(s) => {
                    if setting != "auto" {
                        let mut t = InlineTable::new();
                        t.insert("path", Value::from(s.value().clone()));
                        t.insert("open_files", Value::from(setting.as_str()));
                        let decor = v.decor().clone();
                        *v = Value::InlineTable(t);
                        *v.decor_mut() = decor;
                    }
                }
                Value::InlineTable(t) => {
                    t.insert("open_files", Value::from(setting.as_str()));
                }
                _ => {
                    return Err(invalid(format!(
                        "source {} is neither a path nor a table",
                        i + 1
                    )))
                }
            }
        }
        return Ok(());
    }
    if let Some(tables) = sources.as_array_of_tables_mut() {
        if tables.len() != settings.len() {
            return Err(invalid(
                "the form has a setting for another number of sources: reload the page".into(),
            ));
        }
        for (t, setting) in tables.iter_mut().zip(settings) {
            t.insert("open_files", toml_edit::value(setting.as_str()));
        }
        return Ok(());
    }
    Err(invalid("`sources` is not an array".into()))
}

/// Replaces a phase's commands, keeping the entry (and its table) of each command kept.
fn set_commands(hooks: &mut dyn toml_edit::TableLike, key: &str, commands: &[String]) {
    let old: Vec<Value> = hooks
        .get(key)
        .and_then(Item::as_array)
        .map(|a| a.iter().cloned().collect())
        .unwrap_or_default();
    let shown = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.value().clone()),
            Value::InlineTable(t) => t.get("run").and_then(|r| r.as_str()).map(str::to_string),
            _ => None,
        }
    };
    if old.iter().map(shown).collect::<Vec<_>>()
        == commands.iter().cloned().map(Some).collect::<Vec<_>>()
    {
        return;
    }
    let mut array = Array::new();
    for c in commands {
        match old.iter().find(|v| shown(v).as_deref() == Some(c.as_str())) {
            Some(v) => array.push_formatted(v.clone()),
            None => array.push(c.as_str()),
        }
    }
    hooks.insert(key, Item::Value(Value::Array(array)));
}

/// Writes `text` over `file`, keeping the previous file as `FILE.previous`; returns that
/// path.
pub fn write(file: &Path, text: &str) -> Result<PathBuf> {
    use std::io::Write;
    let previous = PathBuf::from(format!("{}.previous", file.display()));
    let tmp = PathBuf::from(format!("{}.umbra-edit", file.display()));
    let io = |what: &str, p: &Path, e: std::io::Error| UmbraError::io(what, p, e);
    std::fs::copy(file, &previous)
        .map_err(|e| io("cannot keep the previous job file", &previous, e))?;
    let perms = std::fs::metadata(file)
        .map_err(|e| io("cannot read the job file", file, e))?
        .permissions();
    let mut f =
        std::fs::File::create(&tmp).map_err(|e| io("cannot write the job file", &tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::set_permissions(&tmp, perms))
        .map_err(|e| io("cannot write the job file", &tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| io("cannot replace the job file", file, e))?;
    if let Some(dir) = file.parent() {
        let _ = umbra_core::os::sync_dir(dir);
    }
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# the operator's comment
[repository]
path = "/tmp/repo"   # where it goes
password_file = "/tmp/pw"

[jobs.db]
sources = ["/srv/db", { path = "/etc", open_files = "off" }]  # keep me

[jobs.db.hooks]
before = [{ run = "systemctl stop db", timeout = "2m" }]
"#;

    #[test]
    fn an_edit_keeps_comments_tables_and_validates() {
        let edit = JobEdit {
            open_files: vec!["required".into(), "auto".into()],
            before: vec!["systemctl stop db".into(), "sync".into()],
            after_snapshot: vec!["systemctl start db".into()],
        };
        let out = apply(Path::new("/x/umbra.toml"), FILE, "db", &edit).unwrap();
        assert!(out.contains("# the operator's comment") && out.contains("# where it goes"));
        assert!(out.contains("# keep me"), "{out}");
        assert!(
            out.contains(r#"{ path = "/srv/db", open_files = "required" }"#),
            "{out}"
        );
        assert!(out.contains(r#"open_files = "auto""#), "{out}");
        assert!(
            out.contains(r#"timeout = "2m""#),
            "the kept command keeps its table: {out}"
        );
        assert!(
            out.contains(r#""sync""#) && out.contains(r#"after_snapshot = ["systemctl start db"]"#),
            "{out}"
        );
        let config = umbra_jobs::Config::parse(Path::new("/x/umbra.toml"), &out).unwrap();
        assert_eq!(config.jobs["db"].hooks.before.len(), 2);
    }

    #[test]
    fn a_bad_edit_is_refused_before_anything_is_written() {
        let bad = JobEdit {
            open_files: vec!["sometimes".into(), "auto".into()],
            ..JobEdit::default()
        };
        assert!(apply(Path::new("/x/umbra.toml"), FILE, "db", &bad).is_err());
        let short = JobEdit {
            open_files: vec!["auto".into()],
            ..JobEdit::default()
        };
        assert!(apply(Path::new("/x/umbra.toml"), FILE, "db", &short).is_err());
        assert!(apply(
            Path::new("/x/umbra.toml"),
            FILE,
            "nope",
            &JobEdit::default()
        )
        .is_err());
    }
}
