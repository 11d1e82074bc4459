//! The HTML pages. Each handler gathers what it shows through the same functions the
//! JSON API uses ([`crate::jobs`], [`crate::repository`], [`crate::tasks`]) and renders
//! it with maud; nothing here reads the repository or the job file by itself.

mod edit;
mod snapshots;

pub use edit::{form as edit_form, save as edit_save};
pub use snapshots::{browse, diff, health, restore, snapshots};

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::{Caller, Refusal, Role, COOKIE};
use crate::render::{bytes, chart, level_badge, page, seconds, status_badge, when};
use crate::server::{blocking, error_response, refusal_response, see_other, AppRef};

pub(crate) fn respond(m: Markup) -> Response {
    Html(m.into_string()).into_response()
}

/// Whether a form's CSRF field is the session's (Bearer clients need none).
pub(crate) fn csrf_ok(caller: &Caller, presented: Option<&str>) -> bool {
    caller
        .csrf
        .as_deref()
        .is_none_or(|t| presented.is_some_and(|p| p == t))
}

pub(crate) fn csrf_refused() -> Response {
    refusal_response(
        &Refusal::new(
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or stale: reload the page and try again",
        ),
        false,
    )
}

#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `/login?token=...`: the token for a session cookie, then the overview.
pub async fn login(State(app): State<AppRef>, Query(q): Query<LoginQuery>) -> Response {
    let Some(role) = q.token.as_deref().and_then(|t| app.tokens.role_of(t)) else {
        return refusal_response(
            &Refusal::new(
                StatusCode::UNAUTHORIZED,
                "that is not this console's token: `umbra serve --print-url` prints the login link",
            ),
            false,
        );
    };
    let id = app.sessions.open(role);
    let secure = if app.secure_cookie { "; Secure" } else { "" };
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}"),
            ),
            (header::LOCATION, "/".to_string()),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&caller, f.csrf.as_deref()) {
        return csrf_refused();
    }
    if let Some(s) = &caller.session {
        app.sessions.close(s);
    }
    respond(page("logged out", None, html! { p { "Logged out." } }))
}

fn run_button(name: &str, caller: &Caller, running: bool) -> Markup {
    html! {
        @if caller.role == Role::Admin {
            form.inline method="post" action={"/jobs/" (name) "/run"} {
                input type="hidden" name="csrf" value=(caller.csrf.clone().unwrap_or_default());
                @if running { button disabled { "Running…" } } @else { button { "Run now" } }
            }
        }
    }
}

fn commands(label: &str, lines: &[String]) -> Markup {
    html! {
        tr { th { (label) } td {
            @if lines.is_empty() { span.muted { "none" } }
            @for l in lines { code { (l) } br; }
        } }
    }
}

fn runs_table(name: &str, runs: &[umbra_jobs::state::RunRecord]) -> Markup {
    html! {
        table.runs {
            tr { th { "started" } th { "result" } th { "duration" } th { "bytes added" }
                 th { "consistency per source" } th { "freeze window" } th { "downtime" } th { "log" } }
            @for r in runs {
                tr {
                    td { (when(&r.started)) @if r.triggered_by.as_deref() == Some("console") { br; span.muted { "from the console" } } }
                    td { (status_badge(&r.status)) @if let Some(e) = &r.error { br; span.muted { (e) } } }
                    td.num { (seconds(r.seconds)) }
                    td.num { (r.backup.as_ref().map_or("-".to_string(), |b| bytes(b.bytes_added))) }
                    td { @if let Some(b) = &r.backup { @for s in &b.sources {
                        code { (s.path.display()) } " " (level_badge(&s.level)) " " span.muted { (s.method) } br;
                    } } }
                    td { @if let Some(b) = &r.backup { @for q in &b.quiesced {
                        (q.name) ": " (seconds(q.freeze_seconds)) @if q.failed { " (failed)" } br;
                    } } }
                    td.num { (r.downtime_seconds.map_or("-".to_string(), seconds)) }
                    td { a href={"/jobs/" (name) "/logs/" (r.run_id)} { "log" } }
                }
            }
        }
    }
}

/// `/`: every job, its sources and commands, its last runs.
pub async fn overview(State(app): State<AppRef>, Extension(caller): Extension<Caller>) -> Response {
    if !app.config_file.exists() {
        let body = html! {
            h1 { "Jobs" }
            p.notice { "There is no job file at " code { (app.config_file.display()) }
                ": no jobs to show. The snapshots of " code { (app.repo.describe()) }
                " are under Snapshots; docs/HOOKS.md says how to write a job file." }
        };
        return respond(page("Jobs", caller.csrf.as_deref(), body));
    }
    let file = app.config_file.clone();
    let jobs = match blocking(move || crate::jobs::overview(&file)).await {
        Ok(j) => j,
        Err(e) => return error_response(&e, false),
    };
    let body = html! {
        h1 { "Jobs" }
        p.muted { "Job file " code { (app.config_file.display()) } " · repository " code { (app.repo.describe()) } }
        @if jobs.is_empty() { p { "The job file defines no jobs." } }
        @for j in &jobs {
            section.job id={"job-" (j.name)} {
                h2 {
                    a href={"/jobs/" (j.name)} { (j.name) }
                    @if j.running.is_some() || app.tasks.running_job(&j.name).is_some() { (status_badge("running")) }
                    (run_button(&j.name, &caller, j.running.is_some()))
                }
                table {
                    tr { th { "source" } th { "open files" } th { "snapshot method now" } th { "why" } }
                    @for s in &j.sources {
                        tr { td { code { (s.path.display()) } } td { (s.open_files) } td { (s.method) } td.muted { (s.reason) } }
                    }
                }
                table {
                    (commands("before backing up", &j.before))
                    (commands("after the snapshot, before reading", &j.after_snapshot))
                    tr { th { "schedule" } td { (j.schedule.as_deref().unwrap_or("none"))
                        @if let Some(n) = &j.next_run { " · next run " (when(n)) } } }
                }
                (chart(&j.runs))
                (runs_table(&j.name, &j.runs[..j.runs.len().min(5)]))
            }
        }
    };
    respond(page("Jobs", caller.csrf.as_deref(), body))
}

/// `/jobs/NAME`: the job's history (the last 30 runs) with their logs.
pub async fn job(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    let j = match one_job(&app, &name).await {
        Ok(j) => j,
        Err(e) => return error_response(&e, false),
    };
    let body = html! {
        h1 { "Job " (j.name) " " (run_button(&j.name, &caller, j.running.is_some()))
            @if app.allow_edit && caller.role == Role::Admin { " " a href={"/jobs/" (j.name) "/edit"} { "Edit" } } }
        @if let Some(r) = &j.running { p.notice { "Running now: " (r) } }
        (chart(&j.runs))
        (runs_table(&j.name, &j.runs))
    };
    respond(page(&name, caller.csrf.as_deref(), body))
}

/// One job of the file, as the overview shows it.
pub(crate) async fn one_job(app: &AppRef, name: &str) -> umbra_core::Result<crate::jobs::JobView> {
    let file = app.config_file.clone();
    let jobs = blocking(move || crate::jobs::overview(&file)).await?;
    jobs.into_iter()
        .find(|j| j.name == name)
        .ok_or_else(|| no_job(name))
}

pub(crate) fn no_job(name: &str) -> umbra_core::UmbraError {
    umbra_core::UmbraError::new(
        umbra_core::ErrorKind::NotFound,
        format!("the job file has no job `{name}`"),
    )
}

/// `/jobs/NAME/logs/RUN`: a run's log, as text.
pub async fn run_log(
    State(app): State<AppRef>,
    Path((name, run)): Path<(String, String)>,
) -> Response {
    let file = app.config_file.clone();
    let n = name.clone();
    let found = blocking(move || {
        if !crate::jobs::exists(&file, &n)? {
            return Err(no_job(&n));
        }
        crate::jobs::log(&n, &run)
    })
    .await;
    match found {
        Ok(Some(text)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Ok(None) => error_response(
            &umbra_core::UmbraError::new(
                umbra_core::ErrorKind::NotFound,
                "no such log (umbra keeps the last 50)",
            ),
            false,
        ),
        Err(e) => error_response(&e, false),
    }
}

/// POST `/jobs/NAME/run`: starts the job, then shows it live.
pub async fn run_job(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&caller, f.csrf.as_deref()) {
        return csrf_refused();
    }
    match crate::api::start_run(&app, &caller, &name).await {
        Ok(task) => see_other(&format!("/tasks/{}", task.id)),
        Err(f) => f.respond(false),
    }
}

/// `/tasks`: what this console started.
pub async fn tasks(State(app): State<AppRef>, Extension(caller): Extension<Caller>) -> Response {
    let body = html! {
        h1 { "Started from this console" }
        table {
            tr { th { "started" } th { "what" } th { "state" } }
            @for t in app.tasks.all() {
                @let s = t.status();
                tr { td { a href={"/tasks/" (s.id)} { (when(&s.started)) } } td { (describe(&s.kind)) } td { (status_badge(&s.state)) } }
            }
        }
    };
    respond(page("Tasks", caller.csrf.as_deref(), body))
}

fn describe(kind: &crate::tasks::TaskKind) -> String {
    match kind {
        crate::tasks::TaskKind::Run { job } => format!("run of job {job}"),
        crate::tasks::TaskKind::Restore {
            snapshot,
            path,
            target,
        } => format!(
            "restore of {path} from {} to {}",
            &snapshot[..snapshot.len().min(8)],
            target.display()
        ),
    }
}

/// `/tasks/ID`: a run or restore, live (the script follows its events).
pub async fn task(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let Some(t) = app.tasks.get(&id) else {
        return error_response(
            &umbra_core::UmbraError::new(umbra_core::ErrorKind::NotFound, "no such task"),
            false,
        );
    };
    let s = t.status();
    let body = html! {
        h1 { (describe(&s.kind)) }
        p { "State: " span #state class={"badge " (if s.state == "running" { "fair" } else if s.state == "success" { "good" } else { "bad" })} { (s.state) }
            " · started " (when(&s.started)) }
        p #progress data-task=(s.id) {}
        ol #phases {}
        pre.log #log {}
        @if let crate::tasks::TaskKind::Run { job } = &s.kind { p { a href={"/jobs/" (job)} { "the job's history" } } }
    };
    respond(page("Task", caller.csrf.as_deref(), body))
}
