//! Per-layer cost accounting: multiply-accumulates, LeNet-style connections, memory.
//!
//! Conventions, stated once:
//! - A MAC is one multiply-accumulate `acc += w * x`. Only weighted layers (convolutions, C3,
//!   subsampling, dense, RBF) count MACs; pooling, normalisation, activations, concat and add
//!   are memory-bound and counted as 0 MACs, as torchvision and the papers do.
//! - FLOPs are `FLOPS_PER_MAC * MACs` ([`flops`]), a multiply and an add each.
//! - "Connections" follow LeCun et al. 1998: for a weighted layer, every output value times
//!   (its inputs + 1 for the bias).

use crate::model::{Layer, Shape};

/// A multiply-accumulate is two floating-point operations. The only place this is written.
pub const FLOPS_PER_MAC: u64 = 2;

/// FLOPs of `macs` multiply-accumulates.
pub const fn flops(macs: u64) -> u64 {
    FLOPS_PER_MAC * macs
}

/// Bytes per activation or weight value (f32).
pub const BYTES_PER_VALUE: u64 = 4;

/// Multiply-accumulates of one layer producing `out`.
pub fn macs(layer: &Layer, out: Shape) -> u64 {
    let out_len = out.len() as u64;
    match layer {
        Layer::Conv2d(c) => out_len * c.fan_in() as u64,
        Layer::PartialConv2d(p) => (out.h * out.w * p.connections() * p.kernel * p.kernel) as u64,
        // One shared coefficient multiplies each summed window: counted like a convolution
        // with a window x window kernel whose weights are tied.
        Layer::Subsample(s) => out_len * (s.window * s.window) as u64,
        Layer::Dense(d) => (d.in_features * d.out_features) as u64,
        // (x - w)^2 accumulated: one multiply-accumulate per weight.
        Layer::Rbf(r) => (r.in_features * r.outputs) as u64,
        _ => 0,
    }
}

/// LeNet-style connections: output values times (inputs per output + bias).
pub fn connections(layer: &Layer, out: Shape) -> u64 {
    let out_len = out.len() as u64;
    let bias = |b: bool| u64::from(b);
    match layer {
        Layer::Conv2d(c) => out_len * (c.fan_in() as u64 + bias(c.bias)),
        Layer::PartialConv2d(p) => {
            let per_map: usize = p
                .table
                .iter()
                .map(|t| t.len() * p.kernel * p.kernel + 1)
                .sum();
            (out.h * out.w * per_map) as u64
        }
        Layer::Subsample(s) => out_len * (s.window * s.window) as u64 + out_len,
        Layer::Dense(d) => out_len * (d.in_features as u64 + bias(d.bias)),
        Layer::Rbf(r) => (r.in_features * r.outputs) as u64,
        _ => 0,
    }
}
