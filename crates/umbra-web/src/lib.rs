//! umbra's local web console: `umbra serve` and `umbra daemon --web`.
//!
//! Why a crate of its own: it is the only part of umbra that speaks HTTP, and it pulls in
//! a web stack (axum on tokio, maud's compile-time templates) that a minimal build leaves
//! out (the `web` feature of the `umbra` crate). The domain crates stay free of HTTP: the
//! console reads jobs and history through umbra-jobs and the repository through
//! umbra-repo, as the CLI does, and it runs jobs and restores by starting `umbra` itself
//! (`umbra --json run JOB`, `umbra --json restore ...`), so that a run from the console is
//! exactly a run from the command line: the same locks, phases, guards and records, and a
//! crash of a run never takes the console down.
//!
//! The rooms:
//! - [`access`]: who may do what (tokens, sessions, CSRF, the `Host` check, headers);
//! - [`repository`]: one opened repository, shared by all requests, refreshed when its
//!   snapshots change;
//! - [`jobs`]: the job file and each job's history, as the overview shows them;
//! - [`tasks`]: runs and restores started from the console, and their live output;
//! - [`pages`] and [`api`]: the HTML pages and the JSON API the pages use;
//! - [`edit`]: changing a job's open-files switches and commands (`--allow-edit`);
//! - [`tls`]: serving HTTPS with the operator's certificate.
//!
//! docs/WEB.md documents the routes, the security model and the JSON API.

pub mod access;
pub mod api;
mod assets;
mod download;
pub mod edit;
pub mod jobs;
pub mod pages;
mod render;
pub mod repository;
pub mod server;
pub mod tasks;
pub mod tls;
mod tree_path;

pub use repository::RepoSource;
pub use server::{serve, ConsoleOptions, Listen};
