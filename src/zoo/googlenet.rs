//! placeholder, being written
use crate::model::Network;
pub fn googlenet() -> Network { unimplemented!() }
pub fn googlenet_torchvision() -> Network { unimplemented!() }
