//! Local response normalisation on a batch (Krizhevsky et al. 2012, §3.3), forward and
//! backward, with the channel window of the reference (`cpu::elementwise::lrn`): channel `c`
//! sums the squares of channels `c - size/2 ..= c + (size-1)/2`, clipped to the tensor.
//!
//! With `s_c = k + alpha * sum_{c' in W(c)} x_c'^2` and `y_c = x_c * s_c^-beta`, the gradient
//! is `dx_j = dy_j * s_j^-beta - 2 alpha beta x_j * sum_{c : j in W(c)} dy_c * y_c / s_c`;
//! channel `j` lies in the windows of channels `j - (size-1)/2 ..= j + size/2`.

use super::batch::Batch;
use crate::model::Lrn;

/// The channels whose squares channel `c` of `channels` sums.
fn window(l: &Lrn, c: usize, channels: usize) -> std::ops::Range<usize> {
    c.saturating_sub(l.size / 2)..(c + l.size.div_ceil(2)).min(channels)
}

/// The channels whose windows hold channel `j`.
fn windows_holding(l: &Lrn, j: usize, channels: usize) -> std::ops::Range<usize> {
    if l.size == 0 {
        return 0..0;
    }
    j.saturating_sub(l.size.div_ceil(2).saturating_sub(1))..(j + l.size / 2 + 1).min(channels)
}

/// `y = x * s^-beta` for every image; returns `s` (laid out as `x`) for the backward pass.
pub fn lrn_forward(l: &Lrn, x: &Batch, y: &mut [f32]) -> Vec<f32> {
    let s = x.shape;
    let plane = s.h * s.w;
    let mut scale = vec![0.0; x.data.len()];
    for b in 0..x.n {
        let xb = x.image(b);
        let base = b * s.len();
        for c in 0..s.c {
            let out = &mut scale[base + c * plane..][..plane];
            for c2 in window(l, c, s.c) {
                let xs = &xb[c2 * plane..][..plane];
                out.iter_mut().zip(xs).for_each(|(o, &v)| *o += v * v);
            }
            out.iter_mut().for_each(|o| *o = l.k + l.alpha * *o);
        }
    }
    for ((v, &u), &sc) in y.iter_mut().zip(&x.data).zip(&scale) {
        *v = u * sc.powf(-l.beta);
    }
    scale
}

/// `d loss / d x` given the forward's input `x`, output `y`, saved `scale` and `dy`.
pub fn lrn_backward(l: &Lrn, x: &Batch, y: &[f32], scale: &[f32], dy: &[f32], dx: &mut [f32]) {
    let s = x.shape;
    let plane = s.h * s.w;
    // t_c = dy_c * y_c / s_c, then each channel gathers the t of the windows holding it.
    let t: Vec<f32> = dy
        .iter()
        .zip(y)
        .zip(scale)
        .map(|((&g, &v), &sc)| g * v / sc)
        .collect();
    let factor = 2.0 * l.alpha * l.beta;
    for b in 0..x.n {
        let base = b * s.len();
        for j in 0..s.c {
            let at = base + j * plane;
            let mut gathered = vec![0.0f32; plane];
            for c in windows_holding(l, j, s.c) {
                let tc = &t[base + c * plane..][..plane];
                gathered.iter_mut().zip(tc).for_each(|(g, &v)| *g += v);
            }
            let range = at..at + plane;
            let (dxs, dys) = (&mut dx[range.clone()], &dy[range.clone()]);
            let (scales, xs) = (&scale[range.clone()], &x.data[range]);
            for ((((d, &g), &sc), &u), &t) in
                dxs.iter_mut().zip(dys).zip(scales).zip(xs).zip(&gathered)
            {
                *d = g * sc.powf(-l.beta) - factor * u * t;
            }
        }
    }
}
