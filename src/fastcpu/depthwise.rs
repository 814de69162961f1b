//! Depthwise convolution (one input channel per group): each input plane is copied once into
//! a zero-bordered plane split by phase (row modulo the row stride, column modulo the column
//! stride), so that every tap is one contiguous multiply-add run over a band of output rows,
//! which vectorises, with no bounds or border tests inside.

use super::kernels::Epilogue;
use super::window::Window;

/// Output values a band of rows may hold, so the band's sums stay in the first-level cache.
const BAND: usize = 4096;

/// A padded input plane split into `stride.0 x stride.1` phases: padded pixel `(r, c)` lives
/// in phase `(r % sy, c % sx)` at row `r / sy`, column `c / sx`. The inputs one tap reads for
/// consecutive outputs are then consecutive, and one output row further is one phase row
/// further.
struct Phased {
    /// Rows and columns of each phase.
    phase_rows: usize,
    pitch: usize,
    stride: (usize, usize),
    data: Vec<f32>,
}

impl Phased {
    fn new(w: &Window) -> Self {
        let rows = (w.output.h - 1) * w.stride.0 + (w.kernel.0 - 1) * w.dilation.0 + 1;
        let cols = (w.output.w - 1) * w.stride.1 + (w.kernel.1 - 1) * w.dilation.1 + 1;
        let (phase_rows, pitch) = (rows.div_ceil(w.stride.0), cols.div_ceil(w.stride.1));
        Phased {
            phase_rows,
            pitch,
            stride: w.stride,
            data: vec![0.0; w.stride.0 * w.stride.1 * phase_rows * pitch],
        }
    }

    /// Where padded pixel `(r, c)` is stored.
    fn index(&self, r: usize, c: usize) -> usize {
        let (sy, sx) = self.stride;
        (((r % sy) * sx + c % sx) * self.phase_rows + r / sy) * self.pitch + c / sx
    }

    /// Copy input plane `src` in: padded row `r` holds input row `r - pad.0`, padded
    /// column `c` input column `c - pad.1`; everything else is 0.
    fn fill(&mut self, w: &Window, src: &[f32]) {
        self.data.fill(0.0);
        let (sy, sx) = self.stride;
        for r in 0..self.phase_rows * sy {
            let Some(iy) = r.checked_sub(w.pad.0).filter(|&iy| iy < w.input.h) else {
                continue;
            };
            let line = &src[iy * w.input.w..][..w.input.w];
            if self.stride == (1, 1) {
                let n = line.len().min(self.pitch.saturating_sub(w.pad.1));
                let at = r * self.pitch + w.pad.1;
                self.data[at..at + n].copy_from_slice(&line[..n]);
                continue;
            }
            if sx == 2 {
                self.fill_pairs(r, w.pad.1, line);
                continue;
            }
            for p in 0..sx {
                // Phase `p` holds padded columns `p, p + sx, ...`: input columns from the
                // first of them at or past the left padding.
                let skip = w.pad.1.saturating_sub(p).div_ceil(sx);
                let first = skip * sx + p - w.pad.1;
                if skip >= self.pitch || first >= line.len() {
                    continue;
                }
                let at = self.index(r, p) + skip;
                let phase = &mut self.data[at..at + self.pitch - skip];
                for (d, &v) in phase.iter_mut().zip(line[first..].iter().step_by(sx)) {
                    *d = v;
                }
            }
        }
    }

    /// Column stride 2: input column `ix` is padded column `ix + pad`, so even input columns
    /// all go to one phase and odd ones to the other; copied in pairs, which vectorises.
    fn fill_pairs(&mut self, r: usize, pad: usize, line: &[f32]) {
        let (even_at, odd_at) = (self.index(r, pad), self.index(r, pad + 1));
        let (even_len, odd_len) = (
            self.pitch.saturating_sub(pad / 2),
            self.pitch.saturating_sub(pad.div_ceil(2)),
        );
        let (lo, hi) = self.data.split_at_mut(even_at.max(odd_at));
        let (even, odd) = if even_at < odd_at {
            (&mut lo[even_at..even_at + even_len], &mut hi[..odd_len])
        } else {
            (&mut hi[..even_len], &mut lo[odd_at..odd_at + odd_len])
        };
        let pairs = line.chunks_exact(2);
        if let (Some(&last), Some(slot)) = (pairs.remainder().first(), even.get_mut(line.len() / 2))
        {
            *slot = last;
        }
        for ((pair, e), o) in pairs.zip(even.iter_mut()).zip(odd.iter_mut()) {
            *e = pair[0];
            *o = pair[1];
        }
    }
}

/// Output channel `o` reads input channel `o / multiplier`; each plane gets its bias and
/// activation (`epilogue`) once its sums are stored.
pub fn depthwise(w: &Window, x: &[f32], out: &mut [f32], weight: &[f32], epilogue: Epilogue) {
    let (oh, ow) = (w.output.h, w.output.w);
    if oh == 0 || ow == 0 {
        return;
    }
    let in_plane = w.input.h * w.input.w;
    let multiplier = w.output.c / w.groups;
    let mut phased = Phased::new(w);
    let band_rows = (BAND / phased.pitch).clamp(1, oh);
    let mut acc = vec![0.0; (band_rows - 1) * phased.pitch + ow];
    // Where each tap's run starts for the first band; a band `b` rows further starts `b`
    // phase rows further (a phase row per output row).
    let starts: Vec<usize> = (0..w.kernel.0 * w.kernel.1)
        .map(|t| {
            phased.index(
                (t / w.kernel.1) * w.dilation.0,
                (t % w.kernel.1) * w.dilation.1,
            )
        })
        .collect();
    let mut band_starts = starts.clone();
    let mut filled = usize::MAX;
    for (o, (dst_plane, taps)) in out
        .chunks_exact_mut(oh * ow)
        .zip(weight.chunks_exact(w.kernel.0 * w.kernel.1))
        .enumerate()
    {
        let channel = o / multiplier;
        if filled != channel {
            phased.fill(w, &x[channel * in_plane..][..in_plane]);
            filled = channel;
        }
        for (band, dst) in dst_plane.chunks_mut(band_rows * ow).enumerate() {
            let rows = dst.len() / ow;
            let acc = &mut acc[..(rows - 1) * phased.pitch + ow];
            for (b, &s) in band_starts.iter_mut().zip(&starts) {
                *b = s + band * band_rows * phased.pitch;
            }
            band_sums(&phased.data, taps, &band_starts, acc);
            for (oy, dst_row) in dst.chunks_exact_mut(ow).enumerate() {
                dst_row.copy_from_slice(&acc[oy * phased.pitch..][..ow]);
            }
        }
        epilogue.apply(o, dst_plane);
    }
}

/// Output values summed together in registers: every tap is added to them before they are
/// stored, so the band is written once rather than once per tap. 32 lanes are two AVX-512,
/// four AVX2 or eight simd128 registers: independent sums, so consecutive taps' multiply-adds
/// do not wait on each other.
const LANES: usize = 32;

/// The sums of a band of output rows, output pixel `(oy, ox)` of the band at `oy * pitch + ox`
/// of `acc` (the columns past the output width are computed and dropped). Each tap reads one
/// contiguous run of the phased plane `data`, starting at `starts[tap]`.
fn band_sums(data: &[f32], taps: &[f32], starts: &[usize], acc: &mut [f32]) {
    let len = acc.len();
    let mut chunks = acc.chunks_exact_mut(LANES);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut sums = [0.0f32; LANES];
        for (&wv, &start) in taps.iter().zip(starts) {
            let src = &data[start + base..start + base + LANES];
            for (s, &v) in sums.iter_mut().zip(src) {
                *s += wv * v;
            }
        }
        chunk.copy_from_slice(&sums);
        base += LANES;
    }
    let tail = chunks.into_remainder();
    tail.fill(0.0);
    for (&wv, &start) in taps.iter().zip(starts) {
        let src = &data[start + base..start + len];
        for (d, &v) in tail.iter_mut().zip(src) {
            *d += wv * v;
        }
    }
}
