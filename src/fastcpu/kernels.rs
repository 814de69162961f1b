//! Small loops the fast engine's kernels share: activations in place, a convolution's bias
//! and activation, and the valid span of a sliding window along one axis.

use crate::model::{leaky, Activation};

/// `y = a(y)` for every element, the match hoisted out of the loop so each arm vectorises.
pub fn activate(a: Activation, y: &mut [f32]) {
    match a {
        Activation::Relu => y.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Relu6 => y.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
        Activation::LeakyRelu { alpha } => y.iter_mut().for_each(|v| *v = leaky(*v, alpha)),
        other => y.iter_mut().for_each(|v| *v = other.apply(*v)),
    }
}

/// What a convolution applies to its sums: a bias per output channel, then an activation.
#[derive(Clone, Copy)]
pub struct Epilogue<'a> {
    pub bias: &'a [f32],
    pub activation: Option<Activation>,
}

impl Epilogue<'_> {
    /// `y = activation(y + bias[channel])` over one output plane.
    pub fn apply(&self, channel: usize, y: &mut [f32]) {
        let b = self.bias[channel];
        match self.activation {
            None => y.iter_mut().for_each(|v| *v += b),
            Some(Activation::Relu) => y.iter_mut().for_each(|v| *v = (*v + b).max(0.0)),
            Some(Activation::Relu6) => y.iter_mut().for_each(|v| *v = (*v + b).clamp(0.0, 6.0)),
            Some(Activation::LeakyRelu { alpha }) => {
                y.iter_mut().for_each(|v| *v = leaky(*v + b, alpha))
            }
            Some(other) => y.iter_mut().for_each(|v| *v = other.apply(*v + b)),
        }
    }
}

/// The outputs `o` in `0..out_len` whose input index `o * stride + tap - pad` lies in
/// `0..in_len`, as a half-open range `(lo, hi)` with `lo <= hi`.
pub fn valid_range(
    out_len: usize,
    stride: usize,
    tap: usize,
    pad: usize,
    in_len: usize,
) -> (usize, usize) {
    let lo = if tap >= pad {
        0
    } else {
        (pad - tap).div_ceil(stride)
    };
    let hi = if in_len + pad <= tap {
        0
    } else {
        (in_len - 1 + pad - tap) / stride + 1
    };
    let hi = hi.min(out_len);
    (lo.min(hi), hi)
}
