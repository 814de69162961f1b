//! The feature-evolution view's calls (Zeiler & Fergus 2013, Fig. 4), thin wrappers over
//! `engine::evolution`: which checkpoints and nodes a trained model's run record offers, and
//! one checkpoint's column (first-layer filters, each chosen channel's strongest input among
//! the page's Fashion-MNIST test images and its projection) with the pictures as typed arrays.

use super::explain::with_arrays;
use super::pace::WebPace;
use super::{js_error, to_js, Session};
use crate::engine::evolution::{evolution_plan, CheckpointWeights};
use crate::lab::sample_inputs;
use crate::train::RunRecord;
use wasm_bindgen::prelude::*;

/// Side length of the Fashion-MNIST images the page has.
const SIDE: usize = 28;

#[wasm_bindgen]
impl Session {
    /// What the view can show of the model whose run record (`.run.json` text) is `record`:
    /// `{model, checkpoints: [{epoch, file, test_accuracy}], layers: [{node, kind, channels,
    /// height, width}], default_node}`; an error if the record lists no checkpoints.
    pub fn evolution_plan(&self, record: String) -> Result<JsValue, JsError> {
        let record = RunRecord::from_json(&record)
            .map_err(|e| JsError::new(&format!("not a run record: {e}")))?;
        to_js(&evolution_plan(&record).map_err(js_error)?)
    }

    /// One checkpoint's column: `weights` (its safetensors) of zoo model `model`, `channels`
    /// of `node` (the first three when empty) ranked over `count` greyscale 28x28 `samples`.
    /// Returns `{model, epoch, test_accuracy, node, inputs, ranking_backend,
    /// projection_backend, normalisation, filters: {node, count, rows, cols, height, width,
    /// ...}, patch_height, patch_width, units: [{channel, image, value, y, x, top, left}],
    /// filters_rgba, patches, projections (RGBA, one picture per unit)}`.
    #[allow(clippy::too_many_arguments)]
    pub async fn evolution_column(
        &self,
        model: String,
        node: String,
        channels: Vec<u32>,
        epoch: u32,
        test_accuracy: f32,
        weights: Vec<u8>,
        samples: Vec<u8>,
        count: usize,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let net = crate::zoo::build(&model)
            .ok_or_else(|| JsError::new(&format!("no model called `{model}` in the zoo")))?;
        let inputs = sample_inputs(&net, &samples, count, SIDE, SIDE)
            .map_err(|e| JsError::new(&format!("the test images: {e}")))?;
        let checkpoint = CheckpointWeights {
            epoch: epoch as usize,
            test_accuracy,
            bytes: &weights,
        };
        let channels: Vec<usize> = channels.iter().map(|&c| c as usize).collect();
        let mut pace = WebPace::new(on_progress);
        let c = self
            .engine
            .evolution_column(&model, &checkpoint, &node, &channels, &inputs, &mut pace)
            .await
            .map_err(js_error)?;
        let filters = c.filters.as_ref().map_or(&[][..], |f| &f.rgba[..]);
        let bytes = |v: &[u8]| -> JsValue { js_sys::Uint8Array::from(v).into() };
        with_arrays(
            &c,
            &[
                ("filters_rgba", bytes(filters)),
                ("patches", bytes(&c.patches)),
                ("projections", bytes(&c.projections)),
            ],
        )
    }
}
