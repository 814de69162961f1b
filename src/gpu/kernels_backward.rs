//! The backward kernels (`shaders/backward_*.wgsl`): for each layer kind, the gradient with
//! respect to its input from the gradient with respect to its output, each the twin of a
//! function of `cpu::backward`. Every one but `Upsample` takes the `ACCUMULATE` override (add to what its
//! output holds, for a node read by several nodes); [`mode_code`] numbers the activation
//! modes as the `MODE_*` constants of backward_activation.wgsl.

use crate::cpu::backward::Mode;

/// The `MODE` override of backward_activation.wgsl, numbered as its `MODE_*` constants.
pub fn mode_code(mode: Mode) -> u32 {
    match mode {
        Mode::Gradient => 0,
        Mode::Guided => 1,
        Mode::Deconvnet => 2,
    }
}

/// One backward kernel family; one shader file each, behind the prelude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackwardKernel {
    /// A transposed convolution (stride, dilation, padding, groups).
    Conv,
    /// LeNet-5's C3 through its connection table.
    ConvPartial,
    /// Max pooling through its switches (override `MAX`), or average pooling.
    Pool,
    /// Adaptive and global average pooling.
    AdaptivePool,
    /// Activations in three modes (overrides `ACT`, `MODE`).
    Activation,
    BatchNorm,
    Lrn,
    Softmax,
    /// Add, concat, flatten and dropout: a copy from an offset.
    Route,
    Subsample,
    Dense,
    Rbf,
    /// A strided convolution's output gradient spread onto a stride-1 grid, zeros between
    /// (no `ACCUMULATE`: it writes a scratch buffer).
    Upsample,
}

impl BackwardKernel {
    pub const ALL: [BackwardKernel; 13] = [
        BackwardKernel::Conv,
        BackwardKernel::ConvPartial,
        BackwardKernel::Pool,
        BackwardKernel::AdaptivePool,
        BackwardKernel::Activation,
        BackwardKernel::BatchNorm,
        BackwardKernel::Lrn,
        BackwardKernel::Softmax,
        BackwardKernel::Route,
        BackwardKernel::Subsample,
        BackwardKernel::Dense,
        BackwardKernel::Rbf,
        BackwardKernel::Upsample,
    ];

    /// The shader source: shaders/prelude.wgsl, then the kernel's file.
    pub fn source(self) -> &'static str {
        match self {
            BackwardKernel::Conv => joined!("backward_conv.wgsl"),
            BackwardKernel::ConvPartial => {
                joined!("backward_conv_partial.wgsl")
            }
            BackwardKernel::Pool => joined!("backward_pool.wgsl"),
            BackwardKernel::AdaptivePool => {
                joined!("backward_adaptive_pool.wgsl")
            }
            BackwardKernel::Activation => joined!("backward_activation.wgsl"),
            BackwardKernel::BatchNorm => joined!("backward_batchnorm.wgsl"),
            BackwardKernel::Lrn => joined!("backward_lrn.wgsl"),
            BackwardKernel::Softmax => joined!("backward_softmax.wgsl"),
            BackwardKernel::Route => joined!("backward_route.wgsl"),
            BackwardKernel::Subsample => joined!("backward_subsample.wgsl"),
            BackwardKernel::Dense => joined!("backward_dense.wgsl"),
            BackwardKernel::Rbf => joined!("backward_rbf.wgsl"),
            BackwardKernel::Upsample => joined!("backward_upsample.wgsl"),
        }
    }

    /// Number of read-only storage bindings before the output binding.
    pub fn reads(self) -> u32 {
        match self {
            BackwardKernel::AdaptivePool | BackwardKernel::Route | BackwardKernel::Upsample => 1,
            BackwardKernel::Conv
            | BackwardKernel::Pool
            | BackwardKernel::Activation
            | BackwardKernel::Lrn
            | BackwardKernel::Softmax
            | BackwardKernel::Subsample
            | BackwardKernel::Dense => 2,
            BackwardKernel::ConvPartial | BackwardKernel::BatchNorm | BackwardKernel::Rbf => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackwardKernel::Conv => "backward_conv",
            BackwardKernel::ConvPartial => "backward_conv_partial",
            BackwardKernel::Pool => "backward_pool",
            BackwardKernel::AdaptivePool => "backward_adaptive_pool",
            BackwardKernel::Activation => "backward_activation",
            BackwardKernel::BatchNorm => "backward_batchnorm",
            BackwardKernel::Lrn => "backward_lrn",
            BackwardKernel::Softmax => "backward_softmax",
            BackwardKernel::Route => "backward_route",
            BackwardKernel::Subsample => "backward_subsample",
            BackwardKernel::Dense => "backward_dense",
            BackwardKernel::Rbf => "backward_rbf",
            BackwardKernel::Upsample => "backward_upsample",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_codes_are_the_shader_constants() {
        let source = BackwardKernel::Activation.source();
        for (name, mode) in [
            ("MODE_GRADIENT", Mode::Gradient),
            ("MODE_GUIDED", Mode::Guided),
            ("MODE_DECONVNET", Mode::Deconvnet),
        ] {
            let line = format!("const {name}: u32 = {}u;", mode_code(mode));
            assert!(
                source.contains(&line),
                "backward_activation.wgsl lacks `{line}`"
            );
        }
    }

    #[test]
    fn all_lists_every_backward_kernel_once() {
        let mut names: Vec<&str> = BackwardKernel::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), BackwardKernel::ALL.len());
        // A match with no wildcard numbers every variant: a new kernel does not compile until
        // it has a number, and ALL must then list that many.
        let number = |k: BackwardKernel| match k {
            BackwardKernel::Conv => 0,
            BackwardKernel::ConvPartial => 1,
            BackwardKernel::Pool => 2,
            BackwardKernel::AdaptivePool => 3,
            BackwardKernel::Activation => 4,
            BackwardKernel::BatchNorm => 5,
            BackwardKernel::Lrn => 6,
            BackwardKernel::Softmax => 7,
            BackwardKernel::Route => 8,
            BackwardKernel::Subsample => 9,
            BackwardKernel::Dense => 10,
            BackwardKernel::Rbf => 11,
            BackwardKernel::Upsample => 12,
        };
        let mut numbers: Vec<usize> = BackwardKernel::ALL.iter().map(|&k| number(k)).collect();
        numbers.sort();
        assert_eq!(numbers, (0..13).collect::<Vec<_>>());
    }
}
