//! umbra's backup jobs.
//!
//! A job file names a repository and jobs; a job names sources, retention, a schedule,
//! and the user's own commands around the snapshot. This crate reads job files into a
//! validated [`config::Config`] (errors name file, line and key), runs a job's phases in
//! their fixed order ([`runner`]), runs each command in its own process group with a
//! timeout ([`command`]), keeps each job's lock, logs and history ([`state`]), evaluates
//! systemd calendar expressions ([`calendar`]), writes systemd units or runs due jobs
//! itself ([`schedule`]), holds applications still around the snapshot set
//! ([`quiesce`]), keeps snapshots as the base of the next backup ([`bases`]), tells the
//! job's notification targets how runs went (`runner::notify`, through umbra-notify), and
//! turns the histories into Prometheus metrics ([`metrics`]) and a stale-backup check
//! ([`overdue`]).
//!
//! Like the other domain crates it never prints: it reports to a `Monitor` and returns
//! records; the CLI renders them.

pub mod bases;
pub mod calendar;
pub mod command;
pub mod config;
pub mod drill;
pub mod maintenance_log;
pub mod metrics;
pub mod overdue;
pub mod phase;
pub mod priority;
mod process_tree;
pub mod quiesce;
pub mod runner;
pub mod schedule;
pub mod state;
pub mod steps;

pub use config::{Config, Job};
pub use runner::{run_job, RunContext, RunReport};
