//! placeholder, being written
use crate::model::Network;
pub fn efficientnet_lite0() -> Network { unimplemented!() }
