//! The console's server: options resolved into a plan before anything listens, the
//! routes, and the guard every request passes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::access::{self, Caller, Refusal, Sessions, Tokens};
use crate::repository::{RepoSource, SharedRepo};
use crate::tasks::{ChildCommand, Tasks};

/// Where the console listens, and how.
#[derive(Debug, Clone)]
pub struct Listen {
    pub addr: SocketAddr,
    /// Certificate chain and key (PEM) for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve plain HTTP on a non-loopback address (`--insecure-http`).
    pub insecure_http: bool,
}

impl Listen {
    /// Refuses plain HTTP beyond loopback unless asked for.
    pub fn validate(&self) -> Result<()> {
        if !self.addr.ip().is_loopback() && self.tls.is_none() && !self.insecure_http {
            return Err(access::plain_http_refused(&self.addr.to_string()));
        }
        Ok(())
    }

    /// `http` or `https`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// Everything the console needs, resolved by the CLI.
pub struct ConsoleOptions {
    pub listen: Listen,
    /// Extra host names the console answers to (besides its address and, on loopback,
    /// `localhost`).
    pub host_names: Vec<String>,
    pub metrics_public: bool,
    pub read_only_token: bool,
    /// Let the console change the job file (`--allow-edit`).
    pub allow_edit: bool,
    pub config_file: PathBuf,
    /// The console's own directory (tokens, audit log): `STATE/web`.
    pub dir: PathBuf,
    pub repository: Box<dyn RepoSource>,
    pub child: ChildCommand,
}

/// The state every handler shares.
pub struct App {
    pub config_file: PathBuf,
    pub repo: SharedRepo,
    pub tokens: Tokens,
    pub sessions: Sessions,
    pub tasks: Tasks,
    pub hosts: Vec<String>,
    pub origins: Vec<String>,
    pub metrics_public: bool,
    pub secure_cookie: bool,
    pub allow_edit: bool,
}

pub type AppRef = Arc<App>;

impl App {
    /// Builds the state (creating the tokens on first start).
    pub fn new(opts: ConsoleOptions) -> Result<(Self, Listen)> {
        opts.listen.validate()?;
        let tokens = Tokens::load_or_create(&opts.dir, opts.read_only_token)?;
        let port = opts.listen.addr.port();
        let mut hosts = vec![opts.listen.addr.to_string()];
        if opts.listen.addr.ip().is_loopback() {
            hosts.push(format!("localhost:{port}"));
        }
        for h in &opts.host_names {
            hosts.push(if h.contains(':') {
                h.clone()
            } else {
                format!("{h}:{port}")
            });
        }
        let scheme = opts.listen.scheme();
        let origins = hosts.iter().map(|h| format!("{scheme}://{h}")).collect();
        let app = Self {
            config_file: opts.config_file,
            repo: SharedRepo::new(opts.repository),
            tokens,
            sessions: Sessions::default(),
            tasks: Tasks::new(opts.child, opts.dir.join("audit.jsonl")),
            hosts,
            origins,
            metrics_public: opts.metrics_public,
            secure_cookie: opts.listen.tls.is_some(),
            allow_edit: opts.allow_edit,
        };
        Ok((app, opts.listen))
    }

    /// The login link: the first address with the access token.
    #[must_use]
    pub fn login_url(&self, scheme: &str) -> String {
        format!(
            "{scheme}://{}/login?token={}",
            self.hosts.first().map_or("", String::as_str),
            self.tokens.admin()
        )
    }
}

/// The routes.
pub fn router(app: AppRef) -> Router {
    Router::new()
        .route("/", get(crate::pages::overview))
        .route("/login", get(crate::pages::login))
        .route("/logout", post(crate::pages::logout))
        .route("/jobs/{name}", get(crate::pages::job))
        .route("/jobs/{name}/run", post(crate::pages::run_job))
        .route(
            "/jobs/{name}/edit",
            get(crate::pages::edit_form).post(crate::pages::edit_save),
        )
        .route("/jobs/{name}/logs/{run}", get(crate::pages::run_log))
        .route("/tasks", get(crate::pages::tasks))
        .route("/tasks/{id}", get(crate::pages::task))
        .route("/snapshots", get(crate::pages::snapshots))
        .route("/snapshots/{id}", get(crate::pages::browse))
        .route("/snapshots/{id}/file", get(crate::download::file))
        .route("/snapshots/{id}/archive", get(crate::download::archive))
        .route("/snapshots/{id}/restore", post(crate::pages::restore))
        .route("/diff", get(crate::pages::diff))
        .route("/health", get(crate::pages::health))
        .route("/metrics", get(crate::api::metrics))
        .route("/static/{file}", get(crate::assets::serve))
        .route("/api/jobs", get(crate::api::jobs))
        .route("/api/jobs/{name}/run", post(crate::api::run_job))
        .route("/api/tasks", get(crate::api::tasks))
        .route("/api/tasks/{id}", get(crate::api::task))
        .route("/api/tasks/{id}/events", get(crate::api::task_events))
        .route("/api/snapshots", get(crate::api::snapshots))
        .route("/api/snapshots/{id}/ls", get(crate::api::ls))
        .route("/api/restore", post(crate::api::restore))
        .route("/api/diff", get(crate::api::diff))
        .route("/api/health", get(crate::api::health))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            guard,
        ))
        .with_state(app)
}

/// Every request: the `Host` check, who is asking, the same-origin check of anything
/// but GET, and the hardening headers on every answer.
async fn guard(State(app): State<AppRef>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let api = path.starts_with("/api/");
    let checked = (|| {
        access::check_host(req.headers(), &app.hosts)?;
        let public = path.starts_with("/static/")
            || path == "/login"
            || (path == "/metrics" && app.metrics_public);
        let caller = identify(&app, req.headers());
        let Some(caller) = caller else {
            return if public {
                Ok(())
            } else {
                Err(Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "this console needs its access token: open the link `umbra serve --print-url` prints, or send `Authorization: Bearer TOKEN`",
                ))
            };
        };
        let method = req.method().clone();
        if method != Method::GET && method != Method::HEAD {
            if caller.session.is_some() {
                access::check_same_origin(&method, req.headers(), &app.origins)?;
            } else if method != Method::POST {
                return Err(Refusal::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "only POST changes anything here",
                ));
            }
        }
        req.extensions_mut().insert(caller);
        Ok(())
    })();
    let mut resp = match checked {
        Ok(()) => next.run(req).await,
        Err(r) => refusal_response(&r, api),
    };
    access::harden(resp.headers_mut());
    resp
}

fn identify(app: &App, headers: &axum::http::HeaderMap) -> Option<Caller> {
    if let Some(token) = access::bearer(headers) {
        return app.tokens.role_of(token).map(|role| Caller {
            role,
            csrf: None,
            session: None,
        });
    }
    let id = access::cookie(headers, access::COOKIE)?;
    let s = app.sessions.get(&id)?;
    Some(Caller {
        role: s.role,
        csrf: Some(s.csrf),
        session: Some(id),
    })
}

/// A refusal as JSON for the API, as a small page otherwise.
pub fn refusal_response(r: &Refusal, api: bool) -> Response {
    if api {
        (
            r.status,
            axum::Json(serde_json::json!({ "error": r.message })),
        )
            .into_response()
    } else {
        let body = crate::render::page(
            "refused",
            None,
            maud::html! { div.error role="alert" { p { (r.message) } } },
        );
        (r.status, Html(body.into_string())).into_response()
    }
}

/// An umbra error as a response: the status its kind calls for, the message and hint.
pub fn error_response(err: &UmbraError, api: bool) -> Response {
    let status = match err.kind() {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::RepositoryLocked => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if api {
        (
            status,
            axum::Json(serde_json::json!({ "error": err.message(), "hint": err.hint() })),
        )
            .into_response()
    } else {
        let body = crate::render::page("error", None, crate::render::error_box(err));
        (status, Html(body.into_string())).into_response()
    }
}

/// Runs blocking repository work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(UmbraError::new(
            ErrorKind::Internal,
            format!("a console task failed: {e}"),
        ))
    })
}

/// Serves the console until the process ends. `ready` is told the login URL once the
/// socket listens (the CLI prints it).
pub fn serve(opts: ConsoleOptions, ready: impl FnOnce(&str, &str)) -> Result<()> {
    let (app, listen) = App::new(opts)?;
    let tls = match &listen.tls {
        Some((cert, key)) => Some(crate::tls::acceptor(cert, key)?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("umbra-web")
        .build()
        .map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot start the console's runtime")
                .with_source(e)
        })?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen.addr)
            .await
            .map_err(|e| {
                UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("cannot listen on {}: {e}", listen.addr),
                )
                .with_hint(
                    "Choose another address or port with --listen, or stop what listens there.",
                )
            })?;
        let app = Arc::new(app);
        ready(
            &app.login_url(listen.scheme()),
            &app.tokens.admin_file.display().to_string(),
        );
        let routes = router(Arc::clone(&app));
        let served = match tls {
            Some(acceptor) => {
                axum::serve(crate::tls::TlsListener::new(listener, acceptor), routes).await
            }
            None => axum::serve(listener, routes).await,
        };
        served
            .map_err(|e| UmbraError::new(ErrorKind::Internal, "the console stopped").with_source(e))
    })
}

/// The value of a `Location` redirect after a form.
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}
