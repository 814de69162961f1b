//! placeholder, being written
use crate::model::Network;
pub fn resnet18() -> Network { unimplemented!() }
pub fn resnet34() -> Network { unimplemented!() }
pub fn resnet50() -> Network { unimplemented!() }
pub fn resnet101() -> Network { unimplemented!() }
pub fn resnet152() -> Network { unimplemented!() }
