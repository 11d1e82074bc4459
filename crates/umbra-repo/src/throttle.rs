//! `--limit-upload` and `--limit-download` (restic's, in KiB/s) for every kind of
//! repository: a layer around the storage backend that paces what it writes and reads.
//!
//! Why a layer and not each backend's own option: only opendal (S3, SFTP) has a throttle;
//! local disks (a USB disk on a shared bus, an NFS mount) and REST servers need it as
//! much. One pace per direction is shared by every thread of the process, so the limit
//! holds for the whole command however many packs go up at once, as restic's does.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustic_core::{BytesList, FileType, Id, ReadBackend, RepositoryBackends, WriteBackend};

/// Bytes per second in each direction; `None`: unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub upload: Option<u64>,
    pub download: Option<u64>,
}

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Sets the limits for every repository this process opens (the CLI, once, at start).
pub fn set_limits(limits: Limits) {
    let _ = LIMITS.set(limits);
}

/// A pace: what went through since the first byte, and when that was.
#[derive(Debug)]
pub(crate) struct Pace {
    rate: u64,
    state: Mutex<Option<(Instant, u64)>>,
}

impl Pace {
    pub(crate) fn new(rate: u64) -> Self {
        Self {
            rate: rate.max(1),
            state: Mutex::new(None),
        }
    }

    /// Accounts for `n` bytes and sleeps until the average is back under the rate.
    pub(crate) fn take(&self, n: u64) {
        let wait = {
            let Ok(mut s) = self.state.lock() else { return };
            let (start, total) = s.get_or_insert((Instant::now(), 0));
            *total += n;
            let due = Duration::from_secs_f64(*total as f64 / self.rate as f64);
            due.saturating_sub(start.elapsed())
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// A backend whose transfers are paced.
#[derive(Debug)]
struct Throttled {
    inner: Arc<dyn WriteBackend>,
    up: Option<Arc<Pace>>,
    down: Option<Arc<Pace>>,
}

impl ReadBackend for Throttled {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn list_with_size(&self, tpe: FileType) -> rustic_core::RusticResult<Vec<(Id, u32)>> {
        self.inner.list_with_size(tpe)
    }

    fn read_full(&self, tpe: FileType, id: &Id) -> rustic_core::RusticResult<Bytes> {
        let b = self.inner.read_full(tpe, id)?;
        if let Some(p) = &self.down {
            p.take(b.len() as u64);
        }
        Ok(b)
    }

    fn read_partial(
        &self,
        tpe: FileType,
        id: &Id,
        cacheable: bool,
        offset: u32,
        length: u32,
    ) -> rustic_core::RusticResult<Bytes> {
        let b = self
            .inner
            .read_partial(tpe, id, cacheable, offset, length)?;
        if let Some(p) = &self.down {
            p.take(b.len() as u64);
        }
        Ok(b)
    }

    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        self.inner.warmup_path(tpe, id)
    }

    fn needs_warm_up(&self) -> bool {
        self.inner.needs_warm_up()
    }

    fn warm_up(&self, tpe: FileType, id: &Id) -> rustic_core::RusticResult<()> {
        self.inner.warm_up(tpe, id)
    }
}

impl WriteBackend for Throttled {
    fn create(&self) -> rustic_core::RusticResult<()> {
        self.inner.create()
    }

    fn write_bytes(
        &self,
        tpe: FileType,
        id: &Id,
        cacheable: bool,
        content: BytesList,
    ) -> rustic_core::RusticResult<()> {
        if let Some(p) = &self.up {
            p.take(content.size() as u64);
        }
        self.inner.write_bytes(tpe, id, cacheable, content)
    }

    fn remove(&self, tpe: FileType, id: &Id, cacheable: bool) -> rustic_core::RusticResult<()> {
        self.inner.remove(tpe, id, cacheable)
    }
}

/// `backends` with the process's limits, if any were set. Both directions' paces are
/// per process, shared by every repository it opens.
/// The upload and the download pace.
type Paces = (Option<Arc<Pace>>, Option<Arc<Pace>>);

pub(crate) fn limited(backends: RepositoryBackends) -> RepositoryBackends {
    static PACES: OnceLock<Paces> = OnceLock::new();
    let Some(limits) = LIMITS
        .get()
        .filter(|l| l.upload.is_some() || l.download.is_some())
    else {
        return backends;
    };
    let (up, down) = PACES.get_or_init(|| {
        (
            limits.upload.map(|r| Arc::new(Pace::new(r))),
            limits.download.map(|r| Arc::new(Pace::new(r))),
        )
    });
    let wrap = |inner: Arc<dyn WriteBackend>| -> Arc<dyn WriteBackend> {
        Arc::new(Throttled {
            inner,
            up: up.clone(),
            down: down.clone(),
        })
    };
    RepositoryBackends::new(wrap(backends.repository()), backends.repo_hot().map(wrap))
}

#[cfg(test)]
mod tests {
    use super::Pace;
    use std::time::{Duration, Instant};

    #[test]
    fn a_pace_holds_the_average_rate() {
        let p = Pace::new(1_000_000);
        let t = Instant::now();
        for _ in 0..5 {
            p.take(100_000);
        }
        // 500 kB at 1 MB/s: 0.5 s, give or take the scheduler.
        let e = t.elapsed();
        assert!(e >= Duration::from_millis(480), "{e:?}");
    }
}
