//! The page's work outside the GPU engine, all in small steps that yield to the browser so
//! the page never freezes: the CPU reference, checking and decoding weights, random weights
//! with calibrated BatchNorm; and turning tensors back into pictures.

use crate::cpu::{self, calibrate_node, CpuError};
use crate::model::{output_shape, Layer, Network, Node, Shape};
use crate::preprocess::Preprocess;
use crate::tensor::Tensor;
use crate::weights::{check_safetensors, decode_f32, RandomWeights, Weights, WeightsError};
use crate::zoo::ZooEntry;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32) -> JsValue;
}

/// Longest stretch of CPU work (ms) before the page gets a turn to paint and handle input.
const CPU_SLICE_MS: f64 = 25.0;
/// Seed of the random weights of models without trained ones (the CLI uses the same).
pub const RANDOM_SEED: u64 = 0;
/// Random values made between checks of the clock (a few ms of work).
const RANDOM_VALUES_PER_STEP: usize = 1 << 20;
/// Weight bytes decoded between checks of the clock (a multiple of 4).
const DECODE_BYTES_PER_STEP: usize = 1 << 22;
/// Multiply-accumulates of a convolution's piece between checks of the clock (10-20 ms of
/// the CPU reference in WebAssembly; a whole VGG layer at 56x56 is 58 M and takes 300 ms).
const MACS_PER_PIECE: usize = 4 << 20;

pub fn js_error(context: &str, e: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("{context}: {e}"))
}

/// Let the browser paint and handle events (a zero-delay timer).
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Paces long work on the page's thread: `tick` between small steps gives the browser a
/// turn once a slice of [`CPU_SLICE_MS`] is used up, and tells the page how far the work is.
pub struct Pacer {
    slice_start: f64,
    /// `on_progress(stage, fraction)` from the page, if it asked.
    on_progress: Option<js_sys::Function>,
}

impl Pacer {
    pub fn new(on_progress: Option<js_sys::Function>) -> Self {
        Pacer {
            slice_start: js_sys::Date::now(),
            on_progress,
        }
    }

    /// Say that `stage` is `fraction` done; yield to the browser if the slice is used up.
    pub async fn tick(&mut self, stage: &str, fraction: f64) {
        if js_sys::Date::now() - self.slice_start <= CPU_SLICE_MS {
            return;
        }
        self.report(stage, fraction);
        yield_to_browser().await;
        self.slice_start = js_sys::Date::now();
    }

    /// Tell the page now (a stage starting or ending), without yielding.
    pub fn report(&self, stage: &str, fraction: f64) {
        if let Some(f) = &self.on_progress {
            // The page's progress display failing must not stop the work.
            let _ = f.call2(&JsValue::NULL, &stage.into(), &fraction.into());
        }
    }
}

/// Every node's output on the CPU reference, yielding to the page between layers so it
/// never freezes for long.
pub async fn cpu_forward(
    net: &Network,
    weights: &Weights,
    input: &Tensor,
) -> Result<Vec<Tensor>, JsError> {
    let mut outputs = vec![input.clone()];
    let mut pacer = Pacer::new(None);
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        let fraction = id as f64 / net.nodes.len() as f64;
        let out = node_forward(
            node,
            weights,
            &outputs,
            &mut pacer,
            ("running the CPU reference", fraction),
        )
        .await
        .map_err(|e| js_error("the CPU reference failed", e))?;
        outputs.push(out);
    }
    Ok(outputs)
}

/// One node's output on the CPU reference, given the outputs of the nodes before it. A
/// convolution runs a few output channels at a time with a `tick` after each piece, other
/// layers in one go (none is long at the page's sizes).
async fn node_forward(
    node: &Node,
    weights: &Weights,
    outputs: &[Tensor],
    pacer: &mut Pacer,
    (stage, fraction): (&str, f64),
) -> Result<Tensor, CpuError> {
    let ins: Vec<&Tensor> = node.inputs.iter().map(|&i| &outputs[i]).collect();
    let Layer::Conv2d(conv) = &node.layer else {
        let out = cpu::layer_forward(&node.name, &node.layer, weights, &ins)?;
        pacer.tick(stage, fraction).await;
        return Ok(out);
    };
    let shapes: Vec<Shape> = ins
        .iter()
        .map(|t| match t.shape[..] {
            [c, h, w] => Ok(Shape::new(c, h, w)),
            _ => Err(CpuError::InputRank {
                node: node.name.clone(),
                found: t.shape.clone(),
            }),
        })
        .collect::<Result<_, _>>()?;
    let out = output_shape(&node.name, &node.layer, &shapes)?;
    let (kh, kw) = conv.kernel;
    let channel_macs = (conv.in_channels / conv.groups.max(1)) * kh * kw * out.h * out.w;
    let per_piece = (MACS_PER_PIECE / channel_macs.max(1)).max(1);
    let mut data = Vec::with_capacity(out.len());
    let mut first = 0;
    while first < out.c {
        let channels = first..(first + per_piece).min(out.c);
        first = channels.end;
        let piece = cpu::layer_forward_channels(&node.name, &node.layer, weights, &ins, channels)?;
        data.extend_from_slice(&piece);
        pacer.tick(stage, fraction).await;
    }
    Ok(Tensor::new(vec![out.c, out.h, out.w], data))
}

/// The weights of `net` from safetensors `bytes`: checked at once against the network (every
/// problem named by tensor), then decoded a few MB at a time.
pub async fn load_weights(
    bytes: &[u8],
    net: &Network,
    pacer: &mut Pacer,
) -> Result<Weights, WeightsError> {
    const STAGE: &str = "decoding the weights";
    let layouts = check_safetensors(bytes, net)?;
    let total: usize = layouts.iter().map(|t| t.bytes.len()).sum::<usize>().max(1);
    let mut done = 0;
    let mut tensors = BTreeMap::new();
    pacer.report(STAGE, 0.0);
    for t in layouts {
        let mut data = Vec::with_capacity(t.bytes.len() / 4);
        for chunk in bytes[t.bytes].chunks(DECODE_BYTES_PER_STEP) {
            data.append(&mut decode_f32(chunk));
            done += chunk.len();
            pacer.tick(STAGE, done as f64 / total as f64).await;
        }
        tensors.insert(t.name, Tensor::new(t.shape, data));
    }
    pacer.report(STAGE, 1.0);
    Ok(Weights { tensors })
}

/// A smooth synthetic photo-like image (gradients, a blob, a wave) for BatchNorm calibration.
fn synthetic_image(size: u32) -> image::DynamicImage {
    let s = size.max(1) as f32;
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let (u, v) = (x as f32 / s, y as f32 / s);
        let blob = (-((u - 0.4).powi(2) + (v - 0.6).powi(2)) * 12.0).exp();
        let wave = 0.5 + 0.5 * (u * 17.0).sin() * (v * 11.0).cos();
        let px = |a: f32| (a.clamp(0.0, 1.0) * 255.0) as u8;
        image::Rgb([
            px(0.2 + 0.6 * u + 0.3 * blob),
            px(0.3 + 0.4 * wave * v),
            px(0.7 - 0.5 * v + 0.2 * blob),
        ])
    });
    image::DynamicImage::ImageRgb8(img)
}

/// Seeded random weights and a note saying so, made a piece at a time. BatchNorm statistics
/// are calibrated on a synthetic image, at the smallest of a quarter, half or full input size
/// that the network accepts, to keep that CPU pass short (ResNet-152 at full size is 11.5
/// GMACs), one node at a time.
pub async fn random_weights(
    entry: &ZooEntry,
    net: &Network,
    pacer: &mut Pacer,
) -> Result<(Weights, String), JsError> {
    let mut maker = RandomWeights::new(net, RANDOM_SEED);
    pacer.report("making random weights", 0.0);
    while !maker.step(RANDOM_VALUES_PER_STEP) {
        pacer.tick("making random weights", maker.progress()).await;
    }
    pacer.report("making random weights", 1.0);
    let mut weights = maker.finish();
    let plain = format!(
        "random weights (seed {RANDOM_SEED}): no trained weights for {}",
        net.name
    );
    // Nodes after the last BatchNorm do not change any statistics: they are not run.
    let Some(last_batchnorm) = net
        .nodes
        .iter()
        .rposition(|n| matches!(n.layer, Layer::BatchNorm(_)))
    else {
        return Ok((weights, plain));
    };
    let full = entry.preprocess.output_size().0 as u32;
    let size = [full / 4, full / 2, full]
        .into_iter()
        .find(|&s| s > 0 && net.infer_shapes(s as usize, s as usize).is_ok())
        .unwrap_or(full);
    let preprocess = match entry.preprocess {
        Preprocess::Imagenet { mean, std, .. } => Preprocess::Imagenet {
            resize: size,
            crop: size,
            mean,
            std,
        },
        other => other,
    };
    let failed = |e: CpuError| js_error("calibrating BatchNorm failed", e);
    net.validate().map_err(|e| failed(e.into()))?;
    let mut outputs = vec![preprocess.apply(&synthetic_image(size))];
    const STAGE: &str = "calibrating BatchNorm";
    pacer.report(STAGE, 0.0);
    for (id, node) in net
        .nodes
        .iter()
        .enumerate()
        .take(last_batchnorm + 1)
        .skip(1)
    {
        calibrate_node(node, &mut weights, &outputs).map_err(failed)?;
        let fraction = id as f64 / last_batchnorm as f64;
        let out = node_forward(node, &weights, &outputs, pacer, (STAGE, fraction))
            .await
            .map_err(failed)?;
        outputs.push(out);
    }
    pacer.report(STAGE, 1.0);
    let note =
        format!("{plain}; BatchNorm statistics calibrated on a synthetic {size}x{size} image");
    Ok((weights, note))
}

/// The network input shown as an image: the crop the network sees, normalisation undone.
pub fn input_to_rgba(preprocess: &Preprocess, input: &Tensor) -> Vec<u8> {
    let (c, n) = (input.shape[0], input.shape[1] * input.shape[2]);
    let value = |ch: usize, i: usize| -> f32 {
        let v = input.data[ch.min(c - 1) * n + i];
        match preprocess {
            Preprocess::Imagenet { mean, std, .. } => v * std[ch] + mean[ch],
            Preprocess::Grayscale { .. } => v * 255.0,
        }
    };
    let mut rgba = Vec::with_capacity(4 * n);
    for i in 0..n {
        for ch in 0..3 {
            rgba.push(value(ch, i).round().clamp(0.0, 255.0) as u8);
        }
        rgba.push(255);
    }
    rgba
}
