//! Feature evolution (Zeiler & Fergus 2013, Fig. 4): how a trained network's features grow
//! during training. For each checkpoint its run record lists (`train::RunRecord::checkpoints`):
//! the first layer's filters as one picture and, for a few channels of a chosen node, the
//! input of a dataset that excites each most (its strongest position; `explain::Top9`'s
//! ranking on the fast CPU engine) beside that unit's deconvnet projection
//! ([`Engine::unit_pictures`]: the checkpoint's GPU plan first, the CPU reference as fallback).
//!
//! A checkpoint is prepared beside the loaded model and never replaces it. The page and the
//! tool call [`Engine::evolution_column`] once per checkpoint.

use super::{model_weights, Classes, Engine, EngineError, Installed, Pace};
use crate::analysis::analyze;
use crate::explain::picture::tensor_rgba;
use crate::explain::{ExplainError, Top9};
use crate::lab::first_conv;
use crate::model::Network;
use crate::tensor::Tensor;
use crate::train::{Checkpoint, RunRecord};
use crate::weights::Weights;
use crate::zoo;
use serde::Serialize;

/// How many channels are followed when none are named: the first ones.
pub const DEFAULT_UNITS: usize = 3;

/// What the pictures' grey levels mean.
pub const NORMALISATION: &str = "filters: one scale for the layer, 0 is mid-grey and the largest |weight| the extremes; patch: the input as the network saw it; projection: 0 is mid-grey, max |v| the extremes";

/// A node whose units the view can follow.
#[derive(Clone, Debug, Serialize)]
pub struct EvolutionLayer {
    pub node: String,
    /// The analysis module's kind name (`conv`, `relu`, `maxpool`, ...).
    pub kind: &'static str,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// What the view can show of one trained model: its checkpoints and followable nodes.
#[derive(Clone, Debug, Serialize)]
pub struct EvolutionPlan {
    pub model: String,
    /// As the run record lists them, in epoch order.
    pub checkpoints: Vec<Checkpoint>,
    /// Every node after the input whose output has more than one position, in order.
    pub layers: Vec<EvolutionLayer>,
    /// The deepest of them: the default.
    pub default_node: String,
}

/// The plan of the model whose run record is `record`: an error unless the model is in the
/// zoo and the record lists checkpoints.
pub fn evolution_plan(record: &RunRecord) -> Result<EvolutionPlan, EngineError> {
    let entry = zoo::entry(&record.model).ok_or_else(|| EngineError::UnknownModel {
        name: record.model.clone(),
    })?;
    if record.checkpoints.is_empty() {
        return Err(EngineError::NoCheckpoints {
            model: record.model.clone(),
        });
    }
    let net = (entry.build)();
    let (h, w) = entry.preprocess.output_size();
    let analysis = analyze(&net, h, w)?;
    let layers: Vec<EvolutionLayer> = analysis
        .nodes
        .iter()
        .skip(1)
        .filter(|n| n.output_shape.h * n.output_shape.w > 1)
        .map(|n| EvolutionLayer {
            node: n.name.clone(),
            kind: n.kind,
            channels: n.output_shape.c,
            height: n.output_shape.h,
            width: n.output_shape.w,
        })
        .collect();
    let default_node = layers.last().map(|l| l.node.clone()).unwrap_or_default();
    let mut checkpoints = record.checkpoints.clone();
    checkpoints.sort_by_key(|c| c.epoch);
    Ok(EvolutionPlan {
        model: record.model.clone(),
        checkpoints,
        layers,
        default_node,
    })
}

/// One checkpoint's weights and what its record says of them.
pub struct CheckpointWeights<'a> {
    pub epoch: usize,
    pub test_accuracy: f32,
    /// Safetensors (or a PyTorch checkpoint) of the model's network.
    pub bytes: &'a [u8],
}

/// The first convolution's filters laid out in a grid, a one-pixel mid-grey gap between.
#[derive(Clone, Debug, Serialize)]
pub struct FilterMosaic {
    pub node: String,
    pub count: usize,
    pub in_channels: usize,
    pub kernel: [usize; 2],
    pub rows: usize,
    pub cols: usize,
    /// The picture's size in pixels.
    pub height: usize,
    pub width: usize,
    #[serde(skip)]
    pub rgba: Vec<u8>,
    /// The filters' weights as the checkpoint holds them, `[out, in, kh, kw]`.
    #[serde(skip)]
    pub weights: Tensor,
}

/// One followed unit at one checkpoint: the channel's strongest input over the dataset.
#[derive(Clone, Debug, Serialize)]
pub struct EvolutionUnit {
    pub channel: usize,
    /// The input's index in the dataset.
    pub image: usize,
    /// The activation there (fast CPU engine).
    pub value: f32,
    /// The unit's position in the node's output.
    pub y: usize,
    pub x: usize,
    /// The receptive field's box in input pixels (top and left may be negative).
    pub top: i64,
    pub left: i64,
    /// The deconvnet projection in that box, `[C, height, width]`.
    #[serde(skip)]
    pub projection: Tensor,
}

/// One checkpoint's column of the view.
#[derive(Clone, Debug, Serialize)]
pub struct EvolutionColumn {
    pub model: String,
    pub epoch: usize,
    pub test_accuracy: f32,
    pub node: String,
    /// Inputs ranked.
    pub inputs: usize,
    /// What ranked the inputs (`cpu`: the fast CPU engine) and what projected the units
    /// (`webgpu` or `reference`).
    pub ranking_backend: &'static str,
    pub projection_backend: &'static str,
    pub normalisation: &'static str,
    /// `None` for a network without a convolution.
    pub filters: Option<FilterMosaic>,
    /// Each patch's size (the node's receptive field).
    pub patch_height: usize,
    pub patch_width: usize,
    pub units: Vec<EvolutionUnit>,
    /// Per unit, `patch_height x patch_width` RGBA, concatenated.
    #[serde(skip)]
    pub patches: Vec<u8>,
    #[serde(skip)]
    pub projections: Vec<u8>,
}

/// The first convolution's filters of `net` as a mosaic, or `None` without one.
pub fn filter_mosaic(net: &Network, weights: &Weights) -> Option<FilterMosaic> {
    let (conv, _) = first_conv(net)?;
    let node = &net.nodes[conv];
    let w = weights.try_get(&node.name, "weight")?;
    let [count, in_c, kh, kw] = w.shape[..] else {
        return None;
    };
    let cols = (1..=count).find(|c| c * c >= count).unwrap_or(1);
    let rows = count.div_ceil(cols);
    let (height, width) = (rows * (kh + 1) - 1, cols * (kw + 1) - 1);
    let mut data = vec![0.0; in_c * height * width];
    for f in 0..count {
        let (top, left) = ((f / cols) * (kh + 1), (f % cols) * (kw + 1));
        for c in 0..in_c {
            for y in 0..kh {
                for x in 0..kw {
                    data[(c * height + top + y) * width + left + x] =
                        w.data[((f * in_c + c) * kh + y) * kw + x];
                }
            }
        }
    }
    let mosaic = Tensor::new(vec![in_c, height, width], data);
    Some(FilterMosaic {
        node: node.name.clone(),
        count,
        in_channels: in_c,
        kernel: [kh, kw],
        rows,
        cols,
        height,
        width,
        rgba: tensor_rgba(&mosaic, true),
        weights: w.clone(),
    })
}

impl Engine {
    /// Checkpoint `checkpoint` of zoo model `model`: its first-layer filters, and for each of
    /// `channels` of `node` (the first [`DEFAULT_UNITS`] when empty) the input of `inputs`
    /// (prepared as the model was trained) that excites it most, with that unit's projection.
    pub async fn evolution_column(
        &self,
        model: &str,
        checkpoint: &CheckpointWeights<'_>,
        node: &str,
        channels: &[usize],
        inputs: &[Tensor],
        pace: &mut impl Pace,
    ) -> Result<EvolutionColumn, EngineError> {
        self.check_device()?;
        let entry =
            zoo::entry(model).ok_or_else(|| EngineError::UnknownModel { name: model.into() })?;
        if inputs.is_empty() {
            return Err(ExplainError::EmptyDataset.into());
        }
        let net = (entry.build)();
        let loaded = model_weights(entry, &net, Some(checkpoint.bytes), pace).await?;
        let how = Installed {
            name: model,
            preprocess: entry.preprocess,
            classes: Classes::Known(entry.labels),
            notes: Vec::new(),
        };
        let (m, _) = self.prepare(net, loaded, how, pace).await?;
        let id = Self::node_id(&m, node)?;
        let size = entry.preprocess.output_size();
        let chosen: Vec<usize> = if channels.is_empty() {
            let c = m.analysis.nodes[id].output_shape.c;
            (0..DEFAULT_UNITS.min(c)).collect()
        } else {
            channels.to_vec()
        };
        let mut search = Top9::new(&m.net, &m.weights, id, &chosen, size)?;
        let stage = format!("epoch {}: ranking the inputs", checkpoint.epoch);
        for (i, input) in inputs.iter().enumerate() {
            search.add(input)?;
            pace.tick(&stage, 0.8 * (i + 1) as f64 / inputs.len() as f64)
                .await;
        }
        let mut column = EvolutionColumn {
            model: model.into(),
            epoch: checkpoint.epoch,
            test_accuracy: checkpoint.test_accuracy,
            node: node.into(),
            inputs: inputs.len(),
            ranking_backend: "cpu",
            projection_backend: "reference",
            normalisation: NORMALISATION,
            filters: filter_mosaic(&m.net, &m.weights),
            patch_height: 0,
            patch_width: 0,
            units: Vec::new(),
            patches: Vec::new(),
            projections: Vec::new(),
        };
        let stage = format!("epoch {}: projecting the units", checkpoint.epoch);
        for (k, &channel) in chosen.iter().enumerate() {
            let (value, image, y, x) = search.ranking(k)[0];
            let p = self
                .unit_pictures(&m, &inputs[image], (id, channel, y, x), pace)
                .await?;
            column.projection_backend = p.backend;
            (column.patch_height, column.patch_width) = (p.height, p.width);
            column.patches.extend(p.patch_rgba);
            column.projections.extend(p.projection_rgba);
            column.units.push(EvolutionUnit {
                channel,
                image,
                value,
                y,
                x,
                top: p.top,
                left: p.left,
                projection: p.projection,
            });
            pace.report(&stage, 0.8 + 0.2 * (k + 1) as f64 / chosen.len() as f64);
        }
        Ok(column)
    }
}
