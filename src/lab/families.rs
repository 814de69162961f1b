//! The families panel: the five classic families at Fashion-MNIST scale and the ResNet's plain
//! twin (`zoo/fmnist.rs`, `zoo/fmnist_resnet.rs`), each with its costs from the analysis
//! module and its accuracy, training time and curves from its run record. Inference times are
//! measured on the device that shows them ([`time_families`]): the page's or the tool's.

use super::{time_block, time_fast_cpu, BlockTime, LabError};
use crate::analysis::analyze;
use crate::gpu::GpuContext;
use crate::train::RunRecord;
use serde::Serialize;

/// One trained family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Family {
    /// Zoo name.
    pub model: &'static str,
    /// The family's name.
    pub family: &'static str,
    /// What the small version keeps of the original design.
    pub keeps: &'static str,
}

/// The families in historical order, the plain twin last.
pub const FAMILIES: &[Family] = &[
    Family {
        model: "fmnist_alexnet",
        family: "AlexNet",
        keeps: "large strided first kernel, ReLU, LRN, overlapping 3x3/2 pooling, dropout in the dense head",
    },
    Family {
        model: "fmnist_vgg",
        family: "VGG",
        keeps: "3x3 convolutions in blocks, channels doubling, pooling halving",
    },
    Family {
        model: "fmnist_nin",
        family: "NiN",
        keeps: "mlpconv blocks (1x1 convolutions after each convolution), global average pooling head",
    },
    Family {
        model: "fmnist_googlenet",
        family: "GoogLeNet",
        keeps: "Inception modules with 1x1 reductions, two auxiliary classifiers (loss weight 0.3)",
    },
    Family {
        model: "fmnist_resnet",
        family: "ResNet",
        keeps: "basic blocks, BatchNorm, projection shortcuts (20 layers)",
    },
    Family {
        model: "fmnist_plain",
        family: "Plain twin",
        keeps: "the ResNet's 20 layers without shortcuts (He et al. 2015, Fig. 1)",
    },
];

/// The pair drawn on one chart: plain first, residual second.
pub const DEGRADATION_PAIR: [&str; 2] = ["fmnist_plain", "fmnist_resnet"];

/// Train and test error after one epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    pub epoch: usize,
    /// Fraction of training images misclassified during the epoch (training mode).
    pub train_error: f32,
    /// Fraction of the test set misclassified after the epoch.
    pub test_error: Option<f32>,
}

/// One row of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamilyRow {
    pub model: String,
    pub family: String,
    pub keeps: String,
    /// Every tensor of the network, auxiliary classifiers included.
    pub params: u64,
    /// Multiply-accumulates per image over every node, auxiliary classifiers included.
    pub macs: u64,
    /// From the run record, when the family was trained.
    pub test_accuracy: Option<f32>,
    pub train_seconds: Option<f32>,
    pub curve: Vec<CurvePoint>,
    /// Median time per image on the fast CPU engine and on the GPU, measured by the caller.
    pub cpu: Option<BlockTime>,
    pub gpu: Option<BlockTime>,
}

/// The zoo entry of family `model`.
pub fn family(model: &str) -> Result<&'static Family, LabError> {
    FAMILIES
        .iter()
        .find(|f| f.model == model)
        .ok_or_else(|| LabError::UnknownModel(model.to_string()))
}

/// `model`'s row: costs from the analysis module at 28x28, accuracy, time and curves from
/// `record`; no inference times yet.
pub fn family_row(model: &str, record: Option<&RunRecord>) -> Result<FamilyRow, LabError> {
    let f = family(model)?;
    let net = crate::zoo::build(model).ok_or_else(|| LabError::UnknownModel(model.into()))?;
    let (h, w) = net.default_input;
    let a = analyze(&net, h, w)?;
    let curve = record.map_or_else(Vec::new, |r| {
        r.epochs
            .iter()
            .map(|e| CurvePoint {
                epoch: e.epoch,
                train_error: 1.0 - e.train_accuracy,
                test_error: e.test_accuracy.map(|t| 1.0 - t),
            })
            .collect()
    });
    Ok(FamilyRow {
        model: f.model.into(),
        family: f.family.into(),
        keeps: f.keeps.into(),
        params: a.totals.params,
        macs: a.totals.macs,
        test_accuracy: record.map(|r| r.test_accuracy),
        train_seconds: record.map(|r| r.seconds),
        curve,
        cpu: None,
        gpu: None,
    })
}

/// The comparison as the page and `convscope lab --families --json` give it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamiliesReport {
    /// The adapter that timed the GPU column, or `unavailable (why)`.
    pub gpu_adapter: String,
    pub families: Vec<FamilyRow>,
}

/// Every family's row, `records` holding each family's run record in [`FAMILIES`] order
/// (`None` where it was not trained).
pub fn family_rows(records: &[Option<RunRecord>]) -> Result<Vec<FamilyRow>, LabError> {
    FAMILIES
        .iter()
        .enumerate()
        .map(|(i, f)| family_row(f.model, records.get(i).and_then(Option::as_ref)))
        .collect()
}

/// Why a family could not be timed.
#[derive(Debug, thiserror::Error)]
pub enum TimingError {
    #[error("the fast CPU engine cannot run {model}: {source}")]
    Cpu {
        model: String,
        source: crate::fastcpu::FastError,
    },
    #[error("the GPU cannot run {model}: {source}")]
    Gpu {
        model: String,
        source: crate::gpu::GpuError,
    },
}

/// Measures each row's time per image on the fast CPU engine and, with `gpu`, on that
/// adapter (`runs` samples each; `now` reads a millisecond clock).
pub async fn time_families(
    rows: &mut [FamilyRow],
    gpu: Option<&GpuContext>,
    runs: usize,
    now: &dyn Fn() -> f64,
) -> Result<(), TimingError> {
    for row in rows.iter_mut() {
        let model = row.model.clone();
        let net = crate::zoo::build(&model).expect("families are in the zoo");
        let (h, w) = net.default_input;
        let cpu = time_fast_cpu(&net, h, w, runs, now);
        row.cpu = Some(cpu.map_err(|source| TimingError::Cpu {
            model: model.clone(),
            source,
        })?);
        if let Some(ctx) = gpu {
            let t = time_block(ctx, &net, h, w, runs, now).await;
            row.gpu = Some(t.map_err(|source| TimingError::Gpu { model, source })?);
        }
    }
    Ok(())
}
