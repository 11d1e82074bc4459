//! The freeze window's rules, with an in-memory quiescer that records what was asked of it.

use super::*;

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, s: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(s);
        }
    }
    fn get(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

struct Fake {
    name: String,
    covers: Vec<PathBuf>,
    fail_freeze: bool,
    log: Arc<Log>,
}

impl Quiescer for Fake {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn covers(&self) -> &[PathBuf] {
        &self.covers
    }
    fn prepare(&mut self, _ctx: &Context<'_>) -> Result<()> {
        self.log.push(format!("prepare {}", self.name));
        Ok(())
    }
    fn freeze(&mut self, _deadline: Instant) -> Result<()> {
        self.log.push(format!("freeze {}", self.name));
        if self.fail_freeze {
            return Err(UmbraError::new(ErrorKind::JobFailed, "refused"));
        }
        Ok(())
    }
    fn thaw(&mut self) -> Result<()> {
        self.log.push(format!("thaw {}", self.name));
        Ok(())
    }
    fn finish(&mut self, _ok: bool) -> Result<()> {
        Ok(())
    }
}

fn fakes(log: &Arc<Log>, fail_second: bool) -> Vec<Shared> {
    ["a", "b", "c"]
        .iter()
        .map(|n| {
            let q: Box<dyn Quiescer> = Box::new(Fake {
                name: (*n).to_string(),
                covers: vec![PathBuf::from(format!("/srv/{n}"))],
                fail_freeze: fail_second && *n == "b",
                log: Arc::clone(log),
            });
            Arc::new(Mutex::new(q))
        })
        .collect()
}

#[test]
fn all_freeze_in_order_and_thaw_in_reverse_around_the_snapshot() {
    let log = Arc::new(Log::default());
    let qs = fakes(&log, false);
    let l = Arc::clone(&log);
    let (v, records) = while_frozen(&qs, Duration::from_secs(5), || {
        l.push("snapshot".into());
        Ok(7)
    })
    .expect("frozen");
    assert_eq!(v, 7);
    assert_eq!(
        log.get(),
        ["freeze a", "freeze b", "freeze c", "snapshot", "thaw c", "thaw b", "thaw a"]
    );
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.kind == "fake"));
    assert!(records[0].freeze_us >= records[2].freeze_us);
}

#[test]
fn a_failed_freeze_thaws_what_was_frozen_including_itself() {
    let log = Arc::new(Log::default());
    let qs = fakes(&log, true);
    let r = while_frozen(&qs, Duration::from_secs(5), || -> Result<()> {
        panic!("no snapshot after a failed freeze")
    });
    assert!(matches!(r, Err(FreezeError::Other(_))));
    assert_eq!(log.get(), ["freeze a", "freeze b", "thaw b", "thaw a"]);
}

#[test]
fn the_bound_thaws_during_a_slow_snapshot_and_discards_it() {
    let log = Arc::new(Log::default());
    let qs = fakes(&log, false);
    let l = Arc::clone(&log);
    let started = Instant::now();
    let r = while_frozen(&qs, Duration::from_millis(200), || {
        std::thread::sleep(Duration::from_millis(600));
        l.push("snapshot done".into());
        Ok(())
    });
    let e = match r {
        Err(FreezeError::BoundExceeded(e)) => e,
        other => panic!("expected the bound to be exceeded, got {other:?}"),
    };
    assert!(e.message().contains("its 0.2 s bound;"), "{}", e.message());
    // Thawed at the bound, before the snapshot finished; each once.
    assert_eq!(
        log.get(),
        [
            "freeze a",
            "freeze b",
            "freeze c",
            "thaw c",
            "thaw b",
            "thaw a",
            "snapshot done"
        ]
    );
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[test]
fn a_failed_snapshot_still_thaws() {
    let log = Arc::new(Log::default());
    let qs = fakes(&log, false);
    let r = while_frozen(&qs, Duration::from_secs(5), || -> Result<()> {
        Err(UmbraError::new(ErrorKind::Io, "no space for the snapshot"))
    });
    assert!(matches!(r, Err(FreezeError::Other(_))));
    assert_eq!(
        log.get().iter().filter(|l| l.starts_with("thaw")).count(),
        3
    );
}
