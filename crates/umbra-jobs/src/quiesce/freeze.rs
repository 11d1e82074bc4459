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
//! Never left frozen: see `guardian`. umbra refuses to freeze its own cgroup or one above
//! it (the commands of the job run in it too), before anything is frozen.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use umbra_core::{ErrorKind, Result, UmbraError};

use super::cgroup::{container_pid, unit_cgroup_path, Cgroup, Hierarchies};
use super::guardian::{self, FrozenRecord, Guardian};
use super::{Context, Quiescer};

/// What a freeze quiescer names, as the job file does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub units: Vec<String>,
    pub containers: Vec<String>,
    pub cgroups: Vec<PathBuf>,
}

pub struct FreezeQuiescer {
    name: String,
    covers: Vec<PathBuf>,
    targets: Targets,
    hierarchies: Hierarchies,
    /// Resolved in `prepare`, in the order written: units, containers, cgroups.
    cgroups: Vec<Cgroup>,
    /// Asked to freeze (and so to be thawed).
    frozen: usize,
    guardian: Option<Guardian>,
    record: Option<PathBuf>,
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
            frozen: 0,
            guardian: None,
            record: None,
        }
    }

    fn resolve(&self) -> Result<Vec<Cgroup>> {
        let h = &self.hierarchies;
        let mut out = Vec::new();
        for unit in &self.targets.units {
            let output = tool_output(
                "systemctl",
                &["show", "-p", "ControlGroup", "--value", unit],
            )?;
            out.push(h.named(&unit_cgroup_path(unit, &output)?)?);
        }
        for name in &self.targets.containers {
            let output = tool_output("docker", &["inspect", "--format", "{{.State.Pid}}", name])
                .or_else(|_| tool_output("podman", &["inspect", "--format", "{{.State.Pid}}", name]))
                .map_err(|e| {
                    UmbraError::new(
                        ErrorKind::JobFailed,
                        format!("cannot find the container {name}: {}", e.message()),
                    )
                    .with_hint("Check the name with `docker ps` or `podman ps`, or name its cgroup with `cgroup`.")
                })?;
            out.push(h.of_process(container_pid(name, &output)?)?);
        }
        for path in &self.targets.cgroups {
            out.push(h.named(path)?);
        }
        Ok(out)
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
        for c in self.cgroups[..self.frozen].iter().rev() {
            if let Err(e) = c.thaw() {
                errors.push(e.message().to_string());
            }
        }
        errors
    }
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
        let cgroups = self.resolve()?;
        self.refuse_own(&cgroups)?;
        self.cgroups = cgroups;
        Ok(())
    }

    fn freeze(&mut self, deadline: Instant) -> Result<()> {
        self.record = Some(FrozenRecord::write(&self.name, &self.cgroups)?);
        let left = deadline.saturating_duration_since(Instant::now());
        self.guardian = Some(Guardian::start(
            &self.cgroups,
            left + Duration::from_secs(1),
            &self.hierarchies,
        )?);
        // Ask them all first, so they freeze side by side; then wait for each.
        for c in &self.cgroups {
            self.frozen += 1;
            c.start_freeze()?;
        }
        for c in &self.cgroups {
            c.freeze(deadline)?;
        }
        Ok(())
    }

    fn thaw(&mut self) -> Result<()> {
        let errors = self.thaw_frozen();
        self.frozen = 0;
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

    fn details(&self) -> BTreeMap<String, String> {
        let names: Vec<String> = self
            .cgroups
            .iter()
            .map(|c| c.dir.display().to_string())
            .collect();
        BTreeMap::from([("cgroups".to_string(), names.join(", "))])
    }
}
