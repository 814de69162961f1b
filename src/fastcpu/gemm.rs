//! The one matrix product of the fast engine, `c += a x b` on row-major slices, over the
//! `gemm` crate (candle's GEMM: runtime-chosen AVX2/FMA/AVX-512 or NEON micro-kernels natively,
//! simd128 ones in WebAssembly). Its entry point takes raw pointers; this wrapper checks every
//! extent against the slices first, so the rest of the engine stays safe code.

/// A row-major matrix view: `rows x cols`, row `r` starting at `r * stride`.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl Dims {
    pub const fn packed(rows: usize, cols: usize) -> Self {
        Dims {
            rows,
            cols,
            stride: cols,
        }
    }

    /// Elements a slice must hold for this view.
    fn extent(self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.stride + self.cols
        }
    }
}

/// `c = c + a x b` (`accumulate`) or `c = a x b`, with `a` `m x k`, `b` `k x n`, `c` `m x n`.
/// Panics when a view does not fit its slice or the dimensions disagree.
pub fn matmul(a: (&[f32], Dims), b: (&[f32], Dims), c: (&mut [f32], Dims), accumulate: bool) {
    let ((a, da), (b, db), (c, dc)) = (a, b, c);
    assert!(da.cols == db.rows && da.rows == dc.rows && db.cols == dc.cols);
    assert!(da.cols <= da.stride && db.cols <= db.stride && dc.cols <= dc.stride);
    assert!(a.len() >= da.extent() && b.len() >= db.extent() && c.len() >= dc.extent());
    let (m, n, k) = (dc.rows, dc.cols, da.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in c.chunks_mut(dc.stride).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    let stride = |d: Dims| isize::try_from(d.stride).expect("matrix stride fits isize");
    // SAFETY: every element the product reads or writes, `(i, j)` at `i * stride + j` with
    // `i < rows`, `j < cols`, lies inside its slice (checked above against `extent`); `c` is
    // borrowed mutably, so it overlaps neither `a` nor `b`; one thread (`Parallelism::None`).
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            stride(dc),
            accumulate,
            a.as_ptr(),
            1,
            stride(da),
            b.as_ptr(),
            1,
            stride(db),
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
