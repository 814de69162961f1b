//! What the engine reports: plain serde structs, printed by the tool and passed to the page as
//! JavaScript objects.

use crate::analysis::{Analysis, Totals};
use crate::labels::Labels;
use crate::preprocess::Preprocess;
use crate::zoo::ZOO;
use serde::Serialize;

/// One model as the picker lists it.
#[derive(Debug, Serialize)]
pub struct ModelInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// `[channels, height, width]` of the network input.
    pub input: [usize; 3],
    pub labels: &'static str,
    pub has_trained_weights: bool,
}

/// What loading a model did.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub name: String,
    pub trained: bool,
    /// Where the weights came from, said plainly.
    pub weights: String,
    /// `"webgpu"` or `"cpu"`: what runs this model.
    pub backend: &'static str,
    /// Set when the GPU could not take this model and the CPU reference runs it instead.
    pub gpu_problem: Option<String>,
    pub input: [usize; 3],
    /// What the load assumed or changed, said plainly (an imported file's dynamic input size,
    /// folded operators, the preprocessing chosen).
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Prediction {
    pub class: usize,
    pub name: String,
    pub probability: f32,
    pub logit: f32,
}

/// The result of one classification.
#[derive(Debug, Serialize)]
pub struct Classification {
    /// Best first.
    pub top5: Vec<Prediction>,
    /// What ran this pass: `"webgpu"` or `"cpu"`.
    pub backend: &'static str,
    /// Set when the GPU failed on this pass and the CPU reference took over for this model.
    pub gpu_problem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NodeSummary<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    pub inputs: &'a [String],
    /// `[c, h, w]`.
    pub shape: [usize; 3],
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    pub activation_bytes: u64,
    /// Receptive field in input pixels, `[h, w]` each: size, stride (jump), first pixel.
    pub rf_size: [i64; 2],
    pub rf_stride: [i64; 2],
    pub rf_start: [i64; 2],
    /// Measured on the GPU in the last pass, when the adapter has timestamps.
    pub gpu_ms: Option<f64>,
    /// The convolution whose kernel computes this node on the GPU (a folded BatchNorm or a
    /// fused activation): its time is counted there.
    pub fused_into: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub model: &'a str,
    pub input: [usize; 3],
    pub backend: &'static str,
    pub trained: bool,
    /// FLOPs per MAC, as the analysis counts them.
    pub flops_per_mac: u64,
    pub nodes: Vec<NodeSummary<'a>>,
    pub totals: &'a Totals,
    pub gpu_total_ms: Option<f64>,
}

/// The whole zoo for the picker; `available` names the models with trained weights.
pub fn zoo_list(available: &[String]) -> Vec<ModelInfo> {
    ZOO.iter()
        .map(|e| {
            let (h, w) = e.preprocess.output_size();
            let c = match e.preprocess {
                Preprocess::Imagenet { .. } => 3,
                Preprocess::Grayscale { .. } => 1,
            };
            ModelInfo {
                name: e.name,
                description: e.description,
                input: [c, h, w],
                labels: match e.labels {
                    Labels::ImageNet => "ImageNet-1k",
                    Labels::FashionMnist => "Fashion-MNIST",
                },
                has_trained_weights: available.iter().any(|n| n == e.name),
            }
        })
        .collect()
}

/// Every node of `analysis`, with its GPU time from `times` (indexed by node) if measured,
/// and the node whose kernel computes it, if `fused_into` names one.
pub fn node_summaries<'a>(
    analysis: &'a Analysis,
    times: Option<&Vec<f64>>,
    fused_into: impl Fn(usize) -> Option<usize>,
) -> Vec<NodeSummary<'a>> {
    analysis
        .nodes
        .iter()
        .enumerate()
        .map(|(id, n)| {
            let (f, s) = (n.receptive_field, n.output_shape);
            NodeSummary {
                name: &n.name,
                kind: n.kind,
                inputs: &n.inputs,
                shape: [s.c, s.h, s.w],
                params: n.params,
                macs: n.macs,
                flops: n.flops,
                activation_bytes: n.activation_bytes,
                rf_size: [f.h.size, f.w.size],
                rf_stride: [f.h.jump, f.w.jump],
                rf_start: [f.h.start, f.w.start],
                gpu_ms: times.and_then(|t| t.get(id).copied()),
                fused_into: fused_into(id).map(|f| analysis.nodes[f].name.as_str()),
            }
        })
        .collect()
}
