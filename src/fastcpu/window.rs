//! Where a convolution's windows fall on its input, resolved once for its kernels.

use crate::model::{Conv2d, Shape};

/// Where a convolution's windows fall: shapes, kernel, stride, dilation, leading padding.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub input: Shape,
    pub output: Shape,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    /// Padding before the first row and column (the rest follows from the output size).
    pub pad: (usize, usize),
    pub groups: usize,
}

impl Window {
    pub fn new(c: &Conv2d, input: Shape, output: Shape) -> Self {
        let [top, _, left, _] = c.pads(input.h, input.w);
        Window {
            input,
            output,
            kernel: c.kernel,
            stride: c.stride,
            dilation: c.dilation,
            pad: (top, left),
            groups: c.groups,
        }
    }

    pub fn in_per_group(&self) -> usize {
        self.input.c / self.groups
    }

    pub fn out_per_group(&self) -> usize {
        self.output.c / self.groups
    }

    /// Rows of the im2col matrix (and columns of the weight matrix) per group.
    pub fn depth(&self) -> usize {
        self.in_per_group() * self.kernel.0 * self.kernel.1
    }
}
