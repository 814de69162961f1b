//! A convolution made ready for whichever kernel runs it: its weights and bias with any
//! following BatchNorm folded in, its params, its activation, and the blocked weight layout
//! of the matrix-product kernels.

use super::builder::{Lowering, NodeIo};
use crate::gpu::kernels::activation_overrides;
use crate::gpu::params::ConvParams;
use crate::model::{Activation, BatchNorm, Conv2d};

/// What a convolution applies to its sums before storing them: a BatchNorm folded into its
/// weights and bias, then an activation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'n> {
    /// The folded BatchNorm: its node's name (for its tensors) and its config.
    pub batchnorm: Option<(&'n str, &'n BatchNorm)>,
    pub activation: Option<Activation>,
}

/// A convolution with its weights as `[out_c, in_c / groups, kh, kw]`, epilogue folded in.
pub struct ConvSetup<'c> {
    pub c: &'c Conv2d,
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub params: ConvParams,
    /// The overrides of its activation (`ACT`, `ACT_ALPHA`).
    pub act: Vec<(&'static str, u32)>,
}

impl<'c> ConvSetup<'c> {
    /// Convolution `c` of node `io`, with `epilogue` applied before the store.
    pub fn new(l: &Lowering, io: &NodeIo, c: &'c Conv2d, epilogue: Epilogue) -> Self {
        let (s, o) = (io.in_shape(), io.out_shape);
        let pad = c.pads(s.h, s.w);
        let (weight, bias) = folded_weights(l, io.name, c, epilogue);
        let params = ConvParams {
            in_c: s.c as u32,
            in_h: s.h as u32,
            in_w: s.w as u32,
            out_c: o.c as u32,
            out_h: o.h as u32,
            out_w: o.w as u32,
            kh: c.kernel.0 as u32,
            kw: c.kernel.1 as u32,
            sh: c.stride.0 as u32,
            sw: c.stride.1 as u32,
            dh: c.dilation.0 as u32,
            dw: c.dilation.1 as u32,
            pad_t: pad[0] as u32,
            pad_l: pad[2] as u32,
            groups: c.groups as u32,
            has_bias: bias.is_some() as u32,
        };
        ConvSetup {
            c,
            weight,
            bias,
            params,
            act: activation_overrides(epilogue.activation),
        }
    }

    /// Weights transposed to `[groups, k per group, m_pad]` and the bias to `[groups, m_pad]`,
    /// `m_pad` the channels per group rounded up to 16 with zeros, so 4 output channels are
    /// one vec4 (`conv_gemm.wgsl`, `conv_pointwise.wgsl`). Returns them and `m_pad`.
    pub fn blocked(&self) -> (Vec<f32>, Vec<f32>, usize) {
        let c = self.c;
        let rows = c.out_channels / c.groups;
        let m_pad = rows.div_ceil(16) * 16;
        let k = self.weight.len() / c.out_channels;
        let mut t = vec![0.0f32; c.groups * k * m_pad];
        let mut b = vec![0.0f32; c.groups * m_pad];
        for g in 0..c.groups {
            for m in 0..rows {
                let oc = g * rows + m;
                for kk in 0..k {
                    t[(g * k + kk) * m_pad + m] = self.weight[oc * k + kk];
                }
                b[g * m_pad + m] = self.bias.as_ref().map_or(0.0, |b| b[oc]);
            }
        }
        (t, b, m_pad)
    }
}

/// The weights and bias of convolution `c` of node `name`, with the epilogue's BatchNorm
/// folded in: `w * scale` and `b * scale + shift` per output channel, where
/// `scale = gamma / sqrt(var + eps)` and `shift = beta - mean * scale`.
fn folded_weights(
    l: &Lowering,
    name: &str,
    c: &Conv2d,
    epilogue: Epilogue,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let mut weight = l.weights.get(name, "weight").data.clone();
    let mut bias = c.bias.then(|| l.weights.get(name, "bias").data.clone());
    if let Some((bn_name, bn)) = epilogue.batchnorm {
        let get = |suffix| &l.weights.get(bn_name, suffix).data;
        let (gamma, beta) = (get("weight"), get("bias"));
        let (mean, var) = (get("running_mean"), get("running_var"));
        let per_channel = weight.len() / c.out_channels;
        let bias = bias.get_or_insert_with(|| vec![0.0; c.out_channels]);
        // In f64, so each folded value is rounded to f32 once.
        for oc in 0..c.out_channels {
            let scale = gamma[oc] as f64 / (var[oc] as f64 + bn.eps as f64).sqrt();
            weight[oc * per_channel..(oc + 1) * per_channel]
                .iter_mut()
                .for_each(|w| *w = (*w as f64 * scale) as f32);
            let folded = (bias[oc] as f64 - mean[oc] as f64) * scale + beta[oc] as f64;
            bias[oc] = folded as f32;
        }
    }
    (weight, bias)
}
