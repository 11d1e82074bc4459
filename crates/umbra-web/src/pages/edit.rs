//! `/jobs/NAME/edit` (with `--allow-edit`): the open-files switch of each source and the
//! `before` and `after_snapshot` commands, as the dialog umbra started from has them.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::{csrf_ok, csrf_refused, respond};
use crate::access::{Caller, Refusal};
use crate::edit::JobEdit;
use crate::render::page;
use crate::server::{blocking, error_response, refusal_response, see_other, AppRef};

fn allowed(app: &AppRef, caller: &Caller) -> Result<(), Refusal> {
    if !app.allow_edit {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "editing the job file from the console is off: start the console with --allow-edit",
        ));
    }
    caller.require_admin()
}

pub async fn form(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = allowed(&app, &caller) {
        return refusal_response(&r, false);
    }
    let j = match super::one_job(&app, &name).await {
        Ok(j) => j,
        Err(e) => return error_response(&e, false),
    };
    let body = html! {
        h1 { "Edit job " (j.name) }
        p.muted { "Changes are checked as `umbra config check` checks them, then written to "
            code { (app.config_file.display()) } " with its comments kept; the previous file stays beside it as "
            code { (app.config_file.display()) ".previous" } "." }
        form #edit method="post" action={"/jobs/" (j.name) "/edit"} {
            input type="hidden" name="csrf" value=(caller.csrf.clone().unwrap_or_default());
            table {
                tr { th { "source" } th { "back up open files" } }
                @for (i, s) in j.sources.iter().enumerate() {
                    tr { td { code { (s.path.display()) } } td {
                        select name={"open_files_" (i)} {
                            @for (v, label) in [("auto", "auto: snapshot when possible"), ("required", "required: fail without a snapshot"), ("off", "off: read in place")] {
                                option value=(v) selected[s.open_files == v] { (label) }
                            }
                        }
                    } }
                }
            }
            p { label { "Before backing up (one command per line)" br;
                textarea name="before" rows="4" cols="80" { (j.before.join("\n")) } } }
            p { label { "After the snapshot, before reading (one command per line)" br;
                textarea name="after_snapshot" rows="4" cols="80" { (j.after_snapshot.join("\n")) } } }
            button { "Save" }
        }
    };
    respond(page(&format!("Edit {name}"), caller.csrf.as_deref(), body))
}

fn lines(text: Option<&String>) -> Vec<String> {
    text.map(|t| {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

pub async fn save(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = allowed(&app, &caller) {
        return refusal_response(&r, false);
    }
    if !csrf_ok(&caller, f.get("csrf").map(String::as_str)) {
        return csrf_refused();
    }
    let mut open_files = Vec::new();
    while let Some(v) = f.get(&format!("open_files_{}", open_files.len())) {
        open_files.push(v.clone());
    }
    let edit = JobEdit {
        open_files,
        before: lines(f.get("before")),
        after_snapshot: lines(f.get("after_snapshot")),
    };
    let file = app.config_file.clone();
    let n = name.clone();
    let saved = blocking(move || {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| umbra_core::UmbraError::io("cannot read the job file", &file, e))?;
        let new_text = crate::edit::apply(&file, &text, &n, &edit)?;
        crate::edit::write(&file, &new_text)
    })
    .await;
    match saved {
        Ok(previous) => {
            // The file is written: the audit line is best effort, as for tasks (the
            // previous file beside it says what changed).
            let _ = app.tasks.audit(&serde_json::json!({
                "kind": "edit", "job": name, "file": app.config_file, "previous": previous,
            }));
            see_other(&format!("/jobs/{name}"))
        }
        Err(e) => error_response(&e, false),
    }
}
