//! The fallback: read the live files in place, with change detection (done by the
//! repository adapter's reader). Creates nothing, so it has nothing to release.

use umbra_core::{ConsistencyLevel, ErrorKind, Method, Result, UmbraError};

use crate::provider::{Prepared, Presented, Provider, Recorder, SourceInfo, Support};
use crate::registry::Artifact;

pub struct Direct;

struct InPlace(std::path::PathBuf);

impl Prepared for InPlace {
    fn take(self: Box<Self>, _: &mut Recorder<'_>) -> Result<Presented> {
        Ok(Presented {
            read_from: self.0,
            level: ConsistencyLevel::DirectUnchanged,
            identity_from: None,
            clone_on_read: None,
        })
    }
}

impl Provider for Direct {
    fn method(&self) -> Method {
        Method::Direct
    }

    fn supports(&self, _: &SourceInfo) -> Support {
        Support::Yes
    }

    fn prepare(&self, source: &SourceInfo) -> Result<Box<dyn Prepared>> {
        Ok(Box::new(InPlace(source.path.clone())))
    }

    fn release(&self, artifact: &Artifact) -> Result<()> {
        Err(UmbraError::new(
            ErrorKind::Internal,
            format!("the direct method creates nothing, yet was asked to release {artifact}"),
        ))
    }
}
