//! The three matrix products training needs (row-major, accumulating into `c`), and the
//! im2col / col2im pair that turns a convolution into one of them.
//!
//! Inner loops run over contiguous memory so the compiler vectorises them; dot products keep
//! eight partial sums in a fixed order, so results are the same on every run.

/// `c[m, n] += a[m, k] * b[k, n]`. Narrow outputs (a convolution whose output is 1x1, as
/// LeNet-5's C5) become dot products, which vectorise where row updates of length `n` cannot.
pub fn matmul_nn(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    if n < 8 {
        let mut bt = vec![0.0; n * k];
        for p in 0..k {
            for j in 0..n {
                bt[j * k + p] = b[p * n + j];
            }
        }
        return matmul_nt(m, k, n, a, &bt, c);
    }
    for i in 0..m {
        let c_row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            axpy(a[i * k + p], &b[p * n..(p + 1) * n], c_row);
        }
    }
}

/// `c[m, n] += a[m, k] * b[n, k]^T`: every entry is a dot product of two rows.
pub fn matmul_nt(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for i in 0..m {
        let a_row = &a[i * k..(i + 1) * k];
        for j in 0..n {
            c[i * n + j] += dot(a_row, &b[j * k..(j + 1) * k]);
        }
    }
}

/// `c[m, n] += a[k, m]^T * b[k, n]`; narrow outputs as in [`matmul_nn`].
pub fn matmul_tn(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    if n < 8 {
        let transpose = |x: &[f32], cols: usize| {
            let mut t = vec![0.0; x.len()];
            for p in 0..k {
                for j in 0..cols {
                    t[j * k + p] = x[p * cols + j];
                }
            }
            t
        };
        return matmul_nt(m, k, n, &transpose(a, m), &transpose(b, n), c);
    }
    for p in 0..k {
        let b_row = &b[p * n..(p + 1) * n];
        for i in 0..m {
            axpy(a[p * m + i], b_row, &mut c[i * n..(i + 1) * n]);
        }
    }
}

/// `y += alpha * x`.
fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `sum_i a[i] * b[i]` with eight interleaved partial sums.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += x * y;
    }
    sum
}

/// Geometry of one convolution group on one image: which input pixel each kernel tap reads.
#[derive(Clone, Copy, Debug)]
pub struct ConvGeometry {
    /// Input channels of this group, and the input plane.
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    /// Padding before the first row and column.
    pub top: usize,
    pub left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl ConvGeometry {
    /// Rows of the column matrix: `channels * kh * kw`.
    pub fn rows(&self) -> usize {
        self.channels * self.kernel.0 * self.kernel.1
    }
    /// Columns of the column matrix: one per output pixel.
    pub fn cols(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Calls `f(row, col, input, len)` for every run of taps that read real (unpadded)
    /// pixels: columns `col..col + len` of column-matrix row `row` read the input at
    /// `input, input + stride, ...`. Runs are whole output rows clipped to the image.
    fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let (kh, kw) = self.kernel;
        let (sy, sx) = (self.stride.0 as isize, self.stride.1 as isize);
        for c in 0..self.channels {
            for ky in 0..kh {
                for kx in 0..kw {
                    let row = (c * kh + ky) * kw + kx;
                    // Input column of output column ox: ox * sx + offset.
                    let offset = (kx * self.dilation.1) as isize - self.left as isize;
                    let first = if offset >= 0 {
                        0
                    } else {
                        (-offset + sx - 1) / sx
                    };
                    let end = ((self.in_w as isize - offset + sx - 1) / sx).max(0);
                    let (first, end) = (first as usize, (end as usize).min(self.out_w));
                    if first >= end {
                        continue;
                    }
                    for oy in 0..self.out_h {
                        let iy =
                            oy as isize * sy + (ky * self.dilation.0) as isize - self.top as isize;
                        if iy < 0 || iy >= self.in_h as isize {
                            continue;
                        }
                        let ix = (first as isize * sx + offset) as usize;
                        let input = (c * self.in_h + iy as usize) * self.in_w + ix;
                        f(row, oy * self.out_w + first, input, end - first);
                    }
                }
            }
        }
    }

    /// The `[rows, cols]` column matrix of input `x` (`channels * in_h * in_w` values).
    pub fn im2col(&self, x: &[f32], cols: &mut [f32]) {
        cols.fill(0.0);
        let (n, sx) = (self.cols(), self.stride.1);
        self.for_each_run(|row, col, input, len| {
            let dst = &mut cols[row * n + col..][..len];
            if sx == 1 {
                dst.copy_from_slice(&x[input..input + len]);
            } else {
                dst.iter_mut()
                    .enumerate()
                    .for_each(|(i, d)| *d = x[input + i * sx]);
            }
        });
    }

    /// Adds each column-matrix entry back onto the input pixel it was read from.
    pub fn col2im(&self, cols: &[f32], dx: &mut [f32]) {
        let (n, sx) = (self.cols(), self.stride.1);
        self.for_each_run(|row, col, input, len| {
            let src = &cols[row * n + col..][..len];
            if sx == 1 {
                let dst = &mut dx[input..input + len];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            } else {
                src.iter()
                    .enumerate()
                    .for_each(|(i, s)| dx[input + i * sx] += s);
            }
        });
    }
}
