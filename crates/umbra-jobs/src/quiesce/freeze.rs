//! The `freeze` quiescer: holds every process of a service, a container or any cgroup
//! still for the length of the snapshot set, with Linux's cgroup freezer.
//!
//! ```toml
//! [[jobs.web.quiesce]]
//! type = "freeze"
//! unit = "nginx.service"          # a systemd unit's cgroup
//! container = ["db"]              # a Docker or Podman container's cgroup
//! cgroup = "/sys/fs/cgroup/app"   # any cgroup
//! covers = ["/srv/web"]           # default: all the job's sources
//! ```
//!
//! A frozen writer makes no writes, so even copies that are not atomic across files
//! (reflink clones, several volumes one after the other) hold one instant of its files.
//! It does not make an application write out what it holds in memory: a database still
//! wants its own quiescer (docs/CONSISTENCY.md).
//!
//! A container whose cgroup this host cannot freeze (a rootless or remote engine) is
//! paused through its engine instead (`docker pause`, `podman pause`), with the same
//! guardian and record. Never left frozen: see `guardian`. umbra refuses to freeze its own cgroup or one above
//! it (the commands of the job run in it too), before anything is frozen.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Result, UmbraError};

use super::cgroup::{container_pid, unit_cgroup_path, Cgroup, Hierarchies};
use super::guardian::{self, FrozenRecord, Guardian, Paused};
use super::{Context, Quiescer};

pub use super::FreezeTargets as Targets;

pub struct FreezeQuiescer {
    name: String,
    covers: Vec<PathBuf>,
    targets: Targets,
    hierarchies: Hierarchies,
    /// Resolved in `prepare`, in the order written: units, containers, cgroups.
    cgroups: Vec<Cgroup>,
    /// Containers whose cgroup cannot be frozen directly: paused through their engine.
    paused: Vec<Paused>,
    /// Cgroups asked to freeze (and so to be thawed).
    frozen: usize,
    /// Containers asked to pause (and so to be unpaused).
    pausing: usize,
    guardian: Option<Guardian>,
    record: Option<PathBuf>,
    /// Whether the last freeze completed.
    reached: bool,
}

impl FreezeQuiescer {
    #[must_use]
    pub fn new(name: String, covers: Vec<PathBuf>, targets: Targets) -> Self {
        Self {
            name,
            covers,
            targets,
            hierarchies: Hierarchies::default(),
            cgroups: Vec::new(),
            paused: Vec::new(),
            frozen: 0,
            pausing: 0,
            guardian: None,
            record: None,
            reached: false,
        }
    }

    fn resolve(&self) -> Result<(Vec<Cgroup>, Vec<Paused>)> {
        let h = &self.hierarchies;
        let mut out = Vec::new();
        let mut paused = Vec::new();
        for unit in &self.targets.units {
            let output = tool_output(
                "systemctl",
                &["show", "-p", "ControlGroup", "--value", unit],
            )?;
            out.push(h.named(&unit_cgroup_path(unit, &output)?)?);
        }
        for name in &self.targets.containers {
            let (engine, output) = inspect(name)?;
            // The container's own cgroup where this host can freeze it; its engine's
            // `pause` otherwise (a rootless or remote engine, a cgroup without a freezer).
            let cgroup = h
                .of_process(container_pid(name, &output)?)
                .and_then(|c| h.named(&c.dir));
            match cgroup {
                Ok(c) => out.push(c),
                Err(_) => paused.push(Paused {
                    engine,
                    name: name.clone(),
                }),
            }
        }
        for path in &self.targets.cgroups {
            out.push(h.named(path)?);
        }
        Ok((out, paused))
    }

    /// Refuses cgroups that hold umbra itself (and so the job's commands).
    fn refuse_own(&self, cgroups: &[Cgroup]) -> Result<()> {
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let v2 = self.hierarchies.of_process_text(&text);
        let v1 = Hierarchies {
            v2: None,
            ..self.hierarchies.clone()
        }
        .of_process_text(&text);
        for c in cgroups {
            if [&v2, &v1].into_iter().flatten().any(|own| c.contains(own)) {
                return Err(UmbraError::new(
                    ErrorKind::Config,
                    format!(
                        "{} holds umbra itself: freezing it would freeze umbra and the job's commands",
                        c.dir.display()
                    ),
                )
                .with_hint("Name the service's own cgroup, not one that umbra runs in (see /proc/self/cgroup of the umbra process)."));
            }
        }
        Ok(())
    }

    fn thaw_frozen(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        for p in self.paused[..self.pausing].iter().rev() {
            if let Err(e) = p.unpause() {
                errors.push(e.message().to_string());
            }
        }
        for c in self.cgroups[..self.frozen].iter().rev() {
            if let Err(e) = c.thaw() {
                errors.push(e.message().to_string());
            }
        }
        errors
    }
}

/// A container's main process id as its engine reports it: Docker's, else Podman's.
/// Returns the engine that answered (its path, for the guardian) and what it printed.
fn inspect(name: &str) -> Result<(PathBuf, String)> {
    let mut why = Vec::new();
    for engine in ["docker", "podman"] {
        let Some(path) = guardian::on_path(engine) else {
            why.push(format!("no {engine} on PATH"));
            continue;
        };
        match tool_output(
            &path.to_string_lossy(),
            &["inspect", "--format", "{{.State.Pid}}", name],
        ) {
            Ok(out) => return Ok((path, out)),
            Err(e) => why.push(e.message().to_string()),
        }
    }
    Err(UmbraError::new(
        ErrorKind::JobFailed,
        format!("cannot find the container {name}: {}", why.join("; ")),
    )
    .with_hint("Check the name with `docker ps` or `podman ps`, or name its cgroup with `cgroup`."))
}

/// Runs a lookup tool and returns what it printed.
fn tool_output(tool: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| UmbraError::new(ErrorKind::JobFailed, format!("cannot run {tool}: {e}")))?;
    if !out.status.success() {
        return Err(UmbraError::new(
            ErrorKind::JobFailed,
            format!(
                "`{tool} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Quiescer for FreezeQuiescer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "freeze"
    }

    fn covers(&self) -> &[PathBuf] {
        &self.covers
    }

    fn prepare(&mut self, _ctx: &Context<'_>) -> Result<()> {
        self.hierarchies = Hierarchies::of_this_system()?;
        let (cgroups, paused) = self.resolve()?;
        self.refuse_own(&cgroups)?;
        self.cgroups = cgroups;
        self.paused = paused;
        Ok(())
    }

    fn freeze(&mut self, deadline: Instant) -> Result<()> {
        self.reached = false;
        self.record = Some(FrozenRecord::write(
            &self.name,
            &self.cgroups,
            &self.paused,
        )?);
        let left = deadline.saturating_duration_since(Instant::now());
        self.guardian = Some(Guardian::start(
            &self.cgroups,
            &self.paused,
            left + Duration::from_secs(1),
            &self.hierarchies,
        )?);
        // Ask the cgroups first, so they freeze side by side; then the engines; then wait.
        for c in &self.cgroups {
            self.frozen += 1;
            c.start_freeze()?;
        }
        for p in &self.paused {
            self.pausing += 1;
            p.pause(deadline)?;
        }
        for c in &self.cgroups {
            c.freeze(deadline)?;
        }
        self.reached = true;
        Ok(())
    }

    fn thaw(&mut self) -> Result<()> {
        let errors = self.thaw_frozen();
        self.frozen = 0;
        self.pausing = 0;
        if !errors.is_empty() {
            // The guardian, dropped, tries again; the record stays for the next run.
            self.guardian = None;
            return Err(UmbraError::new(ErrorKind::JobFailed, errors.join("; ")));
        }
        if let Some(g) = self.guardian.take() {
            g.dismiss();
        }
        if let Some(record) = self.record.take() {
            guardian::forget(&record);
        }
        Ok(())
    }

    fn finish(&mut self, _backup_ok: bool) -> Result<()> {
        Ok(())
    }

    fn optional(&self) -> bool {
        true
    }

    fn froze(&self) -> bool {
        self.reached
    }

    fn details(&self) -> BTreeMap<String, String> {
        let names: Vec<String> = self
            .cgroups
            .iter()
            .map(|c| c.dir.display().to_string())
            .collect();
        let mut details = BTreeMap::from([("cgroups".to_string(), names.join(", "))]);
        if !self.paused.is_empty() {
            let paused: Vec<String> = self
                .paused
                .iter()
                .map(|p| format!("{} ({})", p.name, p.engine.display()))
                .collect();
            details.insert("paused".to_string(), paused.join(", "));
        }
        details
    }
}
