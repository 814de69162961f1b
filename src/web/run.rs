//! The page's work outside the GPU engine: the CPU reference in small steps, random weights
//! with calibrated BatchNorm, and turning tensors back into pictures and probabilities.

use crate::cpu::{self, calibrate_batchnorm};
use crate::model::{Layer, Network};
use crate::preprocess::Preprocess;
use crate::tensor::Tensor;
use crate::weights::Weights;
use crate::zoo::ZooEntry;
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

pub fn js_error(context: &str, e: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("{context}: {e}"))
}

/// Let the browser paint and handle events (a zero-delay timer).
async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Every node's output on the CPU reference, yielding to the page between layers so it
/// never freezes for long.
pub async fn cpu_forward(
    net: &Network,
    weights: &Weights,
    input: &Tensor,
) -> Result<Vec<Tensor>, JsError> {
    let mut outputs = vec![input.clone()];
    let mut slice_start = js_sys::Date::now();
    for node in net.nodes.iter().skip(1) {
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&i| &outputs[i]).collect();
        let out = cpu::layer_forward(&node.name, &node.layer, weights, &ins)
            .map_err(|e| js_error("the CPU reference failed", e))?;
        outputs.push(out);
        if js_sys::Date::now() - slice_start > CPU_SLICE_MS {
            yield_to_browser().await;
            slice_start = js_sys::Date::now();
        }
    }
    Ok(outputs)
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

/// Seeded random weights and a note saying so. BatchNorm statistics are calibrated on a
/// synthetic image, at the smallest of a quarter, half or full input size that the network
/// accepts, to keep that CPU pass short (ResNet-152 at full size is 11.5 GMACs).
pub fn random_weights(entry: &ZooEntry, net: &Network) -> Result<(Weights, String), JsError> {
    let mut weights = Weights::random(net, RANDOM_SEED);
    let plain = format!(
        "random weights (seed {RANDOM_SEED}): no trained weights for {}",
        net.name
    );
    if !net
        .nodes
        .iter()
        .any(|n| matches!(n.layer, Layer::BatchNorm(_)))
    {
        return Ok((weights, plain));
    }
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
    let input = preprocess.apply(&synthetic_image(size));
    calibrate_batchnorm(net, &mut weights, &input)
        .map_err(|e| js_error("calibrating BatchNorm failed", e))?;
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
