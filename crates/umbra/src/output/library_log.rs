//! Library log lines (rustic_core reports some trouble only through the `log` facade,
//! such as "ignoring error ...") become monitor events, so they are rendered like
//! everything else: warnings with `-v`, informational lines with `-vv`.

use std::sync::Arc;

use log::{Level, LevelFilter, Log, Metadata, Record};
use umbra_core::{Event, Monitor};

struct MonitorLogger {
    monitor: Arc<dyn Monitor>,
}

impl Log for MonitorLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = format!("{}: {}", record.target(), record.args());
        self.monitor.event(match record.level() {
            Level::Error | Level::Warn => Event::Warning { message },
            _ => Event::Info { message },
        });
    }

    fn flush(&self) {}
}

/// Installs the bridge. Library chatter below warnings is only kept with `-vv`.
pub fn install(monitor: Arc<dyn Monitor>, verbosity: i8) {
    let level = match verbosity {
        v if v >= 2 => LevelFilter::Info,
        v if v >= 0 => LevelFilter::Warn,
        _ => LevelFilter::Off,
    };
    if log::set_boxed_logger(Box::new(MonitorLogger { monitor })).is_ok() {
        log::set_max_level(level);
    }
}
