//! Shared by the GPU test binaries: one device per binary, the tolerance rule, random inputs.
#![allow(dead_code)]

use convscope::cpu::top_k;
use convscope::gpu::GpuContext;
use convscope::tensor::Tensor;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::OnceLock;

/// The device, or `None` (with a printed reason) on a machine without any adapter. The
/// test command sets `CONVSCOPE_REQUIRE_GPU=1`, so CI (which installs lavapipe) fails
/// instead of skipping.
pub fn gpu() -> Option<&'static GpuContext> {
    static CONTEXT: OnceLock<Option<GpuContext>> = OnceLock::new();
    CONTEXT
        .get_or_init(|| match pollster::block_on(GpuContext::new()) {
            Ok(ctx) => {
                eprintln!("GPU tests on {}", ctx.describe());
                Some(ctx)
            }
            Err(e) if std::env::var_os("CONVSCOPE_REQUIRE_GPU").is_some() => {
                panic!("CONVSCOPE_REQUIRE_GPU is set but {e}")
            }
            Err(e) => {
                eprintln!("skipping GPU test: {e}");
                None
            }
        })
        .as_ref()
}

/// Element-wise `|gpu - cpu| <= 1e-4 + 1e-3 |cpu|`; panics naming the first offender.
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f32]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let tolerance = 1e-4 + 1e-3 * c.abs();
        assert!(
            (g - c).abs() <= tolerance && g.is_finite() == c.is_finite(),
            "{what}: element {i} of {}: gpu {g} cpu {c}",
            cpu.len()
        );
    }
}

/// A `[c, h, w]` tensor of uniform values in `[-1, 1)`.
pub fn random_input(c: usize, h: usize, w: usize, seed: u64) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::new(
        vec![c, h, w],
        (0..c * h * w)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect(),
    )
}

/// An engine's whole-pass output against the reference's: f32 rounding compounds with depth,
/// so it is held to twice the kernel tolerance scaled by the output's magnitude, and to the
/// same top-5 (or classes whose reference scores tie within the tolerance). Folded BatchNorm
/// rounds differently from the reference's separate normalisation; through ResNet-152's
/// calibrated random weights the two drift apart by about 0.1% of the output's range.
pub fn assert_same_output(what: &str, got: &[f32], want: &[f32]) {
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
    for (i, (g, c)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - c).abs() <= 2e-3 * scale + 1e-3 * c.abs(),
            "{what} output {i}: engine {g} reference {c} scale {scale}"
        );
    }
    let (top_want, top_got) = (top_k(want, 5), top_k(got, 5));
    for (a, b) in top_want.iter().zip(&top_got) {
        let tie = (want[a.0] - want[b.0]).abs() <= 1e-4 + 1e-3 * a.1.abs();
        assert!(
            a.0 == b.0 || tie,
            "{what}: top-5 differs: reference {top_want:?} engine {top_got:?}"
        );
    }
}
