//! Shared by the GPU test binaries: one device per binary, the tolerance rule, random inputs.
#![allow(dead_code)]

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
