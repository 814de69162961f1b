//! Pictures of explanations: a map over its input as a PNG, and patches and projections.
//!
//! The rules (normalisation, colormap, overlay) live in `convscope::explain::picture`, shared
//! with the page.

use super::CliError;
use convscope::explain::picture::display_scale;
pub use convscope::explain::picture::{overlay, Normalise};
use convscope::tensor::Tensor;
use image::{GrayImage, RgbImage};
use std::path::Path;

/// A `[C, H, W]` tensor as a PNG (grey for one channel, RGB for three, else the channels'
/// mean); `centred`: 0 is mid-grey and `max |v|` the extremes (projections), else min..max.
pub fn save_tensor(path: &Path, t: &Tensor, centred: bool) -> Result<(), CliError> {
    let (c, h, w) = (t.shape[0], t.shape[1], t.shape[2]);
    let scaled = display_scale(t, centred);
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
