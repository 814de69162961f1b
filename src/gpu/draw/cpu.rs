//! The CPU twins of the GPU drawing: each channel's range, and the RGBA grid of tiles.

use super::layout::{Norm, TileLayout};
use crate::tensor::Tensor;

/// Each channel's `[min, max, mean]` of a `[c, h, w]` tensor (the CPU twin of the range pass).
pub fn ranges(t: &Tensor) -> Vec<[f32; 3]> {
    let c = t.shape[0];
    let n = t.data.len() / c.max(1);
    t.data
        .chunks(n.max(1))
        .take(c)
        .map(|plane| {
            let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f32);
            for &v in plane {
                lo = lo.min(v);
                hi = hi.max(v);
                sum += v;
            }
            [lo, hi, sum / n as f32]
        })
        .collect()
}

/// The colormap index of `v` in `[lo, hi]`: the rounding the shader uses.
fn colormap_index(v: f32, lo: f32, hi: f32) -> usize {
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    ((v - lo) * scale + 0.5).floor().clamp(0.0, 255.0) as usize
}

/// The CPU twin of the GPU drawing: the RGBA pixels (`layout.width x layout.height`, row by
/// row) of the tiles of `t`, tile `slot` showing channel `order[slot]`; `colormap` is 256 RGB
/// triples, low to high.
pub fn draw_tiles(
    t: &Tensor,
    layout: &TileLayout,
    norm: Norm,
    order: &[u32],
    colormap: &[[u8; 3]; 256],
) -> Vec<u8> {
    let l = layout;
    let stats = ranges(t);
    let layer = stats.iter().fold([f32::MAX, -f32::MAX], |[lo, hi], s| {
        [lo.min(s[0]), hi.max(s[1])]
    });
    let (h, w) = (l.h as usize, l.w as usize);
    let mut rgba = vec![0u8; (l.width * l.height * 4) as usize];
    for py in 0..l.height {
        for px in 0..l.width {
            let (col, row) = (px / (l.tile_w + l.gap), py / (l.tile_h + l.gap));
            let (ix, iy) = (px % (l.tile_w + l.gap), py % (l.tile_h + l.gap));
            let slot = row * l.cols + col;
            if ix >= l.tile_w || iy >= l.tile_h || slot >= l.tiles {
                continue;
            }
            let ch = order[slot as usize] as usize;
            let (x, y) = (
                (ix * l.w / l.tile_w) as usize,
                (iy * l.h / l.tile_h) as usize,
            );
            let v = t.data[(ch * h + y) * w + x];
            let [lo, hi] = match norm {
                Norm::Channel => [stats[ch][0], stats[ch][1]],
                Norm::Layer => layer,
            };
            let [r, g, b] = colormap[colormap_index(v, lo, hi)];
            let i = 4 * (py * l.width + px) as usize;
            rgba[i..i + 4].copy_from_slice(&[r, g, b, 255]);
        }
    }
    rgba
}
