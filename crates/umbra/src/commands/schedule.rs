//! `umbra schedule install|remove|list` and `umbra daemon`.
//!
//! The units' text and the due-time rules are umbra-jobs' (`schedule`); this module writes
//! files, calls `systemctl` when systemd is running, and runs the daemon loop. The daemon
//! runs each due job as a child `umbra run JOB`, so a job behaves exactly as it does from
//! a timer or a shell, and a crash in one run cannot take the daemon down.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use umbra_core::{ErrorKind, Event, Result, UmbraError};
use umbra_jobs::calendar::Calendar;
use umbra_jobs::schedule::{default_unit_dir, installed, next_due, unit_base, units, write_unit};
use umbra_jobs::Config;

use crate::cli::ScheduleCommand;
use crate::output::Output;
use crate::settings::Settings;
use crate::Finished;

fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn is_root() -> bool {
    umbra_core::os::is_privileged()
}

fn systemctl(args: &[&str], out: &Output) -> Result<()> {
    let mut cmd = Command::new("systemctl");
    if !is_root() {
        cmd.arg("--user");
    }
    let status = cmd
        .args(args)
        .status()
        .map_err(|e| UmbraError::new(ErrorKind::Io, "cannot run systemctl").with_source(e))?;
    if !status.success() {
        return Err(UmbraError::new(
            ErrorKind::Io,
            format!("`systemctl {}` failed ({status})", args.join(" ")),
        ));
    }
    out.summary(format!("ran systemctl {}", args.join(" ")));
    Ok(())
}

fn absolute_config(settings: &Settings) -> Result<PathBuf> {
    super::absolute(&settings.config_file)
}

pub fn run(command: &ScheduleCommand, settings: &Settings, out: &Output) -> Result<Finished> {
    if cfg!(windows) && unit_dir_of(command).is_none() {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            "`umbra schedule` writes systemd units, which Windows does not have",
        )
        .with_hint(
            "Run `umbra daemon` as a service, or add a task to Task Scheduler: \
             schtasks /Create /SC DAILY /ST 02:30 /RL HIGHEST /TN umbra-JOB /TR \"umbra.exe run JOB\"",
        ));
    }
    let config = Config::load(&settings.config_file)?;
    match command {
        ScheduleCommand::Install { unit_dir } => {
            install(&config, unit_dir.as_deref(), settings, out)
        }
        ScheduleCommand::Remove { jobs, unit_dir } => remove(jobs, unit_dir.as_deref(), out),
        ScheduleCommand::List { unit_dir } => list(&config, unit_dir.as_deref(), out),
    }
}

fn install(
    config: &Config,
    unit_dir: Option<&Path>,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let dir = unit_dir.map_or_else(default_unit_dir, |d| Ok(d.to_path_buf()))?;
    let exe = std::env::current_exe().map_err(|e| {
        UmbraError::new(ErrorKind::Io, "cannot find umbra's own path").with_source(e)
    })?;
    let config_path = absolute_config(settings)?;
    let mut timers = Vec::new();
    for job in config.jobs.values() {
        let Some(calendar) = &job.schedule else {
            continue;
        };
        let u = units(job, calendar, &exe, &config_path);
        for (name, text) in [(&u.service_name, &u.service), (&u.timer_name, &u.timer)] {
            let path = write_unit(&dir, name, text)?;
            out.line(format!("wrote {}:\n{text}", path.display()));
            out.json(
                &serde_json::json!({"message_type": "unit_written", "path": path, "text": text}),
            );
        }
        timers.push(u.timer_name);
    }
    if timers.is_empty() {
        out.summary("no job has a `schedule`: nothing to install");
        return Ok(Finished::Ok);
    }
    if unit_dir.is_some() {
        out.summary(format!(
            "{} timer(s) written to {}; not enabled (--unit-dir)",
            timers.len(),
            dir.display()
        ));
    } else if systemd_running() {
        systemctl(&["daemon-reload"], out)?;
        for t in &timers {
            systemctl(&["enable", "--now", t], out)?;
        }
    } else {
        out.monitor().event(Event::Warning {
            message: "systemd is not running here: the timers are written but not enabled; run `umbra daemon` instead".into(),
        });
    }
    Ok(Finished::Ok)
}

fn remove(jobs: &[String], unit_dir: Option<&Path>, out: &Output) -> Result<Finished> {
    let dir = unit_dir.map_or_else(default_unit_dir, |d| Ok(d.to_path_buf()))?;
    let wanted: Vec<String> = jobs.iter().map(|j| unit_base(j)).collect();
    let mine: Vec<(String, PathBuf)> = installed(&dir)
        .into_iter()
        .filter(|(name, _)| {
            wanted.is_empty()
                || wanted.iter().any(|w| {
                    name.strip_suffix(".timer")
                        .or(name.strip_suffix(".service"))
                        == Some(w)
                })
        })
        .collect();
    let use_systemctl = unit_dir.is_none() && systemd_running();
    for (name, path) in &mine {
        if use_systemctl && name.ends_with(".timer") {
            systemctl(&["disable", "--now", name], out)?;
        }
        std::fs::remove_file(path).map_err(|e| UmbraError::io("cannot remove", path, e))?;
        out.line(format!("removed {}", path.display()));
        out.json(&serde_json::json!({"message_type": "unit_removed", "path": path}));
    }
    if use_systemctl && !mine.is_empty() {
        systemctl(&["daemon-reload"], out)?;
    }
    out.summary(format!(
        "removed {} unit file(s) from {}",
        mine.len(),
        dir.display()
    ));
    Ok(Finished::Ok)
}

fn list(config: &Config, unit_dir: Option<&Path>, out: &Output) -> Result<Finished> {
    let dir = unit_dir.map_or_else(default_unit_dir, |d| Ok(d.to_path_buf()))?;
    let present = installed(&dir);
    let now = jiff::Timestamp::now();
    for (name, job) in &config.jobs {
        let Some(cal) = &job.schedule else { continue };
        let timer = format!("{}.timer", unit_base(name));
        let is_installed = present.iter().any(|(n, _)| *n == timer);
        let next =
            next_due(name, cal, now).map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string());
        out.line(format!(
            "{name}\t{}\tnext {}\t{}",
            cal.text(),
            next.as_deref().unwrap_or("never"),
            if is_installed {
                format!("installed ({})", dir.join(&timer).display())
            } else {
                "not installed".into()
            }
        ));
        out.json(&serde_json::json!({
            "job": name, "schedule": cal.text(), "next_run": next, "installed": is_installed,
        }));
    }
    Ok(Finished::Ok)
}

/// `umbra daemon`: runs each scheduled job when it is due, one at a time, until killed
/// (or after `max_runs` runs).
pub fn daemon(max_runs: Option<u64>, settings: &Settings, out: &Output) -> Result<Finished> {
    let config = Config::load(&settings.config_file)?;
    let scheduled: Vec<_> = config
        .jobs
        .values()
        .filter_map(|j| j.schedule.clone().map(|c| (j.name.clone(), c)))
        .collect();
    if scheduled.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::Config,
            format!("no job in {} has a `schedule`", config.file.display()),
        )
        .with_hint("Add `schedule = \"*-*-* 02:30:00\"` (systemd calendar syntax) to a job."));
    }
    let exe = std::env::current_exe().map_err(|e| {
        UmbraError::new(ErrorKind::Io, "cannot find umbra's own path").with_source(e)
    })?;
    let config_path = absolute_config(settings)?;
    // On SIGTERM/SIGINT the running job gets SIGTERM and finishes its own recovery.
    let child: Arc<Mutex<Option<u32>>> = Arc::new(Mutex::new(None));
    let _on_interrupt = {
        let child = Arc::clone(&child);
        umbra_core::interrupt::on_interrupt("the running job", move || {
            if let Ok(Some(pid)) = child.lock().map(|c| *c) {
                stop_and_wait(pid);
            }
        })
    };
    out.summary(format!(
        "umbra daemon: {} scheduled job(s) from {}",
        scheduled.len(),
        config.file.display()
    ));
    let mut runs = 0u64;
    // Each job's next due time, kept until the job has run: recomputing it from "now"
    // after a sleep would find the next tick, never the one just reached.
    let now = jiff::Timestamp::now();
    let mut due: Vec<(String, Calendar, Option<Timestamp>)> = scheduled
        .iter()
        .map(|(name, cal)| (name.clone(), cal.clone(), next_due(name, cal, now)))
        .collect();
    loop {
        let Some(slot) = due.iter_mut().filter(|d| d.2.is_some()).min_by_key(|d| d.2) else {
            return Err(UmbraError::new(
                ErrorKind::Config,
                "no scheduled job will ever be due again",
            ));
        };
        let when = slot.2.unwrap_or_default();
        let wait = Timestamp::now().duration_until(when);
        if wait.is_positive() {
            std::thread::sleep(Duration::from_secs_f64(wait.as_secs_f64().min(60.0)));
            continue;
        }
        let name = slot.0.clone();
        let start = Timestamp::now();
        slot.2 = slot.1.next_after(start.max(when));
        out.summary(format!(
            "{}: running job {name}",
            start.round(jiff::Unit::Second).unwrap_or(start)
        ));
        let spawned = Command::new(&exe)
            .arg("-c")
            .arg(&config_path)
            .arg("run")
            .arg(&name)
            .spawn();
        match spawned {
            Ok(mut c) => {
                if let Ok(mut slot) = child.lock() {
                    *slot = Some(c.id());
                }
                let status = c.wait();
                if let Ok(mut slot) = child.lock() {
                    *slot = None;
                }
                out.summary(format!(
                    "job {name} ended: {}",
                    status.map_or_else(|e| e.to_string(), |s| s.to_string())
                ));
            }
            Err(e) => out.monitor().event(Event::Warning {
                message: format!("cannot start `umbra run {name}`: {e}"),
            }),
        }
        runs += 1;
        if max_runs.is_some_and(|m| runs >= m) {
            return Ok(Finished::Ok);
        }
    }
}

/// Asks the running job `pid` to stop (SIGTERM: it releases and records on its own) and
/// waits for it. Windows has no SIGTERM: the job's process tree is ended.
fn stop_and_wait(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: signalling a child process we started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let mut status = 0;
        // SAFETY: waiting for that child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    #[cfg(windows)]
    {
        let _ = std::process::Command::new("taskkill")
            .args(["/F", "/T", "/PID", &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The unit folder a schedule command names, if any (`--unit-dir`).
fn unit_dir_of(command: &ScheduleCommand) -> Option<&Path> {
    match command {
        ScheduleCommand::Install { unit_dir }
        | ScheduleCommand::Remove { unit_dir, .. }
        | ScheduleCommand::List { unit_dir } => unit_dir.as_deref(),
    }
}
