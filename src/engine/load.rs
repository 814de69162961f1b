//! A model's weights, the same way for the page and the tool: trained weights from
//! safetensors bytes or a PyTorch checkpoint (checked against the network at once, decoded a
//! few MB or a tensor a step), or seeded random weights with BatchNorm statistics calibrated
//! on a synthetic image.

use super::pace::Pace;
use super::EngineError;
use crate::cpu::{calibrate_node, calibrate_output, Stepper, CALIBRATED_LOGIT_STD};
use crate::model::{Layer, Network};
use crate::preprocess::Preprocess;
use crate::tensor::Tensor;
use crate::weights::{
    check_safetensors, check_torch, decode_f32, RandomWeights, TorchCheckpoint, TorchFormat,
    Weights, WeightsError,
};
use crate::zoo::ZooEntry;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BTreeMap;

/// Seed of the random weights of models without trained ones, everywhere.
pub const RANDOM_SEED: u64 = 0;
/// Seed of the synthetic image random weights are calibrated on.
const CALIBRATION_IMAGE_SEED: u64 = 1;
/// Random values made between ticks (a few ms of work).
const RANDOM_VALUES_PER_STEP: usize = 1 << 20;
/// Weight bytes decoded between ticks (a multiple of 4).
const DECODE_BYTES_PER_STEP: usize = 1 << 22;
/// Multiply-accumulates of a convolution's piece between ticks (10-20 ms of the CPU
/// reference in WebAssembly; a whole VGG layer at 56x56 is 58 M and takes 300 ms).
pub const MACS_PER_PIECE: usize = 4 << 20;

/// A network's weights and where they came from.
pub struct ModelWeights {
    pub weights: Weights,
    /// Trained weights (not random ones).
    pub trained: bool,
    /// Where the weights came from, said plainly.
    pub note: String,
}

/// The weights of `entry`'s network `net`: from safetensors or PyTorch checkpoint `bytes`,
/// or seeded random weights (calibrated) when there are none.
pub async fn model_weights(
    entry: &ZooEntry,
    net: &Network,
    bytes: Option<&[u8]>,
    pace: &mut impl Pace,
) -> Result<ModelWeights, EngineError> {
    match bytes {
        Some(bytes) => {
            let (weights, note) =
                decode_weights(bytes, net, pace)
                    .await
                    .map_err(|source| EngineError::Weights {
                        model: net.name.clone(),
                        source: Box::new(source),
                    })?;
            Ok(ModelWeights {
                weights,
                trained: true,
                note,
            })
        }
        None => {
            let (weights, note) = random_weights(entry, net, pace).await?;
            Ok(ModelWeights {
                weights,
                trained: false,
                note,
            })
        }
    }
}

/// The weights of `net` from safetensors or PyTorch checkpoint `bytes` (told apart by their
/// first bytes): checked at once against the network (every problem named by tensor), then
/// decoded a few MB (safetensors) or a tensor (checkpoints) at a time; and where they came
/// from, said plainly.
pub async fn decode_weights(
    bytes: &[u8],
    net: &Network,
    pace: &mut impl Pace,
) -> Result<(Weights, String), WeightsError> {
    const STAGE: &str = "decoding the weights";
    if let Some(format) = TorchFormat::sniff(bytes) {
        return decode_torch(bytes, format, net, pace).await;
    }
    let layouts = check_safetensors(bytes, net)?;
    let total: usize = layouts.iter().map(|t| t.bytes.len()).sum::<usize>().max(1);
    let mut done = 0;
    let mut tensors = BTreeMap::new();
    pace.report(STAGE, 0.0);
    for t in layouts {
        let mut data = Vec::with_capacity(t.bytes.len() / 4);
        for chunk in bytes[t.bytes].chunks(DECODE_BYTES_PER_STEP) {
            data.append(&mut decode_f32(chunk));
            done += chunk.len();
            pace.tick(STAGE, done as f64 / total as f64).await;
        }
        tensors.insert(t.name, Tensor::new(t.shape, data));
    }
    pace.report(STAGE, 1.0);
    Ok((Weights { tensors }, "trained weights".into()))
}

/// [`decode_weights`] of a PyTorch checkpoint, a tensor between ticks.
async fn decode_torch(
    bytes: &[u8],
    format: TorchFormat,
    net: &Network,
    pace: &mut impl Pace,
) -> Result<(Weights, String), WeightsError> {
    const STAGE: &str = "decoding the checkpoint";
    let checkpoint = TorchCheckpoint::read(bytes)?;
    let fit = check_torch(&checkpoint, net)?;
    let size = |i: &usize| checkpoint.tensors[*i].file_bytes;
    let total = fit.keep.iter().map(size).sum::<usize>().max(1);
    let mut done = 0;
    let mut tensors = BTreeMap::new();
    pace.report(STAGE, 0.0);
    for i in &fit.keep {
        let t = checkpoint.decode(*i)?;
        tensors.insert(checkpoint.tensors[*i].name.clone(), t);
        done += size(i);
        pace.tick(STAGE, done as f64 / total as f64).await;
    }
    pace.report(STAGE, 1.0);
    let mut parts = vec![format.describe().to_string()];
    parts.extend(fit.notes);
    let note = format!("trained weights ({})", parts.join("; "));
    Ok((Weights { tensors }, note))
}

/// A synthetic photo for calibration: seeded fractal noise whose amplitude falls as 1/f, the
/// power spectrum of natural images (Field 1987, "Relations between the statistics of
/// natural images and the response properties of cortical cells"). Random filters respond
/// mostly to fine detail, so a smooth image would calibrate them to a tenth of what a photo
/// makes them give.
fn synthetic_image(size: u32) -> image::DynamicImage {
    let n = size.max(1) as usize;
    let mut rng = StdRng::seed_from_u64(CALIBRATION_IMAGE_SEED);
    // Luminance and two colour-difference planes.
    let mut planes = [vec![0f32; n * n], vec![0f32; n * n], vec![0f32; n * n]];
    let mut cell = n.next_power_of_two();
    while cell >= 1 {
        let cells = n.div_ceil(cell) + 1;
        let amplitude = cell as f32 / n as f32;
        for plane in planes.iter_mut() {
            let grid: Vec<f32> = (0..cells * cells)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            for y in 0..n {
                let (gy, fy) = (y / cell, (y % cell) as f32 / cell as f32);
                for x in 0..n {
                    let (gx, fx) = (x / cell, (x % cell) as f32 / cell as f32);
                    let at = |j: usize, i: usize| grid[(gy + j) * cells + gx + i];
                    let top = at(0, 0) * (1.0 - fx) + at(0, 1) * fx;
                    let bottom = at(1, 0) * (1.0 - fx) + at(1, 1) * fx;
                    plane[y * n + x] += amplitude * (top * (1.0 - fy) + bottom * fy);
                }
            }
        }
        cell /= 2;
    }
    // Each plane to zero mean and unit spread, then pixels around a mid-grey with the
    // spread of a photo (ImageNet's per-channel standard deviation is about 58 of 255).
    for plane in &mut planes {
        let mean = plane.iter().sum::<f32>() / plane.len() as f32;
        let var = plane.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / plane.len() as f32;
        let scale = 1.0 / var.sqrt().max(1e-6);
        plane.iter_mut().for_each(|v| *v = (*v - mean) * scale);
    }
    let px = |v: f32| (118.0 + 58.0 * v).round().clamp(0.0, 255.0) as u8;
    let img = image::RgbImage::from_fn(n as u32, n as u32, |x, y| {
        let i = y as usize * n + x as usize;
        let (l, a, b) = (planes[0][i], 0.3 * planes[1][i], 0.3 * planes[2][i]);
        image::Rgb([px(l + a), px(l - 0.5 * a - 0.5 * b), px(l + b)])
    });
    image::DynamicImage::ImageRgb8(img)
}

/// The input side on which BatchNorm is calibrated: the smallest of a quarter, half or full
/// input size that the network accepts, to keep that CPU pass short (ResNet-152 at full
/// size is 11.5 GMACs).
fn calibration_size(entry: &ZooEntry, net: &Network) -> u32 {
    let full = entry.preprocess.output_size().0 as u32;
    [full / 4, full / 2, full]
        .into_iter()
        .find(|&s| s > 0 && net.infer_shapes(s as usize, s as usize).is_ok())
        .unwrap_or(full)
}

/// Seeded random weights and a note saying so, made a piece at a time, then calibrated on a
/// synthetic image in one CPU pass, a step at a time: BatchNorm statistics from their inputs
/// (`cpu::calibrate_node`) and the scale of the scores (`cpu::calibrate_output`).
pub async fn random_weights(
    entry: &ZooEntry,
    net: &Network,
    pace: &mut impl Pace,
) -> Result<(Weights, String), EngineError> {
    const MAKING: &str = "making random weights";
    let mut maker = RandomWeights::new(net, RANDOM_SEED);
    pace.report(MAKING, 0.0);
    while !maker.step(RANDOM_VALUES_PER_STEP) {
        pace.tick(MAKING, maker.progress()).await;
    }
    pace.report(MAKING, 1.0);
    let mut weights = maker.finish();
    let plain = format!(
        "random weights (seed {RANDOM_SEED}): no trained weights for {}",
        net.name
    );
    let size = calibration_size(entry, net);
    let preprocess = match entry.preprocess {
        Preprocess::Imagenet { mean, std, bgr, .. } => Preprocess::Imagenet {
            resize: size,
            crop: size,
            mean,
            std,
            bgr,
        },
        other => other,
    };
    let input = preprocess.apply(&synthetic_image(size));
    const STAGE: &str = "calibrating the random weights";
    pace.report(STAGE, 0.0);
    let mut stepper = Stepper::new(net, &weights, &input)?.in_pieces(MACS_PER_PIECE);
    while let Some(id) = stepper.next_node() {
        // A BatchNorm runs in one step, so this sets its statistics once, just before it.
        calibrate_node(&net.nodes[id], &mut weights, stepper.outputs())?;
        stepper.step(&weights)?;
        pace.tick(STAGE, stepper.progress()).await;
    }
    let scaled = calibrate_output(net, &mut weights, stepper.outputs())?;
    pace.report(STAGE, 1.0);
    let has_batchnorm = net
        .nodes
        .iter()
        .any(|n| matches!(n.layer, Layer::BatchNorm(_)));
    let mut calibrated = Vec::new();
    if has_batchnorm {
        calibrated.push("BatchNorm statistics".to_string());
    }
    if let Some(id) = scaled {
        calibrated.push(format!(
            "the scale of `{}` (scores spread by {CALIBRATED_LOGIT_STD})",
            net.nodes[id].name
        ));
    }
    if calibrated.is_empty() {
        return Ok((weights, plain));
    }
    let note = format!(
        "{plain}; {} calibrated on a synthetic {size}x{size} image",
        calibrated.join(" and ")
    );
    Ok((weights, note))
}
