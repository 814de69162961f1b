//! What AlexNet added, on the loaded model: local response normalisation (a channel's map
//! before and after the LRN node, and how much each channel kept) and overlapping pooling
//! (the windows of a max pool whose stride is smaller than its window, in its input's
//! pixels). Also which nodes of the loaded model each family view can show.

use super::families::residual_inputs;
use super::{Engine, EngineError};
use crate::model::{Layer, Network, Pool2d};
use serde::Serialize;

/// One channel of an LRN node's input and output after the last pass.
#[derive(Debug, Serialize)]
pub struct LrnMaps {
    pub node: String,
    pub input: String,
    pub channel: usize,
    /// `[channels, h, w]`.
    pub shape: [usize; 3],
    /// The channel's map before and after, row-major `h x w`.
    pub before: Vec<f32>,
    pub after: Vec<f32>,
    /// Each channel's L2 norm after divided by before: what the normalisation kept (`None`
    /// for a channel that is all zeros).
    pub kept: Vec<Option<f64>>,
}

/// A pooling node's windows on its input's grid.
#[derive(Debug, Serialize)]
pub struct PoolWindows {
    pub node: String,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `[top, bottom, left, right]`.
    pub pads: [usize; 4],
    /// The pool's input and output `[h, w]`.
    pub input: [usize; 2],
    pub output: [usize; 2],
    /// Whether neighbouring windows share pixels (stride smaller than the window).
    pub overlapping: bool,
    /// The first `rows x cols` windows, `[y0, x0, y1, x1]` inclusive in input pixels (padding
    /// makes them start below 0), row-major.
    pub windows: Vec<[i64; 4]>,
}

/// The nodes of a network each family view can show.
#[derive(Debug, Serialize)]
pub struct FamilyNodes {
    /// Output heads, main first (more than one: GoogLeNet's auxiliary classifiers).
    pub heads: Vec<String>,
    /// `Add` nodes with a residual branch and a shortcut.
    pub residual: Vec<String>,
    pub batchnorm: Vec<String>,
    pub activations: Vec<String>,
    pub lrn: Vec<String>,
    /// Max and average pools whose stride is smaller than their window.
    pub overlapping_pools: Vec<String>,
}

/// Which nodes of `net` each family view can show.
pub fn family_nodes(net: &Network) -> FamilyNodes {
    let named = |keep: &dyn Fn(usize, &Layer) -> bool| -> Vec<String> {
        let nodes = net.nodes.iter().enumerate();
        nodes
            .filter(|(id, n)| keep(*id, &n.layer))
            .map(|(_, n)| n.name.clone())
            .collect()
    };
    FamilyNodes {
        heads: net
            .outputs
            .iter()
            .map(|&id| net.nodes[id].name.clone())
            .collect(),
        residual: named(&|id, _| residual_inputs(net, id).is_some()),
        batchnorm: named(&|_, l| matches!(l, Layer::BatchNorm(_))),
        activations: named(&|_, l| matches!(l, Layer::Activation(_))),
        lrn: named(&|_, l| matches!(l, Layer::Lrn(_))),
        overlapping_pools: named(&|_, l| pool_of(l).is_some_and(overlapping)),
    }
}

fn pool_of(layer: &Layer) -> Option<&Pool2d> {
    match layer {
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => Some(p),
        _ => None,
    }
}

fn overlapping(p: &Pool2d) -> bool {
    p.stride.0 < p.kernel.0 || p.stride.1 < p.kernel.1
}

impl Engine {
    /// Which nodes of the loaded model each family view can show.
    pub fn family_nodes(&self) -> Result<FamilyNodes, EngineError> {
        Ok(family_nodes(&self.model()?.net))
    }

    /// LRN node `node`'s input and output map of `channel` (by default the input's channel
    /// with the largest mean), and what each channel kept.
    pub async fn lrn_maps(
        &self,
        node: &str,
        channel: Option<usize>,
    ) -> Result<LrnMaps, EngineError> {
        let model = self.model()?;
        let n = &model.net.nodes[Self::node_id(&model, node)?];
        if !matches!(n.layer, Layer::Lrn(_)) {
            return Err(EngineError::WrongKind {
                node: node.into(),
                kind: n.layer.kind(),
                wanted: "lrn",
            });
        }
        let input = model.net.nodes[n.inputs[0]].name.clone();
        let before = self.node_output(&input).await?;
        let after = self.node_output(node).await?;
        let [c, h, w] = [before.shape[0], before.shape[1], before.shape[2]];
        let maps = |t: &[f32]| {
            t.chunks_exact(h * w)
                .map(<[f32]>::to_vec)
                .collect::<Vec<_>>()
        };
        let (before, after) = (maps(&before.data), maps(&after.data));
        let norm = |m: &[f32]| m.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        let sum = |m: &[f32]| m.iter().map(|&v| v as f64).sum::<f64>();
        let busiest = (0..c)
            .max_by(|&a, &b| sum(&before[a]).total_cmp(&sum(&before[b])))
            .unwrap_or(0);
        let channel = channel.unwrap_or(busiest);
        if channel >= c {
            return Err(EngineError::OutsideChannels {
                node: node.into(),
                channel,
                channels: c,
            });
        }
        let kept = (0..c)
            .map(|i| {
                let b = norm(&before[i]);
                (b > 0.0).then(|| norm(&after[i]) / b)
            })
            .collect();
        Ok(LrnMaps {
            node: node.into(),
            input,
            channel,
            shape: [c, h, w],
            before: before[channel].clone(),
            after: after[channel].clone(),
            kept,
        })
    }

    /// Pooling node `node`'s first `rows x cols` windows on its input (from the model alone;
    /// no pass needed).
    pub fn pool_windows(
        &self,
        node: &str,
        rows: usize,
        cols: usize,
    ) -> Result<PoolWindows, EngineError> {
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        let n = &model.net.nodes[id];
        let Some(pool) = pool_of(&n.layer) else {
            return Err(EngineError::WrongKind {
                node: node.into(),
                kind: n.layer.kind(),
                wanted: "pooling",
            });
        };
        let s_in = model.analysis.nodes[n.inputs[0]].output_shape;
        let s_out = model.analysis.nodes[id].output_shape;
        let pads = pool.pads(s_in.h, s_in.w);
        let (k, s) = (pool.kernel, pool.stride);
        let mut windows = Vec::new();
        for oy in 0..rows.min(s_out.h) {
            for ox in 0..cols.min(s_out.w) {
                let y0 = (oy * s.0) as i64 - pads[0] as i64;
                let x0 = (ox * s.1) as i64 - pads[2] as i64;
                windows.push([y0, x0, y0 + k.0 as i64 - 1, x0 + k.1 as i64 - 1]);
            }
        }
        Ok(PoolWindows {
            node: node.into(),
            kernel: [k.0, k.1],
            stride: [s.0, s.1],
            pads,
            input: [s_in.h, s_in.w],
            output: [s_out.h, s_out.w],
            overlapping: overlapping(pool),
            windows,
        })
    }
}
