//! placeholder, being written
use crate::model::Network;
pub fn vgg11() -> Network { unimplemented!() }
pub fn vgg11_bn() -> Network { unimplemented!() }
pub fn vgg13() -> Network { unimplemented!() }
pub fn vgg13_bn() -> Network { unimplemented!() }
pub fn vgg16() -> Network { unimplemented!() }
pub fn vgg16_bn() -> Network { unimplemented!() }
pub fn vgg19() -> Network { unimplemented!() }
pub fn vgg19_bn() -> Network { unimplemented!() }
