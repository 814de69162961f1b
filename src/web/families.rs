//! The family views' numbers for the page (`crate::engine::families`): computed from the
//! last pass's node reads, on whichever engine ran it; the page only draws them.

use super::{js_error, to_js, Session};
use crate::engine::families::activation_curves;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Which nodes of the loaded model each family view can show: `{heads, residual,
    /// batchnorm, activations, lrn, overlapping_pools}`, lists of node names.
    pub fn family_nodes(&self) -> Result<JsValue, JsError> {
        to_js(&self.engine.family_nodes().map_err(js_error)?)
    }

    /// Every output head's top-5 (main first) and the auxiliary loss weight in training.
    pub async fn output_heads(&self) -> Result<JsValue, JsError> {
        to_js(&self.engine.output_heads().await.map_err(js_error)?)
    }

    /// Every residual block in depth order: `{add, branch, shortcut, identity, branch_norm,
    /// shortcut_norm, ratio}`.
    pub async fn residual_blocks(&self) -> Result<JsValue, JsError> {
        to_js(&self.engine.residual_blocks().await.map_err(js_error)?)
    }

    /// BatchNorm node `node`: each channel's mean and standard deviation before and after.
    pub async fn batchnorm_stats(&self, node: String) -> Result<JsValue, JsError> {
        to_js(&self.engine.batchnorm_stats(&node).await.map_err(js_error)?)
    }

    /// Every activation node: the share of units at 0, at ReLU6's ceiling, or saturated.
    pub async fn activation_shares(&self) -> Result<JsValue, JsError> {
        to_js(&self.engine.activation_shares().await.map_err(js_error)?)
    }

    /// Sigmoid, tanh, ReLU, ReLU6 and leaky ReLU and their derivatives at `n` points of `[lo, hi]`.
    pub fn activation_curves(&self, lo: f32, hi: f32, n: u32) -> Result<JsValue, JsError> {
        to_js(&activation_curves(lo, hi, n.min(10_000) as usize))
    }

    /// LRN node `node`: one channel's map before and after (by default the busiest input
    /// channel), and what each channel kept.
    pub async fn lrn_maps(&self, node: String, channel: Option<u32>) -> Result<JsValue, JsError> {
        let channel = channel.map(|c| c as usize);
        to_js(
            &self
                .engine
                .lrn_maps(&node, channel)
                .await
                .map_err(js_error)?,
        )
    }

    /// Pooling node `node`'s first `rows x cols` windows on its input grid.
    pub fn pool_windows(&self, node: &str, rows: u32, cols: u32) -> Result<JsValue, JsError> {
        let windows = self.engine.pool_windows(node, rows as usize, cols as usize);
        to_js(&windows.map_err(js_error)?)
    }
}
