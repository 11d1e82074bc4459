//! A job file with tracing hooks, for the jobs tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Env;

/// A test's job file and trace.
pub struct Jobs {
    pub env: Env,
    pub config: PathBuf,
    pub trace: PathBuf,
    pub src: PathBuf,
}

/// One hook that records its phase and environment as a line of the trace.
pub fn tracer(trace: &Path, tag: &str) -> String {
    format!(
        "printf '%s|%s|%s|%s|%s|%s|%s|%s\\n' '{tag}' \"$UMBRA_PHASE\" \"$UMBRA_JOB\" \"$UMBRA_STATUS\" \"$UMBRA_SNAPSHOT_ID\" \"$UMBRA_SOURCE\" \"$UMBRA_ERROR\" \"$(pwd)\" >> {}",
        trace.display()
    )
}

impl Jobs {
    /// A repository, a source with one file, and a job file holding `jobs` (where
    /// `TRACE(tag)` stands for a tracing hook and `SRC`/`DIR` for the paths).
    pub fn new(jobs: &str) -> Self {
        let env = Env::new();
        env.init();
        let src = env.path("src");
        fs::create_dir_all(&src).expect("src");
        fs::write(src.join("data"), "payload").expect("data");
        let trace = env.path("trace");
        let config = env.path("umbra.toml");
        let mut text = format!(
            "[repository]\npath = \"{}\"\npassword_file = \"password\"\n\n{jobs}",
            env.repo().display()
        );
        while let Some(start) = text.find("TRACE(") {
            let end = start + text[start..].find(')').expect("TRACE(tag)");
            let tag = text[start + 6..end].to_string();
            let hook = tracer(&trace, &tag)
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            text.replace_range(start..=end, &format!("\"{hook}\""));
        }
        let text = text
            .replace("SRC", &src.display().to_string())
            .replace("DIR", &env.dir.path().display().to_string());
        fs::write(&config, text).expect("config");
        Self {
            env,
            config,
            trace,
            src,
        }
    }

    pub fn umbra(&self) -> Command {
        self.env.umbra_with_config(&self.config)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.umbra().args(args).output().expect("umbra")
    }

    /// The trace's lines, each split into its fields.
    pub fn trace(&self) -> Vec<Vec<String>> {
        fs::read_to_string(&self.trace)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect()
    }

    /// The tags of the hooks that ran, in order.
    pub fn tags(&self) -> Vec<String> {
        self.trace().into_iter().map(|f| f[0].clone()).collect()
    }

    pub fn last_run(&self, job: &str) -> serde_json::Value {
        let out = self.run(&["--json", "history", job]);
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().expect("a run in the history");
        serde_json::from_str(line).expect("json")
    }

    pub fn snapshot_ids(&self) -> Vec<String> {
        let out = self.run(&["--json", "snapshots"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_string())
            .collect()
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
