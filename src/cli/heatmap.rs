//! Pictures of explanations: a map over its input as a PNG, and patches and projections.
//!
//! The overlay: the input in grey (its channels' mean, stretched to black..white) blended half
//! and half with the map in the "hot" colormap (black, red, yellow, white for 0 to 1). The
//! map's normalisation: for maps at the input (`[C, H, W]`: gradient, guided, deconvnet) the
//! largest `|value|` over channels per pixel, divided by its maximum; for Grad-CAM the value
//! divided by its maximum; for occlusion `(v - min) / (max - min)`. A constant (or all-zero)
//! map reads 0 everywhere: never NaN. Coarse maps are shown at the input's size by nearest
//! cell.

use super::CliError;
use convscope::tensor::Tensor;
use image::{GrayImage, RgbImage};
use std::path::Path;

/// How a map becomes heat in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalise {
    /// `|v| / max |v|` (and over channels, the largest).
    Magnitude,
    /// `(v - min) / (max - min)`.
    Range,
}

/// `values` scaled to `[0, 1]`; all zeros when the map is constant or not finite.
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
    values
        .iter()
        .map(|&v| {
            let t = match how {
                Normalise::Magnitude => v.abs(),
                Normalise::Range => v - lo,
            };
            if span > 0.0 && span.is_finite() && t.is_finite() {
                (t / span).clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// The "hot" colormap.
pub fn hot(t: f32) -> [f32; 3] {
    let c = |v: f32| v.clamp(0.0, 1.0);
    [c(3.0 * t), c(3.0 * t - 1.0), c(3.0 * t - 2.0)]
}

/// `map` shaped `[C, H, W]` (at the input) or `[h, w]` over `input` (`[C, H, W]`).
pub fn overlay(input: &Tensor, shape: &[usize], map: &[f32], how: Normalise) -> RgbImage {
    let (c, h, w) = (input.shape[0], input.shape[1], input.shape[2]);
    let plane = h * w;
    let grey: Vec<f32> = (0..plane)
        .map(|p| (0..c).map(|ch| input.data[ch * plane + p]).sum::<f32>() / c as f32)
        .collect();
    let grey = normalise_range(&grey);
    let (mh, mw, heat) = match shape {
        [mc, mh, mw] => {
            let n = mh * mw;
            let strongest: Vec<f32> = (0..n)
                .map(|p| (0..*mc).map(|ch| map[ch * n + p].abs()).fold(0.0, f32::max))
                .collect();
            (*mh, *mw, normalise(&strongest, how))
        }
        [mh, mw] => (*mh, *mw, normalise(map, how)),
        _ => (1, 1, vec![0.0]),
    };
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let t = heat[(y * mh / h).min(mh - 1) * mw + (x * mw / w).min(mw - 1)];
        let g = grey[y * w + x];
        let rgb = hot(t).map(|v| ((0.5 * g + 0.5 * v) * 255.0).round() as u8);
        image::Rgb(rgb)
    })
}

fn normalise_range(values: &[f32]) -> Vec<f32> {
    normalise(values, Normalise::Range)
}

/// A `[C, H, W]` tensor as a PNG (grey for one channel, RGB for three, else the channels'
/// mean); `centred`: 0 is mid-grey and `max |v|` the extremes (projections), else min..max.
pub fn save_tensor(path: &Path, t: &Tensor, centred: bool) -> Result<(), CliError> {
    let (c, h, w) = (t.shape[0], t.shape[1], t.shape[2]);
    let scaled: Vec<f32> = if centred {
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
    } else {
        normalise_range(&t.data)
    };
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let plane = h * w;
    let result = if c == 3 {
        RgbImage::from_fn(w as u32, h as u32, |x, y| {
            let p = y as usize * w + x as usize;
            image::Rgb([0, 1, 2].map(|ch| byte(scaled[ch * plane + p])))
        })
        .save(path)
    } else {
        GrayImage::from_fn(w as u32, h as u32, |x, y| {
            let p = y as usize * w + x as usize;
            let mean = (0..c).map(|ch| scaled[ch * plane + p]).sum::<f32>() / c as f32;
            image::Luma([byte(mean)])
        })
        .save(path)
    };
    result.map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::{normalise, overlay, Normalise};
    use convscope::tensor::Tensor;

    #[test]
    fn a_constant_or_broken_map_reads_zero_not_nan() {
        for how in [Normalise::Magnitude, Normalise::Range] {
            assert_eq!(normalise(&[0.0; 4], how), [0.0; 4]);
            assert_eq!(normalise(&[2.5; 3], Normalise::Range), [0.0; 3]);
            let t = normalise(&[f32::NAN, 1.0, -3.0], how);
            assert!(t.iter().all(|v| v.is_finite()), "{t:?}");
        }
        assert_eq!(normalise(&[1.0, -2.0], Normalise::Magnitude), [0.5, 1.0]);
        assert_eq!(
            normalise(&[1.0, 3.0, 2.0], Normalise::Range),
            [0.0, 1.0, 0.5]
        );
        // A constant input and map still make a picture: grey 0 blended with black.
        let input = Tensor::new(vec![3, 4, 4], vec![0.7; 48]);
        let png = overlay(&input, &[2, 2], &[1.0; 4], Normalise::Range);
        assert!(png.pixels().all(|p| p.0 == [0, 0, 0]));
    }
}
