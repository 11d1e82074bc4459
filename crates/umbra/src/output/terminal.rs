//! Progress bars on a terminal (stderr), drawn by indicatif.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use umbra_core::{Event, Monitor, ProgressKind, Task};

pub struct TerminalMonitor {
    bars: MultiProgress,
    verbosity: i8,
}

impl TerminalMonitor {
    pub fn new(verbosity: i8) -> Self {
        Self {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            verbosity,
        }
    }
}

struct BarTask(ProgressBar, ProgressKind);

impl Task for BarTask {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
        // A byte count gets its bar (and ETA) only once the total is known.
        if self.1 == ProgressKind::Bytes && total > 0 {
            self.0.set_style(style(ProgressKind::Bytes, true));
        }
    }
    fn increment(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_title(&self, title: &str) {
        self.0.set_prefix(title.to_string());
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn style(kind: ProgressKind, total_known: bool) -> ProgressStyle {
    let template = match kind {
        ProgressKind::Spinner => "{spinner} {prefix} [{elapsed}]",
        ProgressKind::Count => "{spinner} {prefix:12} {pos} [{elapsed}]",
        ProgressKind::Bytes if total_known => {
            "{spinner} {prefix:12} [{elapsed}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
        }
        ProgressKind::Bytes => "{spinner} {prefix:12} [{elapsed}] {bytes} {bytes_per_sec}",
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Monitor for TerminalMonitor {
    fn start_task(&self, kind: ProgressKind, title: &str) -> Box<dyn Task> {
        let bar = self.bars.add(ProgressBar::new(0));
        bar.set_style(style(kind, false));
        bar.set_prefix(title.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Box::new(BarTask(bar, kind))
    }

    fn event(&self, event: Event) {
        let (needs, text) = super::describe(&event);
        if self.verbosity >= needs {
            let _ = self.bars.println(text);
        }
    }
}
