//! A convolution's backward on the forward pass's fast kernels (matrix product, depthwise):
//! the gradient w.r.t. the input of a convolution is a stride-1 convolution of its output
//! gradient, zero-spread onto the stride's grid first when the stride is above 1
//! (backward_upsample.wgsl), with each group's weights transposed and flipped, and padding
//! `span - 1 - pad_before` before and `in + pad_before - up` after on each axis
//! (`span = dilation (k - 1) + 1`, `up = (out - 1) stride + 1`). Where a padding would be
//! negative (a window that reads past the padding never), backward_conv.wgsl gathers it.

use super::lower::{accumulate, BackIo, Edge};
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{Kernel, Variant};
use crate::gpu::kernels_backward::BackwardKernel;
use crate::gpu::lower::{self, grid, Epilogue, Lowering, NodeIo};
use crate::gpu::options::ConvKernel;
use crate::gpu::params::PoolParams;
use crate::model::{Conv2d, Padding, Shape};

/// The forward convolution that computes a convolution's input gradient.
pub struct Transposed {
    /// Stride 1, from the (spread) output gradient to the input gradient, no bias.
    pub conv: Conv2d,
    /// Where the forward stride is above 1: the shape `dy` is spread onto first.
    pub upsampled: Option<Shape>,
    /// The transposed convolution's input shape (`dy`'s, or the spread one).
    pub input: Shape,
}

/// One axis: `(up, before, after)` for input length `len`, output `out`, or `None` where a
/// padding would be negative.
fn axis(
    len: usize,
    out: usize,
    k: usize,
    stride: usize,
    dil: usize,
    pad: usize,
) -> Option<[usize; 3]> {
    let span = dil * (k - 1) + 1;
    let up = (out - 1) * stride + 1;
    Some([
        up,
        (span - 1).checked_sub(pad)?,
        (len + pad).checked_sub(up)?,
    ])
}

impl Transposed {
    /// Convolution `c` from `s` to `o`, transposed; `None` where it does not fit the rule.
    pub fn new(c: &Conv2d, s: Shape, o: Shape) -> Option<Transposed> {
        let [top, _, left, _] = c.pads(s.h, s.w);
        let [up_h, before_y, after_y] = axis(s.h, o.h, c.kernel.0, c.stride.0, c.dilation.0, top)?;
        let [up_w, before_x, after_x] = axis(s.w, o.w, c.kernel.1, c.stride.1, c.dilation.1, left)?;
        let spread = Shape::new(o.c, up_h, up_w);
        let upsampled = (c.stride != (1, 1)).then_some(spread);
        let conv = Conv2d {
            in_channels: o.c,
            out_channels: s.c,
            kernel: c.kernel,
            stride: (1, 1),
            padding: Padding::Explicit {
                top: before_y,
                bottom: after_y,
                left: before_x,
                right: after_x,
            },
            dilation: c.dilation,
            groups: c.groups,
            bias: false,
        };
        Some(Transposed {
            conv,
            upsampled,
            input: spread,
        })
    }

    /// `c`'s weights `[out, in / g, kh, kw]` as the transposed convolution's
    /// `[in, out / g, kh, kw]`: `w'[g ipg + i, j, y, x] = w[g opg + j, i, kh-1-y, kw-1-x]`.
    pub fn weight(c: &Conv2d, w: &[f32]) -> Vec<f32> {
        let (kh, kw) = c.kernel;
        let (ipg, opg) = (c.in_channels / c.groups, c.out_channels / c.groups);
        let mut t = vec![0.0f32; w.len()];
        for g in 0..c.groups {
            for j in 0..opg {
                for i in 0..ipg {
                    for y in 0..kh {
                        for x in 0..kw {
                            let from =
                                (((g * opg + j) * ipg + i) * kh + kh - 1 - y) * kw + kw - 1 - x;
                            t[(((g * ipg + i) * opg + j) * kh + y) * kw + x] = w[from];
                        }
                    }
                }
            }
        }
        t
    }

    /// backward_upsample.wgsl: `dy` spread into `up`.
    fn spread(&self, l: &Lowering, io: &BackIo, c: &Conv2d, up: &wgpu::Buffer) -> Dispatch {
        let (o, u) = (io.out_shape, self.input);
        let params = PoolParams {
            c: o.c as u32,
            in_h: o.h as u32,
            in_w: o.w as u32,
            out_h: u.h as u32,
            out_w: u.w as u32,
            sh: c.stride.0 as u32,
            sw: c.stride.1 as u32,
            ..Default::default()
        };
        let variant = Variant::plain(Kernel::Backward(BackwardKernel::Upsample));
        let label = format!("{} backward spread", io.name);
        l.dispatch(&label, variant, &[io.dy], up, &params, grid(u.len(), 64))
    }

    /// The edge of convolution `c` (node `io`) on `kernel`: `fast` holds the transposed
    /// weights under the node's name; `up` is the spread gradient's scratch buffer and `spill`
    /// where the accumulating variant writes before adding.
    #[allow(clippy::too_many_arguments)]
    pub fn edge(
        &self,
        fast: &Lowering,
        l: &Lowering,
        io: &BackIo,
        c: &Conv2d,
        kernel: ConvKernel,
        up: &wgpu::Buffer,
        spill: &wgpu::Buffer,
    ) -> Result<Edge, GpuError> {
        let s = io.in_shapes[0];
        let source = if self.upsampled.is_some() { up } else { io.dy };
        let inputs = [source];
        let conv = |output: &wgpu::Buffer| -> Result<Vec<Dispatch>, GpuError> {
            let mut dispatches = Vec::new();
            if self.upsampled.is_some() {
                dispatches.push(self.spread(l, io, c, up));
            }
            let node = NodeIo {
                name: io.name,
                inputs: &inputs,
                in_shapes: &[self.input],
                output,
                out_shape: s,
            };
            dispatches.extend(lower::conv(
                fast,
                &node,
                &self.conv,
                kernel,
                Epilogue::default(),
            )?);
            Ok(dispatches)
        };
        let overwrite = conv(io.dx[0])?;
        let mut add = conv(spill)?;
        add.push(accumulate(l, io, spill, io.dx[0], s.len()));
        Ok(Edge::new(vec![overwrite, add]))
    }
}
