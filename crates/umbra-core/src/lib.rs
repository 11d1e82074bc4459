//! umbra's domain vocabulary, shared by every other crate.
//!
//! This crate holds the types that describe *what* a backup is about: which sources are
//! read from where ([`plan`]), how consistent each one turned out ([`consistency`]), how
//! the library reports progress and non-fatal trouble ([`monitor`]), and the error policy
//! ([`error`]). It deliberately depends on neither the repository library nor any terminal
//! crate: the repository adapter, the snapshot providers and the CLI all speak these types,
//! so none of them has to know about the others.

pub mod consistency;
pub mod error;
pub mod interrupt;
pub mod lease;
pub mod monitor;
pub mod os;
pub mod plan;
pub mod reflink;
pub mod umask;
pub mod units;

pub use consistency::{ConsistencyLevel, ConsistencyRecord, QuiesceRecord, SourceConsistency};
pub use error::{ErrorKind, Result, UmbraError};
pub use monitor::{Event, Monitor, NullMonitor, ProgressKind, Task};
pub use plan::{BaseSnapshot, Method, PlannedSource, SourcePlan, Substitute};
