//! The `command` quiescer: the user's own freeze and thaw commands, a custom writer with the
//! same bound and guarantees as the built-in ones.
//!
//! ```toml
//! [[jobs.app.quiesce]]
//! type = "command"
//! name = "app"
//! freeze = "app-ctl freeze"      # must return once the application holds still
//! thaw = "app-ctl thaw"
//! covers = ["/srv/app"]          # default: all the job's sources
//! ```
//!
//! The freeze command's timeout is what is left of the bound when it starts, so a hung
//! freeze is killed (with its process group) at the bound, and thaw runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use umbra_core::{ErrorKind, Result, UmbraError};

use super::Quiescer;
use crate::command::HookCommand;
use crate::phase::Phase;

/// Runs one command for a quiescer (with the job's log and environment) as the given
/// phase; returns the failure in words.
pub type Exec = Arc<dyn Fn(Phase, &HookCommand) -> std::result::Result<(), String> + Send + Sync>;

pub struct CommandQuiescer {
    pub name: String,
    pub covers: Vec<PathBuf>,
    pub prepare: Option<HookCommand>,
    pub freeze: HookCommand,
    pub thaw: HookCommand,
    pub finish: Option<HookCommand>,
    pub exec: Exec,
}

impl CommandQuiescer {
    fn run(&self, step: Phase, cmd: &HookCommand) -> Result<()> {
        (self.exec)(step, cmd).map_err(|e| UmbraError::new(ErrorKind::JobFailed, e))
    }
}

impl Quiescer for CommandQuiescer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "command"
    }

    fn covers(&self) -> &[PathBuf] {
        &self.covers
    }

    fn prepare(&mut self, _ctx: &super::Context<'_>) -> Result<()> {
        match &self.prepare {
            Some(c) => self.run(Phase::QuiescePrepare, c),
            None => Ok(()),
        }
    }

    fn freeze(&mut self, deadline: Instant) -> Result<()> {
        let mut cmd = self.freeze.clone();
        cmd.timeout = cmd
            .timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        self.run(Phase::Freeze, &cmd)
    }

    fn thaw(&mut self) -> Result<()> {
        self.run(Phase::Thaw, &self.thaw.clone())
    }

    fn finish(&mut self, _backup_ok: bool) -> Result<()> {
        match &self.finish {
            Some(c) => self.run(Phase::QuiesceFinish, &c.clone()),
            None => Ok(()),
        }
    }
}
