//! Running jobs on their schedules: systemd timers, or `umbra daemon` where there is no
//! systemd.
//!
//! Each scheduled job gets a service (`umbra -c FILE run JOB`) and a timer
//! (`OnCalendar=` the job's schedule, `Persistent=true`, so a run missed while the machine
//! was off happens at the next boot). The units carry a marker comment; `remove` deletes
//! only files that have it. `KillMode=process` because a job's `after_snapshot` may start
//! a service directly (`pg_ctl start`): with systemd's default, that service would be
//! killed the moment umbra exits.
//!
//! The daemon follows the same rules with the history as its stamp file: on start, a job
//! whose last run is older than its last due time runs at once (like `Persistent=true`);
//! a job that never ran waits for its first due time.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::calendar::Calendar;
use crate::config::Job;
use crate::state::JobState;

/// The first line of every unit umbra writes.
pub const MARKER: &str =
    "# Written by `umbra schedule install`; `umbra schedule remove` deletes it.";

/// A job's service and timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub service_name: String,
    pub service: String,
    pub timer_name: String,
    pub timer: String,
}

/// Quotes one word for a unit's `ExecStart=` (systemd's C-style quoting).
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@=,".contains(c))
    {
        return word.to_string();
    }
    let escaped = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

/// The unit names of job `name`.
#[must_use]
pub fn unit_base(name: &str) -> String {
    format!("umbra-job-{name}")
}

/// The units that run `job` on `calendar`, with umbra at `exe` and the job file `config`.
#[must_use]
pub fn units(job: &Job, calendar: &Calendar, exe: &Path, config: &Path) -> Units {
    let base = unit_base(&job.name);
    let exec = [
        exe.display().to_string(),
        "-c".into(),
        config.display().to_string(),
        "run".into(),
        job.name.clone(),
    ]
    .iter()
    .map(|w| quote(w))
    .collect::<Vec<_>>()
    .join(" ");
    let service = format!(
        "{MARKER}\n\
         # job file: {config}\n\
         [Unit]\n\
         Description=umbra backup job {name}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={exec}\n\
         # Services that the job's commands start must outlive umbra.\n\
         KillMode=process\n\
         # On stop, umbra runs the job's recovery commands and releases its snapshots.\n\
         TimeoutStopSec=15min\n\
         {resources}",
        config = config.display(),
        name = job.name,
        resources = service_resources(&job.resources),
    );
    let timer = format!(
        "{MARKER}\n\
         # job file: {config}\n\
         [Unit]\n\
         Description=Schedule of umbra backup job {name}\n\
         \n\
         [Timer]\n\
         OnCalendar={cal}\n\
         Persistent=true\n\
         Unit={base}.service\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        config = config.display(),
        name = job.name,
        cal = calendar.text(),
    );
    Units {
        service_name: format!("{base}.service"),
        service,
        timer_name: format!("{base}.timer"),
        timer,
    }
}

/// The `[Service]` lines that match the job's `priority`, then its `[jobs.NAME.systemd]`
/// settings (a later assignment wins in systemd, so the user's come last).
///
/// The service itself starts at normal nice and I/O priority: umbra lowers its own
/// reading and storing threads when the job is low, so that the snapshot, a freeze and
/// the job's commands (a database stopped and started) never run slowed down. What the
/// unit adds for low is the cgroup weights: under contention, the whole service yields
/// CPU and disk time to the applications (default weight 100).
fn service_resources(r: &crate::config::resources::Resources) -> String {
    use crate::priority::Priority;
    let weight = match r.priority {
        Priority::Low => 20,
        Priority::Normal => 100,
    };
    let mut text = format!(
        "# priority = \"{p}\": umbra runs its reading and storing at {what}; the\n\
         # snapshot, a freeze and the job's commands keep the priority below.\n\
         Nice=0\n\
         IOSchedulingClass=best-effort\n\
         IOSchedulingPriority=4\n\
         CPUWeight={weight}\n\
         IOWeight={weight}\n",
        p = r.priority.as_str(),
        what = match r.priority {
            Priority::Low => "nice 19 in the idle I/O class",
            Priority::Normal => "this priority too",
        },
    );
    if !r.systemd.is_empty() {
        text.push_str("# [jobs.NAME.systemd]\n");
        for (key, value) in &r.systemd {
            text.push_str(&format!("{key}={value}\n"));
        }
    }
    text
}

/// Where units go: the system's directory for root, the user's otherwise.
pub fn default_unit_dir() -> Result<PathBuf> {
    if umbra_core::os::is_privileged() {
        return Ok(PathBuf::from("/etc/systemd/system"));
    }
    let config = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) => PathBuf::from(x),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".config"))
            .ok_or_else(|| {
                UmbraError::new(ErrorKind::InvalidInput, "HOME is not set")
                    .with_hint("Name the unit directory with --unit-dir.")
            })?,
    };
    Ok(config.join("systemd/user"))
}

/// Writes `text` to `dir/name` through a temporary file and a rename.
pub fn write_unit(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| UmbraError::io("cannot create", dir, e))?;
    let path = dir.join(name);
    if let Ok(old) = std::fs::read_to_string(&path) {
        if !old.starts_with(MARKER) {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("{} exists and was not written by umbra", path.display()),
            )
            .with_hint("Move it away, or rename the job."));
        }
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    // Unit files are configuration systemd and `systemctl` read: 0644, as units are.
    std::fs::write(&tmp, text)
        .and_then(|()| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
            }
            #[cfg(windows)]
            Ok(())
        })
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| UmbraError::io("cannot write", &path, e))?;
    Ok(path)
}

/// Units in `dir` that umbra wrote, as (file name, path), sorted.
#[must_use]
pub fn installed(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let ours = name.starts_with("umbra-job-")
                && std::fs::read_to_string(e.path()).is_ok_and(|t| t.starts_with(MARKER));
            ours.then(|| (name, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// When a scheduled job is next due, from `now`, with the history as the stamp: a job
/// whose last run began before its most recent due time is due at once.
#[must_use]
pub fn next_due(name: &str, calendar: &Calendar, now: Timestamp) -> Option<Timestamp> {
    let last_run: Option<Timestamp> = JobState::for_job(name)
        .ok()
        .and_then(|s| s.history().ok())
        .and_then(|h| h.last().and_then(|r| r.started.parse().ok()));
    if let Some(last) = last_run {
        if let Some(missed) = calendar.previous_at_or_before(now, 366) {
            if missed > last {
                return Some(now);
            }
        }
    }
    calendar.next_after(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_words_are_quoted_for_systemd() {
        assert_eq!(quote("/usr/bin/umbra"), "/usr/bin/umbra");
        assert_eq!(quote("/etc/my umbra.toml"), "\"/etc/my umbra.toml\"");
        assert_eq!(quote("50%"), "\"50%%\"");
    }
}
