//! The teaching lab's calls: the catalogue of twins and tricks, the live comparisons, one lab
//! network's report (costs, record, first-layer filters), its first-layer responses to one
//! image, and the measured time of the kernel comparison's two sides on this device.

use super::pace::WebPace;
use super::{to_js, Session};
use crate::engine::cpu_pass;
use crate::lab::{self, sample_inputs, side_report, time_block, BlockTime, Clock, Lesson};
use crate::model::Network;
use crate::tensor::Tensor;
use crate::train::{init_weights, RunRecord};
use crate::weights::{load_safetensors, Weights};
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn js_error(context: &str, e: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("{context}: {e}"))
}

/// Side length of the lab networks' greyscale inputs.
const SIDE: usize = 28;

#[derive(Serialize)]
struct Catalog {
    twins: &'static [lab::Twin],
    tricks: &'static [lab::Trick],
    lessons: [Lesson; 4],
    low_contrast: f32,
    fashion_classes: [&'static str; 10],
}

#[derive(Serialize)]
struct Timing {
    backend: String,
    large: BlockTime,
    stacked: BlockTime,
}

#[derive(Serialize)]
struct Maps {
    node: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

fn lab_net(model: &str) -> Result<Network, JsError> {
    if !lab::models().contains(&model) {
        return Err(JsError::new(&format!(
            "`{model}` is not one of the lab's networks"
        )));
    }
    Ok(crate::zoo::build(model).expect("lab networks are in the zoo"))
}

fn lab_weights(net: &Network, bytes: &[u8]) -> Result<Weights, JsError> {
    load_safetensors(bytes, net).map_err(|e| js_error(&format!("weights of {}", net.name), e))
}

/// The CPU reference's median time for `net` on a random input (no WebGPU).
async fn cpu_time(net: &Network, h: usize, w: usize, runs: usize) -> Result<BlockTime, JsError> {
    let weights = init_weights(net, 1);
    let c = net
        .infer_shapes(h, w)
        .map_err(|e| js_error("bad size", e))?[0]
        .c;
    let input = Tensor::new(vec![c, h, w], vec![0.5; c * h * w]);
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let start = js_sys::Date::now();
        cpu_pass(net, &weights, &input, &mut WebPace::new(None))
            .await
            .map_err(|e| js_error("the CPU reference", e))?;
        times.push(js_sys::Date::now() - start);
    }
    times.sort_by(f64::total_cmp);
    Ok(BlockTime {
        ms: times[times.len() / 2],
        runs: times.len(),
        clock: Clock::Wall,
    })
}

#[wasm_bindgen]
impl Session {
    /// `{twins, tricks, lessons, low_contrast, fashion_classes}`: what the lab shows, and the
    /// papers' example settings for each comparison.
    pub fn lab_catalog(&self) -> Result<JsValue, JsError> {
        to_js(&Catalog {
            twins: lab::TWINS,
            tricks: lab::TRICKS,
            lessons: Lesson::DEFAULTS,
            low_contrast: lab::LOW_CONTRAST,
            fashion_classes: crate::labels::FASHION_MNIST,
        })
    }

    /// Both sides of a comparison (`{kind: "kernels" | "inception" | "bottleneck" | "heads",
    /// ...settings}`), from the analysis module.
    pub fn lab_compare(&self, lesson: JsValue) -> Result<JsValue, JsError> {
        let lesson: Lesson = serde_wasm_bindgen::from_value(lesson)
            .map_err(|e| js_error("bad comparison settings", e))?;
        to_js(
            &lesson
                .compare()
                .map_err(|e| js_error("cannot compare", e))?,
        )
    }

    /// One lab network's report: costs, the run record (`record`, the `.run.json` text, if
    /// fetched), and with `weights` its first layer measured on `count` greyscale 28x28
    /// `samples`.
    pub fn lab_side(
        &self,
        model: String,
        weights: Option<Vec<u8>>,
        record: Option<String>,
        samples: Vec<u8>,
        count: usize,
    ) -> Result<JsValue, JsError> {
        let net = lab_net(&model)?;
        let record = match record {
            Some(text) => Some(
                RunRecord::from_json(&text)
                    .map_err(|e| js_error(&format!("the run record of {model}"), e))?,
            ),
            None => None,
        };
        let weights = weights.map(|b| lab_weights(&net, &b)).transpose()?;
        let images = sample_inputs(&net, &samples, count, SIDE, SIDE)
            .map_err(|e| js_error("sample images", e))?;
        let report = side_report(&model, record, weights.as_ref(), &images)
            .map_err(|e| js_error(&model, e))?;
        to_js(&report)
    }

    /// The rectified responses of a lab network's first convolution to one greyscale 28x28
    /// image: `{node, shape: [c, h, w], data}`.
    pub fn lab_first_maps(
        &self,
        model: String,
        weights: Vec<u8>,
        image: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let net = lab_net(&model)?;
        let weights = lab_weights(&net, &weights)?;
        let input = sample_inputs(&net, &image, 1, SIDE, SIDE)
            .map_err(|e| js_error("the image", e))?
            .remove(0);
        let first = lab::first_layer(&net, &weights, std::slice::from_ref(&input))
            .map_err(|e| js_error(&model, e))?
            .ok_or_else(|| JsError::new(&format!("{model} has no convolution")))?;
        let id = net
            .find(&first.response_node)
            .expect("named by first_layer");
        let outputs =
            crate::cpu::forward(&net, &weights, &input).map_err(|e| js_error(&model, e))?;
        let out = &outputs[id];
        to_js(&Maps {
            node: first.response_node,
            shape: out.shape.clone(),
            data: out.data.clone(),
        })
    }

    /// The measured time of the kernel comparison's two sides (`{kind: "kernels", ...}`) on
    /// this device: WebGPU when the session has it, else the CPU reference (and `backend`
    /// says which). Median of `runs` passes after one warm-up.
    pub async fn lab_time(&self, lesson: JsValue, runs: usize) -> Result<JsValue, JsError> {
        let lesson: Lesson = serde_wasm_bindgen::from_value(lesson)
            .map_err(|e| js_error("bad comparison settings", e))?;
        let Lesson::Kernels {
            in_c,
            out_c,
            h,
            w,
            k,
        } = lesson
        else {
            return Err(JsError::new("only the kernel comparison is timed"));
        };
        lesson
            .compare()
            .map_err(|e| js_error("cannot compare", e))?;
        let nets = [
            crate::analysis::single_kernel_net(in_c, out_c, k),
            crate::analysis::stacked_3x3_net(in_c, out_c, k),
        ];
        let mut times = Vec::new();
        let backend = match self.engine.gpu() {
            Some(ctx) => {
                self.engine
                    .check_device()
                    .map_err(|e| JsError::new(&e.to_string()))?;
                let now = js_sys::Date::now;
                for net in &nets {
                    let t = time_block(ctx, net, h, w, runs, &now)
                        .await
                        .map_err(|e| js_error("the GPU could not time the blocks", e))?;
                    times.push(t);
                }
                "webgpu"
            }
            None => {
                for net in &nets {
                    times.push(cpu_time(net, h, w, runs).await?);
                }
                "cpu"
            }
        };
        let stacked = times.pop().expect("two sides");
        let large = times.pop().expect("two sides");
        to_js(&Timing {
            backend: backend.into(),
            large,
            stacked,
        })
    }
}
