//! Occlusion sensitivity (Zeiler & Fergus 2013, §4.2 and Fig. 7): a grey square slides over
//! the input and at each position the network runs again, on the fast CPU engine (one pass a
//! step, so a caller can pace it). Per position: the chosen class's probability, the most
//! probable class, and the total activation of the chosen node's strongest channel.

use super::{argmax, score_node, ExplainError};
use crate::fastcpu::FastPlan;
use crate::model::{Network, NodeId, Shape};
use crate::predict::scores;
use crate::tensor::Tensor;
use crate::weights::Weights;
use serde::Serialize;

/// What to occlude and what to watch. `None` fields take their defaults.
#[derive(Clone, Debug, Default)]
pub struct OcclusionSettings {
    /// Side of the square, in input pixels; default 32 at 224 x 224, scaled to the input.
    pub patch: Option<usize>,
    /// Step between positions; default 16 at 224 x 224, scaled to the input.
    pub stride: Option<usize>,
    /// Default: the top-1 class of the unoccluded input.
    pub class: Option<usize>,
    /// The node whose channel is watched; default the last node with spatial extent before
    /// the class scores.
    pub node: Option<NodeId>,
    /// Default: the channel holding the node's strongest activation on the unoccluded input.
    pub channel: Option<usize>,
}

/// The three maps of ZF's Fig. 7, each `rows x cols`, row-major.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OcclusionMaps {
    pub rows: usize,
    pub cols: usize,
    pub patch: usize,
    pub stride: usize,
    pub class: usize,
    pub node: NodeId,
    pub channel: usize,
    /// The class's probability with the patch at each position.
    pub probability: Vec<f32>,
    /// The most probable class at each position.
    pub top_class: Vec<usize>,
    /// The watched channel's total activation at each position.
    pub activation: Vec<f32>,
    /// The class's probability and the channel's total activation without a patch.
    pub unoccluded_probability: f32,
    pub unoccluded_activation: f32,
}

/// `default` (given at 224 pixels) scaled to an input side of `side`, at least 1.
pub fn scaled_default(default: usize, side: usize) -> usize {
    ((default * side) as f64 / 224.0).round().max(1.0) as usize
}

/// Where the patch goes: its side, the step between positions, and the grid of top-left
/// corners (`(H - P) / S + 1` per side), row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OcclusionGrid {
    pub patch: usize,
    pub stride: usize,
    pub rows: usize,
    pub cols: usize,
}

impl OcclusionGrid {
    /// The grid `settings` ask for over an `h x w` input (defaults scaled to its shorter side).
    pub fn new(settings: &OcclusionSettings, h: usize, w: usize) -> Result<Self, ExplainError> {
        let side = h.min(w);
        let patch = settings.patch.unwrap_or_else(|| scaled_default(32, side));
        let stride = settings.stride.unwrap_or_else(|| scaled_default(16, side));
        if patch == 0 || stride == 0 || patch > h || patch > w {
            return Err(ExplainError::BadOcclusion {
                patch,
                stride,
                h,
                w,
            });
        }
        Ok(OcclusionGrid {
            patch,
            stride,
            rows: (h - patch) / stride + 1,
            cols: (w - patch) / stride + 1,
        })
    }

    pub fn positions(&self) -> usize {
        self.rows * self.cols
    }

    /// The patch's top-left corner `(y, x)` at position `index`.
    pub fn corner(&self, index: usize) -> (usize, usize) {
        (
            (index / self.cols) * self.stride,
            (index % self.cols) * self.stride,
        )
    }

    /// `input` with the patch at position `index` set to 0 in every channel (the twin of
    /// shaders/occlude.wgsl).
    pub fn occluded(&self, input: &Tensor, index: usize) -> Tensor {
        let (y0, x0) = self.corner(index);
        let mut x = input.clone();
        let (h, w) = (x.shape[1], x.shape[2]);
        for c in 0..x.shape[0] {
            for y in y0..y0 + self.patch {
                x.data[(c * h + y) * w + x0..][..self.patch].fill(0.0);
            }
        }
        x
    }
}

/// The node whose channel is watched: the one asked for, else the last node with spatial
/// extent before the class scores (`shapes`: every node's output shape).
pub fn watched_node(net: &Network, shapes: &[Shape], settings: &OcclusionSettings) -> NodeId {
    let (scores_node, _) = score_node(net);
    settings.node.unwrap_or_else(|| {
        (0..scores_node)
            .rev()
            .find(|&n| shapes[n].h * shapes[n].w > 1)
            .unwrap_or(0)
    })
}

/// One position's three values from its pass: the probability of `class` and the most
/// probable class (from the network's `output`, by `predict::scores`), and the total of
/// `channel` of the watched node's `activations` (the twin of shaders/occlusion_reduce.wgsl).
pub fn position_values(
    net: &Network,
    output: &[f32],
    class: usize,
    activations: &Tensor,
    channel: usize,
) -> (f32, usize, f32) {
    let probs = scores(net, output).1;
    (
        probs[class],
        argmax(&probs),
        channel_total(activations, channel),
    )
}

impl OcclusionMaps {
    /// Empty maps over `grid`, the defaults settled from the unoccluded pass: the watched
    /// `node`'s `activations` and the network's `output`.
    pub fn start(
        net: &Network,
        grid: OcclusionGrid,
        settings: &OcclusionSettings,
        node: NodeId,
        activations: &Tensor,
        output: &[f32],
    ) -> Result<Self, ExplainError> {
        let channels = activations.shape[0];
        let plane = activations.shape[1] * activations.shape[2];
        let channel = match settings.channel {
            Some(c) if c >= channels => {
                return Err(ExplainError::ChannelOutOfRange {
                    node: net.nodes[node].name.clone(),
                    channel: c,
                    channels,
                })
            }
            Some(c) => c,
            None => argmax(&activations.data) / plane.max(1),
        };
        let probs = scores(net, output).1;
        let class = settings.class.unwrap_or_else(|| argmax(&probs));
        if class >= probs.len() {
            return Err(ExplainError::ClassOutOfRange {
                class,
                classes: probs.len(),
            });
        }
        let n = grid.positions();
        Ok(OcclusionMaps {
            rows: grid.rows,
            cols: grid.cols,
            patch: grid.patch,
            stride: grid.stride,
            class,
            node,
            channel,
            probability: Vec::with_capacity(n),
            top_class: Vec::with_capacity(n),
            activation: Vec::with_capacity(n),
            unoccluded_probability: probs[class],
            unoccluded_activation: channel_total(activations, channel),
        })
    }

    /// The grid the maps cover.
    pub fn grid(&self) -> OcclusionGrid {
        OcclusionGrid {
            patch: self.patch,
            stride: self.stride,
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// Append the next position's values.
    pub fn push(&mut self, (probability, top_class, activation): (f32, usize, f32)) {
        self.probability.push(probability);
        self.top_class.push(top_class);
        self.activation.push(activation);
    }
}

/// An occlusion run in progress on the fast CPU engine: one position a step.
pub struct Occlusion {
    plan: FastPlan,
    input: Tensor,
    maps: OcclusionMaps,
    next: usize,
}

impl Occlusion {
    /// Plan the runs over `input` (`[C, H, W]`, normalised: the patch is 0 there, the mean
    /// colour); runs the unoccluded pass to settle the defaults.
    pub fn new(
        net: &Network,
        weights: &Weights,
        input: &Tensor,
        settings: &OcclusionSettings,
    ) -> Result<Self, ExplainError> {
        let (h, w) = (input.shape[1], input.shape[2]);
        let grid = OcclusionGrid::new(settings, h, w)?;
        let mut plan = FastPlan::new(net, weights, h, w)?;
        plan.forward(input)?;
        let node = watched_node(net, plan.shapes(), settings);
        let activations = plan.read(node)?;
        let output = plan.read(net.output())?;
        let maps = OcclusionMaps::start(net, grid, settings, node, &activations, &output.data)?;
        Ok(Occlusion {
            plan,
            input: input.clone(),
            maps,
            next: 0,
        })
    }

    /// The input with the patch at position `index` (row-major over the grid) set to 0.
    pub fn occluded(&self, index: usize) -> Tensor {
        self.maps.grid().occluded(&self.input, index)
    }

    /// Run the next position; false once every position has run.
    pub fn step(&mut self) -> Result<bool, ExplainError> {
        let total = self.maps.rows * self.maps.cols;
        if self.next >= total {
            return Ok(false);
        }
        let x = self.occluded(self.next);
        self.plan.forward(&x)?;
        let net = self.plan.network();
        let output = self.plan.read(net.output())?;
        let m = &self.maps;
        let act = self.plan.read(m.node)?;
        let values = position_values(net, &output.data, m.class, &act, m.channel);
        self.maps.push(values);
        self.next += 1;
        Ok(true)
    }

    /// Positions run so far, out of `rows * cols`.
    pub fn progress(&self) -> f64 {
        self.next as f64 / (self.maps.rows * self.maps.cols) as f64
    }

    /// The maps so far (complete once [`Occlusion::step`] returns false).
    pub fn maps(&self) -> &OcclusionMaps {
        &self.maps
    }

    /// Run every position left; the maps.
    pub fn run(mut self) -> Result<OcclusionMaps, ExplainError> {
        while self.step()? {}
        Ok(self.maps)
    }
}

/// The sum of one channel of a `[C, H, W]` tensor, in f64.
fn channel_total(t: &Tensor, channel: usize) -> f32 {
    let plane = t.shape[1] * t.shape[2];
    t.data[channel * plane..(channel + 1) * plane]
        .iter()
        .map(|&v| v as f64)
        .sum::<f64>() as f32
}
