//! Depthwise convolution (one input channel per group): each input plane is copied once into
//! a zero-bordered, column-phase-split plane, so that every tap of every output row is one
//! contiguous multiply-add run, which vectorises, with no bounds or border tests inside.

use super::window::Window;

/// A padded input plane with its columns split by phase modulo the column stride: padded
/// column `c` lives in phase `c % stride` at position `c / stride`, so the inputs an output
/// row reads at one tap are consecutive.
struct Phased {
    /// Values per phase row (the longest phase).
    phase_len: usize,
    stride: usize,
    data: Vec<f32>,
}

impl Phased {
    fn new(w: &Window) -> Self {
        let rows = (w.output.h - 1) * w.stride.0 + (w.kernel.0 - 1) * w.dilation.0 + 1;
        let cols = (w.output.w - 1) * w.stride.1 + (w.kernel.1 - 1) * w.dilation.1 + 1;
        let phase_len = cols.div_ceil(w.stride.1);
        Phased {
            phase_len,
            stride: w.stride.1,
            data: vec![0.0; rows * w.stride.1 * phase_len],
        }
    }

    /// Copy input plane `src` in: padded row `r` holds input row `r - pad.0`, padded
    /// column `c` input column `c - pad.1`; everything else is 0.
    fn fill(&mut self, w: &Window, src: &[f32]) {
        self.data.fill(0.0);
        let row_len = self.stride * self.phase_len;
        for (r, dst) in self.data.chunks_exact_mut(row_len).enumerate() {
            let Some(iy) = r.checked_sub(w.pad.0).filter(|&iy| iy < w.input.h) else {
                continue;
            };
            let line = &src[iy * w.input.w..][..w.input.w];
            for (p, phase) in dst.chunks_exact_mut(self.phase_len).enumerate() {
                // Phase `p` holds padded columns `p, p + stride, ...`: input columns from
                // the first of them at or past the left padding.
                let (first, skip) = match p.checked_sub(w.pad.1) {
                    Some(ix) => (ix, 0),
                    None => {
                        let skip = (w.pad.1 - p).div_ceil(self.stride);
                        (skip * self.stride + p - w.pad.1, skip)
                    }
                };
                if skip >= phase.len() || first >= line.len() {
                    continue;
                }
                let values = line[first..].iter().step_by(self.stride);
                for (d, &v) in phase[skip..].iter_mut().zip(values) {
                    *d = v;
                }
            }
        }
    }

    /// The run of `len` values starting at padded column `c` of row `row` in steps of the
    /// stride (with stride 1, a run may continue into the rows below).
    fn run(&self, row: usize, c: usize, len: usize) -> &[f32] {
        let start = (row * self.stride + c % self.stride) * self.phase_len + c / self.stride;
        &self.data[start..start + len]
    }
}

/// Output channel `o` reads input channel `o / multiplier`; `out` holds the bias already.
pub fn depthwise(w: &Window, x: &[f32], out: &mut [f32], weight: &[f32]) {
    let (oh, ow) = (w.output.h, w.output.w);
    if oh == 0 || ow == 0 {
        return;
    }
    let (kh, kw) = w.kernel;
    let in_plane = w.input.h * w.input.w;
    let multiplier = w.output.c / w.groups;
    let mut phased = Phased::new(w);
    let mut filled = usize::MAX;
    // Stride 1: the whole output plane at the padded plane's row pitch (see `plane_runs`).
    let mut acc = vec![0.0; (oh - 1) * phased.phase_len + ow];
    for (o, (dst_plane, taps)) in out
        .chunks_exact_mut(oh * ow)
        .zip(weight.chunks_exact(kh * kw))
        .enumerate()
    {
        let channel = o / multiplier;
        if filled != channel {
            phased.fill(w, &x[channel * in_plane..][..in_plane]);
            filled = channel;
        }
        if w.stride == (1, 1) {
            plane_runs(w, &phased, taps, &mut acc, dst_plane);
        } else {
            row_runs(w, &phased, taps, dst_plane);
        }
    }
}

/// Stride 1: output pixel `(oy, ox)` is kept at `oy * padded_width + ox` in `acc`, so each
/// tap is one run over the whole plane (the columns past the output width are computed and
/// dropped), long enough to vectorise even on 7 x 7 planes.
fn plane_runs(w: &Window, phased: &Phased, taps: &[f32], acc: &mut [f32], dst: &mut [f32]) {
    let (ow, pitch) = (w.output.w, phased.phase_len);
    acc.fill(0.0);
    for (ky, tap_row) in taps.chunks_exact(w.kernel.1).enumerate() {
        for (kx, &wv) in tap_row.iter().enumerate() {
            let src = phased.run(ky * w.dilation.0, kx * w.dilation.1, acc.len());
            for (d, &v) in acc.iter_mut().zip(src) {
                *d += wv * v;
            }
        }
    }
    for (oy, dst_row) in dst.chunks_exact_mut(ow).enumerate() {
        for (d, &v) in dst_row.iter_mut().zip(&acc[oy * pitch..]) {
            *d += v;
        }
    }
}

/// Any stride: each tap of each output row is one run of a phase row.
fn row_runs(w: &Window, phased: &Phased, taps: &[f32], dst_plane: &mut [f32]) {
    let ow = w.output.w;
    for (oy, dst) in dst_plane.chunks_exact_mut(ow).enumerate() {
        for (ky, tap_row) in taps.chunks_exact(w.kernel.1).enumerate() {
            let row = oy * w.stride.0 + ky * w.dilation.0;
            for (kx, &wv) in tap_row.iter().enumerate() {
                let src = phased.run(row, kx * w.dilation.1, ow);
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d += wv * v;
                }
            }
        }
    }
}
