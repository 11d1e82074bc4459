//! A drill's scratch directory: private, outside the sources, and always removed.
//!
//! Like a snapshot, a scratch directory is a guard backed by a persistent record
//! (`<state>/drills/ID.json`: the owner process, the directory, the servers started in
//! it). It is removed when the guard drops (success or failure), by an interrupt action
//! on Ctrl-C or SIGTERM (which also kills the drilled servers), and, after a `kill -9`, by
//! [`sweep`] at the start of the next drill or job run. The servers themselves die with
//! umbra even then: they are started with a parent-death signal (`server.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use umbra_core::{ErrorKind, Event, Monitor, Result, UmbraError};
use umbra_snapshot::registry::Owner;

/// The persistent record of one scratch directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScratchRecord {
    owner: Owner,
    dir: PathBuf,
    /// Process groups of the servers started in it.
    servers: Vec<i32>,
}

fn records_dir() -> Result<PathBuf> {
    Ok(umbra_snapshot::registry::state_dir()?.join("drills"))
}

/// A scratch directory in use.
pub struct Scratch {
    pub dir: PathBuf,
    record: PathBuf,
    servers: Arc<Mutex<Vec<i32>>>,
    _on_interrupt: umbra_core::interrupt::Registration,
}

impl Scratch {
    /// Makes `<parent>/umbra-drill-JOB-RUN` (0700) and its record. Refuses a parent inside
    /// one of `sources`: the drill's copy must never end up in the next backup.
    pub fn create(parent: &Path, job: &str, run_id: &str, sources: &[PathBuf]) -> Result<Self> {
        let parent_abs = parent.canonicalize().map_err(|e| {
            UmbraError::io("cannot use the drill's scratch directory", parent, e)
                .with_hint("Create it, or name another with `scratch_dir` in [jobs.NAME.drill].")
        })?;
        if let Some(s) = sources.iter().find(|s| parent_abs.starts_with(s)) {
            return Err(UmbraError::new(
                ErrorKind::Config,
                format!(
                    "the drill's scratch directory {} is inside the source {}",
                    parent_abs.display(),
                    s.display()
                ),
            )
            .with_hint(
                "Set `scratch_dir` in [jobs.NAME.drill] to a directory outside every source.",
            ));
        }
        let dir = parent_abs.join(format!("umbra-drill-{job}-{run_id}"));
        let rdir = records_dir()?;
        std::fs::create_dir_all(&rdir)
            .map_err(|e| UmbraError::io("cannot create the drill records", &rdir, e))?;
        let record = rdir.join(format!("{job}-{run_id}.json"));
        let servers = Arc::new(Mutex::new(Vec::new()));
        let scratch = Self {
            _on_interrupt: {
                let (dir, record, servers) = (dir.clone(), record.clone(), Arc::clone(&servers));
                umbra_core::interrupt::on_interrupt(
                    format!("drill of job `{job}`: its servers and scratch directory"),
                    move || {
                        if let Ok(s) = servers.lock() {
                            kill_groups(&s, &dir);
                        }
                        let _ = std::fs::remove_dir_all(&dir);
                        let _ = std::fs::remove_file(&record);
                    },
                )
            },
            dir,
            record,
            servers,
        };
        scratch.save()?;
        std::fs::create_dir(&scratch.dir).map_err(|e| {
            UmbraError::io(
                "cannot create the drill's scratch directory",
                &scratch.dir,
                e,
            )
        })?;
        Ok(scratch)
    }

    fn save(&self) -> Result<()> {
        let rec = ScratchRecord {
            owner: Owner::this_process(),
            dir: self.dir.clone(),
            servers: self.servers.lock().map(|s| s.clone()).unwrap_or_default(),
        };
        let text = serde_json::to_vec(&rec).map_err(|e| {
            UmbraError::new(ErrorKind::Internal, "cannot encode the drill record").with_source(e)
        })?;
        let tmp = self.record.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.record))
            .map_err(|e| UmbraError::io("cannot write the drill record", &self.record, e))
    }

    /// Notes a server's process group, so that a crash is repaired by the next sweep.
    pub fn add_server(&self, pgid: i32) {
        if let Ok(mut s) = self.servers.lock() {
            s.push(pgid);
        }
        let _ = self.save();
    }

    /// Lets the scratch root be traversed (not listed) by a server's user: 0711.
    pub fn open_for_servers(&self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o711));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(s) = self.servers.lock() {
            kill_groups(&s, &self.dir);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.record);
    }
}

/// Kills the recorded process groups that are still a drilled server: a group's leader
/// whose command line names the scratch directory. A pid reused since (the server died
/// with umbra, as it should) belongs to someone else and is left alone.
fn kill_groups(groups: &[i32], dir: &Path) {
    let needle = dir.display().to_string();
    for &g in groups {
        if g <= 1 {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{g}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(&needle) {
            continue;
        }
        super::server::kill_group(g);
    }
    // SIGKILL is delivered, not yet done: wait (briefly) until no process that names the
    // scratch is left, so that umbra never exits with a server still running.
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_secs(3) && any_process_naming(&needle) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether a live process (not a zombie, whose command line is empty) names `needle`.
fn any_process_naming(needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        name.to_string_lossy().bytes().all(|b| b.is_ascii_digit())
            && std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
    })
}

/// Removes what crashed drills left: their servers (if still there) and scratch
/// directories. Returns how many it removed.
pub fn sweep(monitor: &dyn Monitor) -> usize {
    let Ok(rdir) = records_dir() else { return 0 };
    let Ok(entries) = std::fs::read_dir(&rdir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Some(rec) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<ScratchRecord>(&b).ok())
        else {
            continue;
        };
        if rec.owner.is_alive() {
            continue;
        }
        kill_groups(&rec.servers, &rec.dir);
        let _ = std::fs::remove_dir_all(&rec.dir);
        let _ = std::fs::remove_file(&path);
        removed += 1;
        monitor.event(Event::Notice {
            message: format!(
                "removed the scratch directory {} of a drill that did not finish (pid {})",
                rec.dir.display(),
                rec.owner.pid
            ),
        });
    }
    removed
}
