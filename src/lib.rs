//! convscope: classic CNNs described once, analysed exactly, run on a CPU reference and on the GPU.
//!
//! Data flows `model` (descriptions) -> `zoo` (the networks) -> `analysis` (costs, receptive
//! fields) -> `cpu` (reference forward pass) -> later the GPU engine and the page.

pub mod analysis;
pub mod cpu;
pub mod engine;
pub mod explain;
pub mod fastcpu;
pub mod gpu;
pub mod import;
pub mod lab;
pub mod labels;
pub mod model;
pub mod predict;
pub mod preprocess;
pub mod tensor;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;
pub mod zoo;
