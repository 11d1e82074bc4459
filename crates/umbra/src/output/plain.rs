//! Output when stderr is not a terminal (cron, systemd, pipes): no progress at all, one
//! line per event worth knowing.

use umbra_core::{Event, Monitor, NullMonitor, ProgressKind, Task};

pub struct PlainMonitor {
    verbosity: i8,
}

impl PlainMonitor {
    pub fn new(verbosity: i8) -> Self {
        Self { verbosity }
    }
}

impl Monitor for PlainMonitor {
    fn start_task(&self, kind: ProgressKind, title: &str) -> Box<dyn Task> {
        NullMonitor.start_task(kind, title)
    }

    fn event(&self, event: Event) {
        let (needs, text) = super::describe(&event);
        if self.verbosity >= needs {
            eprintln!("{text}");
        }
    }
}
