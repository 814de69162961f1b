//! Feature maps drawn from a node's GPU buffer without reading its values back: a compute
//! pass finds each channel's range (and the layer's), a render pass paints every channel as a
//! colormapped tile of a grid into a texture (a canvas on the page). [`draw_tiles`] is the CPU
//! twin that paints the same RGBA grid from a tensor; [`ranges`] its range twin.
//!
//! These two shaders are not in the kernel table: one is a render pipeline and the other has
//! two entry points; neither is part of a forward pass.
//!
//! `layout` (where the tiles lie) and `pipelines` (made once per device) import nothing of
//! `draw`; `cpu` (the twins) imports `layout`; `drawer` (recording the passes) imports
//! `layout` and `pipelines`. This file only declares and re-exports.

mod cpu;
mod drawer;
mod layout;
mod pipelines;

pub use cpu::{draw_tiles, ranges};
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) use drawer::{DrawParams, RangeParams};
pub use drawer::{DrawSpec, FeatureMapDrawer};
pub use layout::{Norm, TileLayout, TILE_GAP};
pub use pipelines::TARGET_FORMAT;
