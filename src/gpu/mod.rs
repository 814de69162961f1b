//! The GPU engine: every layer kind as a WGSL compute kernel through wgpu, planned once per
//! (model, weights, input size) so a forward pass is an upload plus dispatches.
//!
//! Planning flows one way. For each node, `options::choose` picks its kernel from the
//! layer's config, its shapes, the [`PlanOptions`] and what the adapter allows, once. The plan
//! (`plan/`) sizes the shared buffers (im2col scratch, X texture) for those choices, makes
//! every node's output buffer and decides which convolutions absorb the BatchNorm and
//! activation after them. `lower/` turns each node, on the kernel it was handed, into
//! `Dispatch` records: weights uploaded, params written, bind groups made. A
//! forward pass encodes the records into compute passes with per-node timestamps
//! (`dispatch.rs`), and `readback.rs` brings results back.
//!
//! What each file may import from `gpu` (never a file that imports it back, never its parent
//! module; a parent may use its children):
//! - `error`, `kernels`, `params`, `x_texture`: nothing.
//! - `pipelines`: `kernels`. `context`: `pipelines`, `error`. `readback`: `context`, `error`.
//! - `options`: `context`, `x_texture`. `dispatch`: `x_texture`.
//! - `lower/`: all of the above.
//! - `plan/`: `lower/` and all of the above.
//! - `draw`: `context`, `error`, `readback`.
//! - `backward/`: `plan/`, `lower/` and all of the above but `draw`.
//! - `occlusion`: `plan/`, `lower/` and all of the above but `draw` and `backward/`.
//!
//! This file only declares the modules and re-exports what the rest of the crate uses.

/// shaders/prelude.wgsl (activation, X texture width, shared params structs) followed by the
/// named files of shaders/, joined at build time.
// Before the modules, so every one of them may use it.
macro_rules! joined {
    ($($file:literal),+) => {
        concat!(
            include_str!("../../shaders/prelude.wgsl"),
            $(include_str!(concat!("../../shaders/", $file))),+
        )
    };
}

mod backward;
mod context;
mod dispatch;
pub mod draw;
mod error;
pub mod kernels;
pub mod kernels_backward;
mod lower;
mod occlusion;
mod options;
pub mod params;
mod pipelines;
mod plan;
mod readback;
mod x_texture;

pub use backward::BackwardPlan;
pub use context::GpuContext;
pub use error::GpuError;
pub use occlusion::{OcclusionPlan, OcclusionSpec, PositionValues};
pub use options::{ConvPath, PlanOptions};
pub use plan::Plan;
pub use readback::{read_bytes, read_f32};
