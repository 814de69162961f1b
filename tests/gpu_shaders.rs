//! Every kernel's joined source (prelude, then its files) builds into a shader module and a
//! compute pipeline on the adapter, with the override constants the lowering sets, inside a
//! validation error scope.

mod common;

use common::gpu;
use convscope::gpu::kernels::{activation_code, Kernel, Variant};
use convscope::gpu::kernels_backward::BackwardKernel;
use convscope::model::Activation;

/// Every `ACT` code.
fn activations() -> Vec<u32> {
    let all = [
        None,
        Some(Activation::Relu),
        Some(Activation::Relu6),
        Some(Activation::Sigmoid),
        Some(Activation::Tanh),
        Some(Activation::ScaledTanh),
    ];
    all.into_iter().map(activation_code).collect()
}

/// The override sets to build `kernel` with: the values the lowering passes, at their
/// extremes where they size arrays (src/gpu/lower/conv.rs, src/gpu/lower.rs). `subgroup`
/// is the adapter's subgroup size; without one the subgroup kernel is not built.
fn overrides(kernel: Kernel, subgroup: Option<u32>) -> Vec<Vec<(&'static str, u32)>> {
    // A few activations where the kernel is costly to compile; the code is the prelude's
    // either way.
    let some_acts = [
        activation_code(None),
        activation_code(Some(Activation::Relu6)),
    ];
    // (KH, KW, SW, DW): 3x3; 5x5 stride 2; 8x8 dilation 3 (64 taps, a span of 29 inputs).
    let depthwise = [(3, 3, 1, 1), (5, 5, 2, 1), (8, 8, 1, 3)];
    match kernel {
        Kernel::ConvNaive | Kernel::Activation => activations()
            .into_iter()
            .map(|a| vec![("ACT", a)])
            .collect(),
        Kernel::ConvGemm => [8, 64]
            .iter()
            .flat_map(|&wg| some_acts.map(|a| vec![("ACT", a), ("CH4", 2), ("PX", 8), ("WG", wg)]))
            .collect(),
        Kernel::ConvPointwise => [8, 64]
            .iter()
            .flat_map(|&wg| some_acts.map(|a| vec![("ACT", a), ("ROUND", 1), ("WG", wg)]))
            .collect(),
        Kernel::ConvPointwiseSubgroup => subgroup
            .map(|size| {
                let wg = size.max(64);
                some_acts.map(|a| vec![("ACT", a), ("ROUND", size / 4), ("WG", wg)])
            })
            .into_iter()
            .flatten()
            .collect(),
        Kernel::Depthwise => depthwise
            .iter()
            .flat_map(|&(kh, kw, sw, dw)| {
                some_acts.map(|a| vec![("ACT", a), ("DW", dw), ("KH", kh), ("KW", kw), ("SW", sw)])
            })
            .collect(),
        Kernel::DepthwiseTexture => depthwise
            .iter()
            .flat_map(|&(kh, kw, sw, dw)| {
                // Aligned rows with each shift, and unaligned rows (SHIFT 3, as lowered).
                [(1, 0), (1, 3), (0, 3)].map(|(aligned, shift)| {
                    vec![
                        ("ALIGNED", aligned),
                        ("ACT", activation_code(Some(Activation::Relu6))),
                        ("DW", dw),
                        ("KH", kh),
                        ("KW", kw),
                        ("SHIFT", shift),
                        ("SW", sw),
                    ]
                })
            })
            .collect(),
        Kernel::Pool => vec![vec![("MAX", 0)], vec![("MAX", 1)]],
        Kernel::Im2col
        | Kernel::ConvPartial
        | Kernel::Subsample
        | Kernel::AdaptivePool
        | Kernel::Lrn
        | Kernel::BatchNorm
        | Kernel::Dense
        | Kernel::DenseTexture
        | Kernel::Rbf
        | Kernel::Copy
        | Kernel::Add
        | Kernel::GlobalAvgPool
        | Kernel::Softmax
        | Kernel::Occlude
        | Kernel::OcclusionReduce => vec![vec![]],
        Kernel::Backward(b) => backward_overrides(b),
    }
}

/// A backward kernel's override sets: each in both ACCUMULATE variants; activations in every
/// mode with every function; pooling max and average.
fn backward_overrides(kernel: BackwardKernel) -> Vec<Vec<(&'static str, u32)>> {
    let own: Vec<Vec<(&'static str, u32)>> = match kernel {
        BackwardKernel::Activation => activations()
            .into_iter()
            .flat_map(|a| (0..3).map(move |m| vec![("ACT", a), ("MODE", m)]))
            .collect(),
        BackwardKernel::Pool => vec![vec![("MAX", 0)], vec![("MAX", 1)]],
        BackwardKernel::Conv => (1..=4).map(|n| vec![("IN", n)]).collect(),
        BackwardKernel::Upsample => return vec![vec![]],
        _ => vec![vec![]],
    };
    own.into_iter()
        .flat_map(|set| {
            [0, 1].map(|acc| {
                let mut set = set.clone();
                set.push(("ACCUMULATE", acc));
                set.sort();
                set
            })
        })
        .collect()
}

#[test]
fn every_kernel_builds_a_pipeline_with_its_overrides() {
    let Some(ctx) = gpu() else { return };
    let mut failures = Vec::new();
    let mut built = 0;
    for kernel in Kernel::every() {
        for overrides in overrides(kernel, ctx.subgroup) {
            let variant = Variant { kernel, overrides };
            let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
            ctx.pipelines.lock().unwrap().get(&ctx.device, &variant);
            if let Some(e) = pollster::block_on(scope.pop()) {
                failures.push(format!("{variant:?}: {e}"));
            }
            built += 1;
        }
    }
    ctx.pipelines.lock().unwrap().clear();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("{built} pipelines built on {}", ctx.describe());
}

/// lavapipe has subgroups, so there the test above builds the subgroup kernel too.
#[test]
fn lavapipe_builds_the_subgroup_kernel() {
    let Some(ctx) = gpu() else { return };
    if ctx.info.name.contains("llvmpipe") {
        assert!(!overrides(Kernel::ConvPointwiseSubgroup, ctx.subgroup).is_empty());
    }
}
