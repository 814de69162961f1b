//! The lab's families panel for the page: the five families at Fashion-MNIST scale and the
//! ResNet's plain twin, their costs and recorded runs (`crate::lab::family_rows`) and their
//! inference time per image measured on the visitor's device (`crate::lab::time_families`):
//! the fast CPU engine, and WebGPU when the browser has an adapter.

use super::{to_js, Session};
use crate::gpu::GpuContext;
use crate::lab::{family_rows, time_families, FamiliesReport, Family, DEGRADATION_PAIR, FAMILIES};
use crate::train::RunRecord;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[derive(Serialize)]
struct FamiliesCatalog {
    families: &'static [Family],
    /// Plain first, residual second: the pair drawn on one chart.
    pair: [&'static str; 2],
}

/// The page's high-resolution clock, `performance.now()` (Date.now ticks in whole ms).
fn performance_now() -> f64 {
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into()).ok();
    let now = performance
        .as_ref()
        .and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok())
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match (performance, now) {
        (Some(p), Some(now)) => now.call0(&p).ok().and_then(|v| v.as_f64()),
        _ => None,
    }
    .unwrap_or_else(js_sys::Date::now)
}

#[wasm_bindgen]
impl Session {
    /// `{families: [{model, family, keeps}], pair: [plain, residual]}`.
    pub fn lab_families_catalog(&self) -> Result<JsValue, JsError> {
        to_js(&FamiliesCatalog {
            families: FAMILIES,
            pair: DEGRADATION_PAIR,
        })
    }

    /// `{gpu_adapter, families: [row]}` as `convscope lab --families --json` gives it:
    /// `records` are the families' `.run.json` texts in catalogue order (null where the server
    /// has none); each row's `cpu` and `gpu` (null without WebGPU) times per image are the
    /// median of `runs` samples on this device.
    pub async fn lab_families(&self, records: JsValue, runs: usize) -> Result<JsValue, JsError> {
        let texts: Vec<Option<String>> = serde_wasm_bindgen::from_value(records)
            .map_err(|e| JsError::new(&format!("the families' run records: {e}")))?;
        let records = texts
            .iter()
            .zip(FAMILIES)
            .map(|(text, f)| {
                text.as_deref()
                    .map(RunRecord::from_json)
                    .transpose()
                    .map_err(|e| JsError::new(&format!("the run record of {}: {e}", f.model)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut families = family_rows(&records).map_err(|e| JsError::new(&e.to_string()))?;
        // The engine's own device when it runs on WebGPU; otherwise (no adapter, or a software
        // one the engine passed over for the CPU engine) one opened for the measurement.
        let opened;
        let (gpu, gpu_adapter) = match self.engine.gpu() {
            Some(ctx) => (Some(&**ctx), ctx.describe()),
            None => match GpuContext::new().await {
                Ok(ctx) => {
                    opened = ctx;
                    (Some(&opened), opened.describe())
                }
                Err(e) => (None, format!("unavailable ({e})")),
            },
        };
        time_families(&mut families, gpu, runs, &performance_now)
            .await
            .map_err(|e| JsError::new(&e.to_string()))?;
        to_js(&FamiliesReport {
            gpu_adapter,
            families,
        })
    }
}
