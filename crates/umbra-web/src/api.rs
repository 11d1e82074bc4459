//! The JSON API under `/api/`, which the pages use too, and `/metrics`. docs/WEB.md lists
//! every route with its answers.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use umbra_core::{ErrorKind, UmbraError};

use crate::access::{Caller, Refusal};
use crate::server::{blocking, error_response, refusal_response, AppRef};
use crate::tasks::Task;

/// Why an action did not start.
pub enum Failure {
    Refused(Refusal),
    Error(UmbraError),
}

impl Failure {
    pub fn respond(self, api: bool) -> Response {
        match self {
            Self::Refused(r) => refusal_response(&r, api),
            Self::Error(e) => error_response(&e, api),
        }
    }
}

/// Starts a run of `name`, unless it is running already (here or elsewhere).
pub async fn start_run(app: &AppRef, caller: &Caller, name: &str) -> Result<Arc<Task>, Failure> {
    caller.require_admin().map_err(Failure::Refused)?;
    let file = app.config_file.clone();
    let n = name.to_string();
    let running = blocking(move || {
        if !crate::jobs::exists(&file, &n)? {
            return Err(crate::pages::no_job(&n));
        }
        Ok(umbra_jobs::state::JobState::for_job(&n)?.running())
    })
    .await
    .map_err(Failure::Error)?;
    if running.is_some() || app.tasks.running_job(name).is_some() {
        return Err(Failure::Refused(Refusal::new(
            StatusCode::CONFLICT,
            format!("job {name} is running already; it is not started twice"),
        )));
    }
    app.tasks.start_run(name).map_err(Failure::Error)
}

pub async fn jobs(State(app): State<AppRef>) -> Response {
    let file = app.config_file.clone();
    match blocking(move || crate::jobs::overview(&file)).await {
        Ok(j) => Json(j).into_response(),
        Err(e) => error_response(&e, true),
    }
}

/// The CSRF token a browser's script sends with a POST to the API (`X-CSRF-Token`);
/// Bearer clients need none.
fn api_csrf_refusal(caller: &Caller, headers: &HeaderMap, body: Option<&str>) -> Option<Response> {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .or(body);
    (!crate::pages::csrf_ok(caller, presented)).then(|| {
        refusal_response(
            &Refusal::new(
                StatusCode::FORBIDDEN,
                "a browser's request must carry the page's CSRF token (X-CSRF-Token)",
            ),
            true,
        )
    })
}

pub async fn run_job(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = api_csrf_refusal(&caller, &headers, None) {
        return refused;
    }
    match start_run(&app, &caller, &name).await {
        Ok(t) => (StatusCode::ACCEPTED, Json(t.status())).into_response(),
        Err(f) => f.respond(true),
    }
}

pub async fn tasks(State(app): State<AppRef>) -> Response {
    let all: Vec<_> = app.tasks.all().iter().map(|t| t.status()).collect();
    Json(all).into_response()
}

#[derive(Serialize)]
struct TaskDetail {
    #[serde(flatten)]
    status: crate::tasks::TaskStatus,
    output: Vec<crate::tasks::Line>,
}

pub async fn task(State(app): State<AppRef>, Path(id): Path<String>) -> Response {
    match app.tasks.get(&id) {
        Some(t) => Json(TaskDetail {
            status: t.status(),
            output: t.lines_from(0),
        })
        .into_response(),
        None => error_response(&UmbraError::new(ErrorKind::NotFound, "no such task"), true),
    }
}

/// Server-sent events: every output line (`line`), then `end` with the final state.
pub async fn task_events(State(app): State<AppRef>, Path(id): Path<String>) -> Response {
    let Some(task) = app.tasks.get(&id) else {
        return error_response(&UmbraError::new(ErrorKind::NotFound, "no such task"), true);
    };
    let watch = task.watch();
    let stream = futures_util::stream::unfold(
        (task, 0usize, false, watch),
        |(task, mut next, ended, mut watch)| async move {
            if ended {
                return None;
            }
            loop {
                let _ = watch.borrow_and_update();
                let lines = task.lines_from(next);
                if !lines.is_empty() {
                    next += lines.len();
                    let events: Vec<Result<Event, Infallible>> = lines
                        .iter()
                        .map(|l| {
                            Ok(Event::default()
                                .event("line")
                                .data(serde_json::to_string(l).unwrap_or_default()))
                        })
                        .collect();
                    return Some((
                        futures_util::stream::iter(events),
                        (task, next, false, watch),
                    ));
                }
                if task.is_done() {
                    let end = Event::default()
                        .event("end")
                        .data(serde_json::to_string(&task.status()).unwrap_or_default());
                    return Some((
                        futures_util::stream::iter(vec![Ok(end)]),
                        (task, next, true, watch),
                    ));
                }
                if watch.changed().await.is_err() {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        },
    );
    Sse::new(futures_util::StreamExt::flatten(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The snapshot filter of the list: restic's host, tag and path, and umbra's job.
#[derive(Debug, Default, Deserialize)]
pub struct SnapshotQuery {
    pub host: Option<String>,
    pub tag: Option<String>,
    pub path: Option<String>,
    pub job: Option<String>,
}

/// The snapshots `q` lets through, newest first.
pub async fn filtered_snapshots(
    app: &AppRef,
    q: SnapshotQuery,
) -> umbra_core::Result<Vec<umbra_repo::SnapshotInfo>> {
    let app = Arc::clone(app);
    blocking(move || {
        let all = app.repo.snapshots()?;
        let job_ids: Option<Vec<String>> = match q.job.as_deref().filter(|j| !j.is_empty()) {
            Some(job) => {
                if !crate::jobs::exists(&app.config_file, job)? {
                    return Err(crate::pages::no_job(job));
                }
                Some(
                    umbra_jobs::state::JobState::for_job(job)?
                        .history()?
                        .into_iter()
                        .filter_map(|r| r.snapshot_id)
                        .collect(),
                )
            }
            None => None,
        };
        let some = |s: &Option<String>| s.as_deref().filter(|v| !v.is_empty()).map(str::to_string);
        let (host, tag, path) = (some(&q.host), some(&q.tag), some(&q.path));
        Ok(all
            .iter()
            .filter(|s| host.as_ref().is_none_or(|h| &s.hostname == h))
            .filter(|s| {
                tag.as_ref()
                    .is_none_or(|t| t.split(',').all(|t| s.tags.iter().any(|have| have == t)))
            })
            .filter(|s| {
                path.as_ref()
                    .is_none_or(|p| s.paths.iter().any(|have| have == &PathBuf::from(p)))
            })
            .filter(|s| {
                job_ids.as_ref().is_none_or(|ids| {
                    ids.iter()
                        .any(|id| s.id.starts_with(id.as_str()) || id.starts_with(&s.id))
                })
            })
            .cloned()
            .collect())
    })
    .await
}

pub async fn snapshots(State(app): State<AppRef>, Query(q): Query<SnapshotQuery>) -> Response {
    match filtered_snapshots(&app, q).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => error_response(&e, true),
    }
}

#[derive(Debug, Deserialize)]
pub struct LsQuery {
    pub path: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, Serialize)]
pub struct LsEntry {
    pub name: String,
    /// `dir`, `file`, `symlink` or `other`.
    pub kind: &'static str,
    pub size: u64,
    pub mode: u32,
    pub mtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One page of a directory.
#[derive(Debug, Clone, Serialize)]
pub struct LsPage {
    pub path: String,
    pub total: usize,
    pub offset: usize,
    pub entries: Vec<LsEntry>,
}

/// The most entries one page shows.
pub const PAGE: usize = 1000;

/// A page of the directory `path` of snapshot `id`.
pub async fn list_dir(app: &AppRef, id: String, q: LsQuery) -> umbra_core::Result<LsPage> {
    let app = Arc::clone(app);
    blocking(move || {
        use umbra_repo::view::ViewKind;
        let path = crate::tree_path::canonical(q.path.as_deref().unwrap_or("/"))?;
        let (_, view, root) = app.repo.tree_of(&id)?;
        let dir = match crate::tree_path::find(&view, root, &path)? {
            crate::tree_path::Found::Dir(d) => d,
            crate::tree_path::Found::Entry(_) => {
                return Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("`{path}` is not a directory"),
                ))
            }
        };
        let limit = q.limit.unwrap_or(PAGE).clamp(1, PAGE);
        let (total, page) = view.list_page(dir, q.offset.unwrap_or(0), limit)?;
        let offset = q.offset.unwrap_or(0).min(total);
        let entries = page
            .iter()
            .map(|n| LsEntry {
                name: n.name.to_string_lossy().into_owned(),
                kind: match n.kind {
                    ViewKind::Dir(_) => "dir",
                    ViewKind::File(_) => "file",
                    ViewKind::Symlink(_) => "symlink",
                    ViewKind::Special => "other",
                },
                size: n.size,
                mode: n.permissions,
                mtime: n
                    .mtime
                    .and_then(|t| jiff::Timestamp::try_from(t).ok())
                    .map(|t| t.to_string()),
                link: match &n.kind {
                    ViewKind::Symlink(l) => Some(l.to_string_lossy().into_owned()),
                    _ => None,
                },
            })
            .collect();
        Ok(LsPage {
            path,
            total,
            offset,
            entries,
        })
    })
    .await
}

pub async fn ls(
    State(app): State<AppRef>,
    Path(id): Path<String>,
    Query(q): Query<LsQuery>,
) -> Response {
    match list_dir(&app, id, q).await {
        Ok(p) => Json(p).into_response(),
        Err(e) => error_response(&e, true),
    }
}

/// What a restore asks for.
#[derive(Debug, Deserialize)]
pub struct RestoreRequest {
    pub snapshot: String,
    pub path: String,
    /// Where to restore; empty or absent: the original place (`/`).
    pub target: Option<String>,
    /// `always`, `if-changed`, `if-newer` or `never`, as `umbra restore --overwrite`.
    pub overwrite: Option<String>,
    pub csrf: Option<String>,
}

/// Starts a restore after checking every part of the request.
pub async fn start_restore(
    app: &AppRef,
    caller: &Caller,
    r: RestoreRequest,
) -> Result<Arc<Task>, Failure> {
    caller.require_admin().map_err(Failure::Refused)?;
    let path = crate::tree_path::canonical(&r.path).map_err(Failure::Error)?;
    let overwrite = r.overwrite.unwrap_or_else(|| "always".into());
    if !["always", "if-changed", "if-newer", "never"].contains(&overwrite.as_str()) {
        return Err(Failure::Error(
            UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{overwrite}` is not an overwrite mode"),
            )
            .with_hint("Use always, if-changed, if-newer or never."),
        ));
    }
    let target = PathBuf::from(
        r.target
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or("/"),
    );
    if !target.is_absolute()
        || target
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Failure::Error(
            UmbraError::new(ErrorKind::InvalidInput, format!("the target `{}` is not an absolute path", target.display()))
                .with_hint("Give an absolute directory without `..`, or leave it empty to restore to the original place."),
        ));
    }
    let a = Arc::clone(app);
    let id = r.snapshot.clone();
    let p = path.clone();
    let snap = blocking(move || {
        let (snap, view, root) = a.repo.tree_of(&id)?;
        crate::tree_path::find(&view, root, &p)?;
        Ok(snap)
    })
    .await
    .map_err(Failure::Error)?;
    app.tasks
        .start_restore(&snap.id, &path, target, &overwrite)
        .map_err(Failure::Error)
}

pub async fn restore(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Json(r): Json<RestoreRequest>,
) -> Response {
    if let Some(refused) = api_csrf_refusal(&caller, &headers, r.csrf.as_deref()) {
        return refused;
    }
    match start_restore(&app, &caller, r).await {
        Ok(t) => (StatusCode::ACCEPTED, Json(t.status())).into_response(),
        Err(f) => f.respond(true),
    }
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    pub a: Option<String>,
    pub b: Option<String>,
}

/// The diff of two snapshots, as `umbra diff` computes it.
pub async fn diff_of(
    app: &AppRef,
    a: String,
    b: String,
) -> umbra_core::Result<umbra_repo::diff::Diff> {
    let app = Arc::clone(app);
    blocking(move || {
        let sa = app.repo.snapshot(&a)?;
        let sb = app.repo.snapshot(&b)?;
        app.repo.reader()?.diff(&sa.id, &sb.id, false)
    })
    .await
}

pub async fn diff(State(app): State<AppRef>, Query(q): Query<DiffQuery>) -> Response {
    let (Some(a), Some(b)) = (q.a, q.b) else {
        return error_response(
            &UmbraError::new(ErrorKind::InvalidInput, "give two snapshots: ?a=ID&b=ID"),
            true,
        );
    };
    match diff_of(&app, a, b).await {
        Ok(d) => Json(d).into_response(),
        Err(e) => error_response(&e, true),
    }
}

/// The repository's health, as the health page shows it.
#[derive(Debug, Default, Serialize)]
pub struct Health {
    pub repository: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub snapshots: usize,
    /// Locks held by others now (a running backup, a prune).
    pub locks: Vec<String>,
    /// From the newest run record that measured it.
    pub size_bytes: Option<u64>,
    /// The last `umbra check` of this repository, and the last prune (`umbra prune`,
    /// `forget --prune`, or a job's retention), from umbra's maintenance log.
    pub last_check: Option<umbra_jobs::maintenance_log::MaintenanceRecord>,
    pub last_prune: Option<umbra_jobs::maintenance_log::MaintenanceRecord>,
    /// When a restore drill last passed (a restore checked file by file and, for
    /// databases, started).
    pub last_drill: Option<String>,
}

pub async fn health_of(app: &AppRef) -> Health {
    use umbra_jobs::maintenance_log;
    let app = Arc::clone(app);
    let repository = app.repo.describe();
    let known = Health {
        last_check: maintenance_log::last("check", &repository),
        last_prune: maintenance_log::last("prune", &repository),
        repository: repository.clone(),
        ..Health::default()
    };
    let r = blocking(move || {
        let snaps = app.repo.snapshots()?;
        let locks = app.repo.held_locks()?;
        let config = umbra_jobs::Config::load(&app.config_file).ok();
        let (mut size, mut drill): (Option<(String, u64)>, Option<String>) = (None, None);
        for name in config.iter().flat_map(|c| c.jobs.keys()) {
            let state = umbra_jobs::state::JobState::for_job(name)?;
            for r in state.history()? {
                if let Some(b) = r.backup.as_ref().and_then(|b| b.repository_bytes) {
                    if size.as_ref().is_none_or(|(t, _)| *t < r.started) {
                        size = Some((r.started.clone(), b));
                    }
                }
            }
            for d in state.drills()? {
                if d.passed() && drill.as_ref().is_none_or(|t| *t < d.started) {
                    drill = Some(d.started.clone());
                }
            }
        }
        Ok((snaps.len(), locks, size.map(|s| s.1), drill))
    })
    .await;
    match r {
        Ok((snapshots, locks, size_bytes, last_drill)) => Health {
            reachable: true,
            snapshots,
            locks,
            size_bytes,
            last_drill,
            ..known
        },
        Err(e) => Health {
            reachable: false,
            error: Some(format!("{} {}", e.message(), e.hint())),
            ..known
        },
    }
}

pub async fn health(State(app): State<AppRef>) -> Response {
    Json(health_of(&app).await).into_response()
}

/// `/metrics`: `umbra metrics`, in Prometheus' text format.
pub async fn metrics(State(app): State<AppRef>) -> Response {
    let file = app.config_file.clone();
    let text = blocking(move || {
        let config = umbra_jobs::Config::load(&file)?;
        umbra_jobs::metrics::render(&config, jiff::Timestamp::now())
    })
    .await;
    match text {
        Ok(t) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            t,
        )
            .into_response(),
        Err(e) => error_response(&e, true),
    }
}
