//! The repository adapter: the one place where umbra meets `rustic_core`.
//!
//! Everything above this crate speaks umbra's own types ([`umbra_core`]); everything
//! below it is restic's repository format as implemented by rustic_core. Keeping the
//! boundary here means a rustic_core upgrade touches one crate, and that the on-disk
//! format stays restic's, so that restic can read what umbra writes and the other way
//! round.
//!
//! What this crate adds on top of rustic_core:
//! - restic-compatible repository locks ([`lock`]), which rustic_core does not take;
//! - a read source that reads each source from where its plan says but stores it under
//!   the path the user named, with change detection and a count of unreadable entries
//!   ([`source`]), and files a quiescer staged stored in place of live ones
//!   ([`substitute`]);
//! - the consistency record inside each snapshot ([`backup`]);
//! - errors mapped to [`umbra_core::UmbraError`] with guidance ([`error`]).

pub mod backup;
pub mod browse;
pub mod cache;
pub mod cat;
pub mod check;
pub mod chunking;
pub mod compression;
pub mod copy;
mod crypto;
pub mod diff;
mod error;
pub mod extents;
pub mod forget;
mod key_cache;
pub mod keys;
mod location;
pub mod lock;
pub mod nodes;
mod platform;
mod progress;
mod racy_clean;
mod referenced;
mod remote;
pub mod repair;
pub mod repo;
pub mod restore;
mod size;
pub mod snapshots;
mod source;
pub mod stats;
pub mod stream;
mod substitute;
pub mod tags;
mod tar;
#[doc(hidden)]
pub mod testing;
pub mod throttle;
pub mod verify_restored;
pub mod view;
mod zip;

pub use backup::{BackupOutcome, BackupRequest};
pub use repo::{OpenOptions, Repo, RepoLocation};
pub use snapshots::SnapshotInfo;
