//! The explanations' calls for the page, each a thin wrapper over one engine entry point
//! (`engine::views`, `engine::gallery`): the engine computes maps, normalisation and colours,
//! and these hand the page plain objects with the pixels as typed arrays.

use super::pace::WebPace;
use super::{js_error, to_js, Session};
use crate::engine::explain::ExplainRequest;
use crate::engine::views::HeatMethod;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `value` as a plain object with typed arrays added under the names given.
pub(super) fn with_arrays<T: Serialize>(
    value: &T,
    arrays: &[(&str, JsValue)],
) -> Result<JsValue, JsError> {
    let object = to_js(value)?;
    for (name, array) in arrays {
        js_sys::Reflect::set(&object, &(*name).into(), array)
            .map_err(|_| JsError::new("cannot pass the result to the page"))?;
    }
    Ok(object)
}

fn bytes(v: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(v).into()
}

fn floats(v: &[f32]) -> JsValue {
    js_sys::Float32Array::from(v).into()
}

#[wasm_bindgen]
impl Session {
    /// A heat map over the last classified input: `method` is `gradient`, `guided`,
    /// `gradcam` or `guided-gradcam`; `class` defaults to the top-1, Grad-CAM's `node` to
    /// the last with spatial extent. Returns `{method, backend, class, class_name, node,
    /// shape, range: {min, max, constant}, normalisation, colormap, picture, height, width,
    /// values (Float32Array, the map), rgba (Uint8Array, the picture)}`.
    pub async fn explain_heatmap(
        &self,
        method: String,
        class: Option<u32>,
        node: Option<String>,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let method = HeatMethod::parse(&method).ok_or_else(|| {
            JsError::new(&format!(
                "unknown heat map `{method}`: use gradient, guided, gradcam or guided-gradcam"
            ))
        })?;
        let mut pace = WebPace::new(on_progress);
        let map = self
            .engine
            .heatmap(
                method,
                class.map(|c| c as usize),
                node.as_deref(),
                &mut pace,
            )
            .await
            .map_err(js_error)?;
        with_arrays(
            &map,
            &[("values", floats(&map.values)), ("rgba", bytes(&map.rgba))],
        )
    }

    /// The deconvnet projection of unit `(channel, y, x)` of `node` on the last classified
    /// input: `{backend, node, channel, y, x, top, left, height, width, range, normalisation,
    /// values (the projection at the input), patch_rgba, projection_rgba}`.
    pub async fn project_unit(
        &self,
        node: String,
        channel: u32,
        y: u32,
        x: u32,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let mut pace = WebPace::new(on_progress);
        let unit = (y as usize, x as usize);
        let p = self
            .engine
            .project_unit(&node, channel as usize, unit, &mut pace)
            .await
            .map_err(js_error)?;
        with_arrays(
            &p,
            &[
                ("values", floats(&p.values)),
                ("patch_rgba", bytes(&p.patch_rgba)),
                ("projection_rgba", bytes(&p.projection_rgba)),
            ],
        )
    }

    /// Occlusion sensitivity of the last classified input (defaults for every `undefined`):
    /// `{backend, rows, cols, patch, stride, class, class_name, node, channel, ...ranges,
    /// top_classes, probability, activation (Float32Array), top_class (Uint32Array), rgba
    /// (three rows x cols RGBA pictures, concatenated)}`. `on_progress` follows the positions.
    pub async fn occlusion(
        &self,
        class: Option<u32>,
        node: Option<String>,
        patch: Option<u32>,
        stride: Option<u32>,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let request = ExplainRequest {
            class: class.map(|c| c as usize),
            node,
            patch: patch.map(|p| p as usize),
            stride: stride.map(|s| s as usize),
            ..Default::default()
        };
        let mut pace = WebPace::new(on_progress);
        let v = self
            .engine
            .occlusion_view(&request, &mut pace)
            .await
            .map_err(js_error)?;
        let top: JsValue = js_sys::Uint32Array::from(&v.top_class[..]).into();
        with_arrays(
            &v,
            &[
                ("probability", floats(&v.probability)),
                ("activation", floats(&v.activation)),
                ("top_class", top),
                ("rgba", bytes(&v.rgba)),
            ],
        )
    }

    /// Add an RGBA image to the gallery's inputs (every classified frame is added by
    /// itself); returns how many it holds.
    pub fn dataset_add_rgba(&self, width: u32, height: u32, rgba: Vec<u8>) -> Result<u32, JsError> {
        let n = self
            .engine
            .dataset_add_rgba(width, height, rgba)
            .map_err(js_error)?;
        Ok(n as u32)
    }

    /// How many inputs the gallery holds.
    pub fn dataset_size(&self) -> u32 {
        self.engine.dataset_len() as u32
    }

    /// The top-9 of `channel` of `node` over the inputs seen: `{backend, projection_backend,
    /// node, channel, inputs, height, width, normalisation, entries: [{image, value, y, x,
    /// top, left}], patches, projections (RGBA, one height x width picture per entry)}`.
    pub async fn top9(
        &self,
        node: String,
        channel: u32,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let mut pace = WebPace::new(on_progress);
        let g = self
            .engine
            .gallery(&node, channel as usize, &mut pace)
            .await
            .map_err(js_error)?;
        with_arrays(
            &g,
            &[
                ("patches", bytes(&g.patches)),
                ("projections", bytes(&g.projections)),
            ],
        )
    }
}
