//! What the drill tests share: a command's stdout, the drills in a job's history, and the
//! scratch directories left behind. (Each test binary uses part of it.)
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::common::jobs::Jobs;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The drills of job `t`, newest last, from `history --json`.
pub fn drills(j: &Jobs) -> Vec<serde_json::Value> {
    stdout(&j.run(&["history", "t", "--json"]))
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "drill")
        .collect()
}

/// The scratch directories left in `dir`.
pub fn scratches(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("umbra-drill-"))
                .collect()
        })
        .unwrap_or_default()
}
