//! placeholder, being written
use crate::model::Network;
pub fn alexnet_original() -> Network { unimplemented!() }
pub fn alexnet() -> Network { unimplemented!() }
pub fn zfnet() -> Network { unimplemented!() }
