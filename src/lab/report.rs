//! One side of a twin or one tricks run, as the lab shows it: costs from the analysis module,
//! accuracy and curves from the run record, and the first layer from the weights.

use super::{first_layer, FirstLayer};
use crate::analysis::analyze;
use crate::cpu::CpuError;
use crate::model::{Layer, ModelError, Network};
use crate::preprocess::GreyscaleFrame;
use crate::tensor::Tensor;
use crate::train::RunRecord;
use crate::weights::Weights;
use serde::Serialize;

/// Why a lab report cannot be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LabError {
    #[error("`{0}` is not one of the lab's networks")]
    UnknownModel(String),
    #[error(
        "the sample images should be {expected} bytes ({count} of {rows}x{cols}), found {found}"
    )]
    SampleBytes {
        expected: usize,
        found: usize,
        count: usize,
        rows: usize,
        cols: usize,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Cpu(#[from] CpuError),
}

/// A lab network with what is known of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SideReport {
    pub model: String,
    pub description: String,
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    /// Convolution and dense layers.
    pub weighted_layers: usize,
    /// Activation layers (each a non-linearity).
    pub nonlinearities: usize,
    /// The recorded run that produced the shipped weights, if there is one.
    pub record: Option<RunRecord>,
    /// The first convolution's filters and counts, when weights are given.
    pub first_layer: Option<FirstLayer>,
}

/// `count` greyscale `rows x cols` images (consecutive bytes) prepared for `net` as the
/// trainer prepares them.
pub fn sample_inputs(
    net: &Network,
    pixels: &[u8],
    count: usize,
    rows: usize,
    cols: usize,
) -> Result<Vec<Tensor>, LabError> {
    let size = rows * cols;
    if pixels.len() != count * size {
        return Err(LabError::SampleBytes {
            expected: count * size,
            found: pixels.len(),
            count,
            rows,
            cols,
        });
    }
    let prep = GreyscaleFrame::for_network(net);
    Ok(pixels
        .chunks(size)
        .map(|p| prep.image(p, rows, cols))
        .collect())
}

/// The report of lab network `name`; `weights` (with sample `images` for the first layer's
/// responses) when the page or the tool has them.
pub fn side_report(
    name: &str,
    record: Option<RunRecord>,
    weights: Option<&Weights>,
    images: &[Tensor],
) -> Result<SideReport, LabError> {
    if !super::models().contains(&name) {
        return Err(LabError::UnknownModel(name.to_string()));
    }
    let entry = crate::zoo::entry(name).ok_or_else(|| LabError::UnknownModel(name.into()))?;
    let net = (entry.build)();
    let (h, w) = net.default_input;
    let a = analyze(&net, h, w)?;
    let count = |f: fn(&Layer) -> bool| net.nodes.iter().filter(|n| f(&n.layer)).count();
    let first_layer = match weights {
        Some(weights) => first_layer(&net, weights, images)?,
        None => None,
    };
    Ok(SideReport {
        model: name.to_string(),
        description: entry.description.to_string(),
        params: a.totals.params,
        macs: a.totals.macs,
        flops: a.totals.flops,
        weighted_layers: count(|l| matches!(l, Layer::Conv2d(_) | Layer::Dense(_))),
        nonlinearities: count(|l| matches!(l, Layer::Activation(_))),
        record,
        first_layer,
    })
}
