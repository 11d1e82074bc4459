//! The repository's pages: the snapshot list, browsing and restoring, diff, health.

use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};

use super::{csrf_ok, csrf_refused, respond};
use crate::access::{Caller, Role};
use crate::api::{DiffQuery, LsQuery, RestoreRequest, SnapshotQuery, PAGE};
use crate::render::{bytes, level_badge, page, q, status_badge, when};
use crate::server::{error_response, see_other, AppRef};

fn consistency(s: &umbra_repo::SnapshotInfo) -> Markup {
    html! {
        @match &s.consistency {
            Some(c) => { @for src in &c.sources { (level_badge(src.level.as_str())) " " } }
            None => { (level_badge("none")) }
        }
    }
}

/// `/snapshots`: every snapshot, filterable by host, tag, path and job.
pub async fn snapshots(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Query(filter): Query<SnapshotQuery>,
) -> Response {
    let shown = (
        filter.host.clone().unwrap_or_default(),
        filter.tag.clone().unwrap_or_default(),
        filter.path.clone().unwrap_or_default(),
        filter.job.clone().unwrap_or_default(),
    );
    let list = match crate::api::filtered_snapshots(&app, filter).await {
        Ok(l) => l,
        Err(e) => return error_response(&e, false),
    };
    let body = html! {
        h1 { "Snapshots" }
        form.filters method="get" action="/snapshots" {
            label { "host " input type="text" name="host" value=(shown.0); }
            label { "tag " input type="text" name="tag" value=(shown.1); }
            label { "path " input type="text" name="path" value=(shown.2); }
            label { "job " input type="text" name="job" value=(shown.3); }
            button { "Filter" }
        }
        p.muted { (list.len()) " snapshots" }
        table #snapshots {
            tr { th { "id" } th { "time" } th { "host" } th { "tags" } th { "paths" } th { "size" } th { "consistency" } th { "written by" } }
            @for s in &list {
                tr {
                    td { a href={"/snapshots/" (s.id)} { code { (s.short_id) } } }
                    td { (when(&s.time)) }
                    td { (s.hostname) }
                    td { (s.tags.join(", ")) }
                    td { @for p in &s.paths { code { (p.display()) } br; } }
                    td.num { (s.bytes.map_or("-".to_string(), bytes)) }
                    td { (consistency(s)) }
                    td.muted { (s.program) }
                }
            }
        }
    };
    respond(page("Snapshots", caller.csrf.as_deref(), body))
}

/// `/snapshots/ID?path=...&offset=...`: one directory, a page at a time.
pub async fn browse(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(lq): Query<LsQuery>,
) -> Response {
    let snap = match snapshot_of(&app, &id).await {
        Ok(s) => s,
        Err(e) => return error_response(&e, false),
    };
    let listing = match crate::api::list_dir(&app, id.clone(), lq).await {
        Ok(l) => l,
        Err(e) => return error_response(&e, false),
    };
    let here = listing.path.clone();
    let child = |name: &str| {
        if here == "/" {
            format!("/{name}")
        } else {
            format!("{here}/{name}")
        }
    };
    let parent = here
        .rsplit_once('/')
        .map(|(p, _)| if p.is_empty() { "/" } else { p })
        .unwrap_or("/")
        .to_string();
    let sid = snap.id.clone();
    let body = html! {
        h1 { "Snapshot " code { (snap.short_id) } }
        p { (when(&snap.time)) " · " (snap.hostname) " · " @for p in &snap.paths { code { (p.display()) } " " } }
        @if let Some(c) = &snap.consistency {
            table {
                tr { th { "source" } th { "method" } th { "consistency" } th { "data from" } th { "changed while read" } th { "unreadable" } }
                @for s in &c.sources {
                    tr { td { code { (s.path.display()) } } td { (s.method.as_str()) } td { (level_badge(s.level.as_str())) }
                         td { @if let Some(at) = moment(s.taken_at_unix_ms) { (at) " " span.muted { "(" (s.moment_label()) ")" } } }
                         td.num { (s.changed_while_read.len()) } td.num { (s.unreadable.len()) } }
                }
                @for qz in &c.quiesced {
                    tr { td { "quiesced: " (qz.name) } td { (qz.kind) } td { "frozen " (crate::render::seconds(qz.freeze_us as f64 / 1e6)) } td {} td {} td {} }
                }
            }
        } @else { p { (level_badge("none")) " written by " (snap.program) } }
        h2 { "Directory " code #cwd { (here) } }
        p {
            @if here != "/" { a href={"/snapshots/" (sid) "?path=" (q(&parent))} { "↑ up" } " · " }
            "download as " a href={"/snapshots/" (sid) "/archive?format=tar&path=" (q(&here))} { "tar" }
            " or " a href={"/snapshots/" (sid) "/archive?format=zip&path=" (q(&here))} { "zip" }
        }
        (pager(&sid, &here, listing.offset, listing.total))
        table #entries {
            tr { th { "name" } th { "size" } th { "mode" } th { "modified" } th {} }
            @for e in &listing.entries {
                @let path = child(&e.name);
                tr {
                    td { @match e.kind {
                        "dir" => { a.dir href={"/snapshots/" (sid) "?path=" (q(&path))} { (e.name) "/" } }
                        "file" => { a.file href={"/snapshots/" (sid) "/file?path=" (q(&path))} { (e.name) } }
                        _ => { (e.name) @if let Some(l) = &e.link { " → " code { (l) } } }
                    } }
                    td.num { @if e.kind == "file" { (bytes(e.size)) } }
                    td { code { (format!("{:o}", e.mode)) } }
                    td { (e.mtime.as_deref().map(when).unwrap_or_default()) }
                    td { @if caller.role == Role::Admin { (restore_form(&sid, &path, &caller)) } }
                }
            }
        }
        (pager(&sid, &here, listing.offset, listing.total))
        @if caller.role == Role::Admin { h2 { "Restore this directory" } (restore_form(&sid, &here, &caller)) }
    };
    respond(page(
        &format!("Snapshot {}", snap.short_id),
        caller.csrf.as_deref(),
        body,
    ))
}

fn pager(id: &str, path: &str, offset: usize, total: usize) -> Markup {
    html! {
        @if total > PAGE {
            p.pager {
                "entries " (offset + 1) "–" ((offset + PAGE).min(total)) " of " (total) " "
                @if offset > 0 { a href={"/snapshots/" (id) "?path=" (q(path)) "&offset=" (offset.saturating_sub(PAGE))} { "previous" } }
                @if offset + PAGE < total { a href={"/snapshots/" (id) "?path=" (q(path)) "&offset=" (offset + PAGE)} { "next" } }
            }
        }
    }
}

fn restore_form(id: &str, path: &str, caller: &Caller) -> Markup {
    html! {
        form.inline.restore method="post" action={"/snapshots/" (id) "/restore"} {
            input type="hidden" name="csrf" value=(caller.csrf.clone().unwrap_or_default());
            input type="hidden" name="path" value=(path);
            input type="text" name="target" placeholder="original place" title="an absolute directory; empty restores to the original place";
            select name="overwrite" title="what to do with files that exist in the target" {
                option value="always" { "overwrite what differs" }
                option value="if-changed" { "if changed" }
                option value="if-newer" { "if newer" }
                option value="never" { "never overwrite" }
            }
            button { "Restore" }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct RestoreForm {
    path: String,
    target: Option<String>,
    overwrite: Option<String>,
    csrf: Option<String>,
}

/// POST `/snapshots/ID/restore`: starts the restore, then shows it live.
pub async fn restore(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(f): Form<RestoreForm>,
) -> Response {
    if !csrf_ok(&caller, f.csrf.as_deref()) {
        return csrf_refused();
    }
    let req = RestoreRequest {
        snapshot: id,
        path: f.path,
        target: f.target,
        overwrite: f.overwrite,
        csrf: f.csrf,
    };
    match crate::api::start_restore(&app, &caller, req).await {
        Ok(t) => see_other(&format!("/tasks/{}", t.id)),
        Err(fail) => fail.respond(false),
    }
}

/// `/diff?a=ID&b=ID`: what changed between two snapshots.
pub async fn diff(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Query(dq): Query<DiffQuery>,
) -> Response {
    let form = html! {
        form.filters method="get" action="/diff" {
            label { "from " input type="text" name="a" value=(dq.a.clone().unwrap_or_default()); }
            label { "to " input type="text" name="b" value=(dq.b.clone().unwrap_or_default()); }
            button { "Compare" }
        }
    };
    let result = match (
        dq.a.clone().filter(|s| !s.is_empty()),
        dq.b.clone().filter(|s| !s.is_empty()),
    ) {
        (Some(a), Some(b)) => match crate::api::diff_of(&app, a, b).await {
            Ok(d) => html! {
                p { (d.changes.len()) " changes" }
                table #diff {
                    tr { th {} th { "path" } th { "size" } }
                    @for c in &d.changes { tr { td { code { (c.modifier) } } td { code { (c.entry.path.display()) } } td.num { (bytes(c.entry.size)) } } }
                }
            },
            Err(e) => crate::render::error_box(&e),
        },
        _ => html! { p.muted { "Give two snapshot ids (or prefixes)." } },
    };
    respond(page(
        "Diff",
        caller.csrf.as_deref(),
        html! { h1 { "Diff" } (form) (result) },
    ))
}

fn maintenance(r: Option<&umbra_jobs::maintenance_log::MaintenanceRecord>) -> Markup {
    html! {
        @match r {
            Some(r) => { (when(&r.time)) " " (status_badge(if r.ok { "success" } else { "failed" })) " " span.muted { (r.detail) } }
            None => { "never (umbra records checks and prunes from this version on)" }
        }
    }
}

/// `/health`: the repository, its locks, size, last prune and last proven restore.
pub async fn health(State(app): State<AppRef>, Extension(caller): Extension<Caller>) -> Response {
    let h = crate::api::health_of(&app).await;
    let body = html! {
        h1 { "Repository" }
        p { code { (h.repository) } }
        @if let Some(e) = &h.error { div.error role="alert" { p { strong { "The repository cannot be read: " } (e) } } }
        @if !h.locks.is_empty() {
            div.notice { p { strong { "The repository is locked by another process: " } }
                @for l in &h.locks { p { (l) } } }
        }
        table {
            tr { th { "snapshots" } td { (h.snapshots) } }
            tr { th { "size" } td { (h.size_bytes.map_or("not measured yet".to_string(), bytes)) } }
            tr { th { "last check" } td { (maintenance(h.last_check.as_ref())) } }
            tr { th { "last prune" } td { (maintenance(h.last_prune.as_ref())) } }
            tr { th { "last proven restore (drill)" } td { (h.last_drill.as_deref().map_or("never".to_string(), when)) } }
        }
    };
    respond(page("Repository", caller.csrf.as_deref(), body))
}

async fn snapshot_of(app: &AppRef, id: &str) -> umbra_core::Result<umbra_repo::SnapshotInfo> {
    let a = std::sync::Arc::clone(app);
    let id = id.to_string();
    crate::server::blocking(move || a.repo.snapshot(&id)).await
}

/// A source's moment (`taken_at_unix_ms`), in UTC to the millisecond.
fn moment(unix_ms: Option<u64>) -> Option<String> {
    let ms = i64::try_from(unix_ms?).ok()?;
    let at = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(at.strftime("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
}
