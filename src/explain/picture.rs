//! Pictures of explanations, one rule for the tool's PNGs and the page's canvases.
//!
//! Heat: a map becomes `t` in `[0, 1]` by a stated [`Normalise`] rule and colour by the "hot"
//! colormap (black, red, yellow, white for 0 to 1). A map over its input is the input in grey
//! (its channels' mean, stretched to black..white) blended half and half with the heat. For
//! maps at the input (`[C, H, W]`: gradient, guided, deconvnet) a pixel's value is the largest
//! `|value|` over channels. Never NaN: an all-zero map under `Magnitude` is no heat (0), a
//! constant map under `Range` sits at the middle (0.5), non-finite values read 0.

use crate::tensor::Tensor;
use image::RgbImage;

/// How a map becomes heat in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalise {
    /// `|v| / max |v|` (and over channels, the largest).
    Magnitude,
    /// `(v - min) / (max - min)`.
    Range,
}

impl Normalise {
    /// The rule in words, as the page and the tool state it.
    pub fn describe(self) -> &'static str {
        match self {
            Normalise::Magnitude => "|v| / max |v| (at the input: the largest |v| over the colour channels); an all-zero map shows no heat",
            Normalise::Range => "(v - min) / (max - min); a constant map sits at the colormap's middle",
        }
    }
}

/// The colormap's name and stops, as the page states it.
pub const HOT_DESCRIPTION: &str = "hot: black (0), red, yellow, white (1)";

/// `values` scaled to `[0, 1]` by `how` (see the module docs for constant and broken maps).
pub fn normalise(values: &[f32], how: Normalise) -> Vec<f32> {
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = match how {
        Normalise::Magnitude => (0.0, finite().fold(0f32, |m, v| m.max(v.abs()))),
        Normalise::Range => (
            finite().fold(f32::INFINITY, f32::min),
            finite().fold(f32::NEG_INFINITY, f32::max),
        ),
    };
    let span = hi - lo;
    let flat = if how == Normalise::Range && lo.is_finite() {
        0.5
    } else {
        0.0
    };
    values
        .iter()
        .map(|&v| {
            let t = match how {
                Normalise::Magnitude => v.abs(),
                Normalise::Range => v - lo,
            };
            if !t.is_finite() {
                0.0
            } else if span > 0.0 && span.is_finite() {
                (t / span).clamp(0.0, 1.0)
            } else {
                flat
            }
        })
        .collect()
}

/// The "hot" colormap.
pub fn hot(t: f32) -> [f32; 3] {
    let c = |v: f32| v.clamp(0.0, 1.0);
    [c(3.0 * t), c(3.0 * t - 1.0), c(3.0 * t - 2.0)]
}

/// Whether a map is the same number everywhere (or has no finite values).
pub fn is_constant(values: &[f32]) -> bool {
    let mut finite = values.iter().filter(|v| v.is_finite());
    match finite.next() {
        Some(first) => finite.all(|v| v == first),
        None => true,
    }
}

/// The per-pixel value a heat map shows: `[C, H, W]` maps take the largest `|v|` over
/// channels, `[h, w]` maps their value. Returns `(h, w, values)`.
fn pixel_values(shape: &[usize], map: &[f32]) -> (usize, usize, Vec<f32>) {
    match shape {
        [c, h, w] => {
            let n = h * w;
            let strongest = (0..n)
                .map(|p| (0..*c).map(|ch| map[ch * n + p].abs()).fold(0.0, f32::max))
                .collect();
            (*h, *w, strongest)
        }
        [h, w] => (*h, *w, map.to_vec()),
        _ => (1, 1, vec![0.0]),
    }
}

/// `map` shaped `[C, H, W]` (at the input) or `[h, w]` over `input` (`[C, H, W]`); a coarser
/// map is shown at the input's size by nearest cell.
pub fn overlay(input: &Tensor, shape: &[usize], map: &[f32], how: Normalise) -> RgbImage {
    let (c, h, w) = (input.shape[0], input.shape[1], input.shape[2]);
    let plane = h * w;
    let grey: Vec<f32> = (0..plane)
        .map(|p| (0..c).map(|ch| input.data[ch * plane + p]).sum::<f32>() / c as f32)
        .collect();
    let grey = normalise(&grey, Normalise::Range);
    let (mh, mw, values) = pixel_values(shape, map);
    let heat = normalise(&values, how);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let t = heat[(y * mh / h).min(mh - 1) * mw + (x * mw / w).min(mw - 1)];
        let g = grey[y * w + x];
        image::Rgb(hot(t).map(|v| ((0.5 * g + 0.5 * v) * 255.0).round() as u8))
    })
}

/// An `h x w` map alone in the hot colormap, as RGBA bytes.
pub fn heat_rgba(values: &[f32], how: Normalise) -> Vec<u8> {
    normalise(values, how)
        .into_iter()
        .flat_map(|t| {
            let [r, g, b] = hot(t).map(|v| (v * 255.0).round() as u8);
            [r, g, b, 255]
        })
        .collect()
}

/// A `[C, H, W]` tensor's values in `[0, 1]` for display: `centred` puts 0 at the middle and
/// `max |v|` at the extremes (projections), otherwise min..max.
pub fn display_scale(t: &Tensor, centred: bool) -> Vec<f32> {
    if !centred {
        return normalise(&t.data, Normalise::Range);
    }
    let m = t
        .data
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |m, v| m.max(v.abs()));
    t.data
        .iter()
        .map(|&v| {
            if m > 0.0 && v.is_finite() {
                0.5 + 0.5 * v / m
            } else {
                0.5
            }
        })
        .collect()
}

/// A `[C, H, W]` tensor as RGBA bytes: three channels as RGB, otherwise their mean in grey;
/// scaled by [`display_scale`].
pub fn tensor_rgba(t: &Tensor, centred: bool) -> Vec<u8> {
    let (c, plane) = (t.shape[0], t.shape[1] * t.shape[2]);
    let scaled = display_scale(t, centred);
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let mut out = Vec::with_capacity(4 * plane);
    for p in 0..plane {
        if c == 3 {
            out.extend([0, 1, 2].map(|ch| byte(scaled[ch * plane + p])));
        } else {
            let mean = (0..c).map(|ch| scaled[ch * plane + p]).sum::<f32>() / c as f32;
            out.extend([byte(mean); 3]);
        }
        out.push(255);
    }
    out
}

/// An `h x w` map resized to `out_h x out_w` bilinearly (pixel centres aligned, edges
/// clamped), as the page shows Grad-CAM over its input.
pub fn upsample_bilinear(
    map: &[f32],
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
) -> Vec<f32> {
    let source = |o: usize, n_out: usize, n_in: usize| -> (usize, usize, f32) {
        let s = ((o as f32 + 0.5) * n_in as f32 / n_out as f32 - 0.5).max(0.0);
        let i0 = (s.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        (i0, i1, s - i0 as f32)
    };
    let mut out = Vec::with_capacity(out_h * out_w);
    for oy in 0..out_h {
        let (y0, y1, fy) = source(oy, out_h, h);
        for ox in 0..out_w {
            let (x0, x1, fx) = source(ox, out_w, w);
            let at = |y: usize, x: usize| map[y * w + x];
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
            let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// An RGB image as RGBA bytes.
pub fn rgb_to_rgba(image: &RgbImage) -> Vec<u8> {
    image
        .pixels()
        .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
        .collect()
}

/// A colour for class `class` in the most-probable-class map: hues spread by the golden
/// angle, so neighbouring class numbers differ.
pub fn class_colour(class: usize) -> [u8; 3] {
    let hue = (class as f32 * 137.508) % 360.0;
    let (s, v) = (0.65, 0.95);
    let c = v * s;
    let x = c * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r, g, b].map(|u| ((u + v - c) * 255.0).round() as u8)
}
