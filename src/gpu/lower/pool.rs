//! Pooling: max and average windows (pool.wgsl), adaptive average pooling to a fixed size,
//! and global average pooling.

use super::builder::{grid, Lowering, NodeIo};
use crate::gpu::dispatch::Dispatch;
use crate::gpu::kernels::{Kernel, Variant};
use crate::gpu::params::{PoolParams, SmallParams, SubsampleParams};
use crate::model::Pool2d;

/// pool.wgsl: a max (`max`) or average pool.
pub fn pool(l: &Lowering, io: &NodeIo, p: &Pool2d, max: bool) -> Dispatch {
    let (s, o) = (io.in_shape(), io.out_shape);
    let pad = p.pads(s.h, s.w);
    let params = PoolParams {
        c: s.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        kh: p.kernel.0 as u32,
        kw: p.kernel.1 as u32,
        sh: p.stride.0 as u32,
        sw: p.stride.1 as u32,
        pad_t: pad[0] as u32,
        pad_l: pad[2] as u32,
        pad_b: pad[1] as u32,
        pad_r: pad[3] as u32,
        count_include_pad: p.count_include_pad as u32,
        _pad: [0; 2],
    };
    let variant = Variant::with(Kernel::Pool, "MAX", max as u32);
    let workgroups = grid(o.len(), 64);
    l.dispatch(
        io.name,
        variant,
        &[io.input()],
        io.output,
        &params,
        workgroups,
    )
}

/// adaptive_pool.wgsl: each output averages its share of the input.
pub fn adaptive(l: &Lowering, io: &NodeIo) -> Dispatch {
    let (s, o) = (io.in_shape(), io.out_shape);
    let params = SubsampleParams {
        c: o.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        window: 0,
        _pad: [0; 2],
    };
    let variant = Variant::plain(Kernel::AdaptivePool);
    let workgroups = grid(o.len(), 64);
    l.dispatch(
        io.name,
        variant,
        &[io.input()],
        io.output,
        &params,
        workgroups,
    )
}

/// global_avg_pool.wgsl: one invocation per channel.
pub fn global_average(l: &Lowering, io: &NodeIo) -> Dispatch {
    let s = io.in_shape();
    let params = SmallParams {
        a: s.c as u32,
        b: (s.h * s.w) as u32,
        _pad: [0; 2],
    };
    let variant = Variant::plain(Kernel::GlobalAvgPool);
    let workgroups = grid(s.c, 64);
    l.dispatch(
        io.name,
        variant,
        &[io.input()],
        io.output,
        &params,
        workgroups,
    )
}
