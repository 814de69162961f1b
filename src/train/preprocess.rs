//! Image bytes to network input: the one preprocessing that training, evaluation and the CLI
//! share, so a network always sees at inference what it saw in training.

use crate::model::Network;
use crate::tensor::Tensor;

/// Fashion-MNIST's training-set pixel mean after dividing by 255.
pub const FASHION_MNIST_MEAN: f32 = 0.2860;
/// Fashion-MNIST's training-set pixel standard deviation after dividing by 255.
pub const FASHION_MNIST_STD: f32 = 0.3530;

/// How a greyscale image becomes a `[1, height, width]` input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preprocess {
    /// Output `(height, width)`. A smaller image is centred on a background border (LeNet-5
    /// pads 28x28 to 32x32, LeCun et al. 1998 §II-B); a larger one is centre-cropped.
    pub size: (usize, usize),
    /// Subtract [`FASHION_MNIST_MEAN`] and divide by [`FASHION_MNIST_STD`] after scaling to
    /// [0, 1]. The border is a background pixel either way (0 before normalisation).
    pub normalise: bool,
}

impl Preprocess {
    /// What convscope's shipped weights were trained with: pixels / 255, no normalisation,
    /// zero-padded (or cropped) to the network's default input size (32x32 for `lenet5`,
    /// 28x28 as is for `lenet5_modern`).
    pub fn for_network(net: &Network) -> Self {
        Preprocess {
            size: net.default_input,
            normalise: false,
        }
    }

    /// Values per preprocessed image.
    pub fn len(&self) -> usize {
        self.size.0 * self.size.1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of a pixel byte.
    fn value(&self, byte: u8) -> f32 {
        let v = byte as f32 / 255.0;
        if self.normalise {
            (v - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
        } else {
            v
        }
    }

    /// Writes the image `pixels` (`rows x cols`, row-major) into `out` (`self.len()` values).
    /// With `mirror` the image is flipped left to right (training augmentation).
    ///
    /// Panics if `pixels` or `out` have the wrong length (a programming error).
    pub fn write(&self, pixels: &[u8], rows: usize, cols: usize, mirror: bool, out: &mut [f32]) {
        assert_eq!(pixels.len(), rows * cols, "image is not {rows}x{cols}");
        assert_eq!(out.len(), self.len(), "output is not {:?}", self.size);
        let (h, w) = self.size;
        out.fill(self.value(0));
        // Signed offset of the image inside the output: positive pads, negative crops.
        let dy = (h as isize - rows as isize).div_euclid(2);
        let dx = (w as isize - cols as isize).div_euclid(2);
        for r in 0..rows {
            let y = r as isize + dy;
            if y < 0 || y >= h as isize {
                continue;
            }
            for c in 0..cols {
                let x = c as isize + dx;
                if x < 0 || x >= w as isize {
                    continue;
                }
                let src = if mirror { cols - 1 - c } else { c };
                out[y as usize * w + x as usize] = self.value(pixels[r * cols + src]);
            }
        }
    }

    /// The image `pixels` (`rows x cols`) as a `[1, height, width]` tensor.
    pub fn image(&self, pixels: &[u8], rows: usize, cols: usize) -> Tensor {
        let mut data = vec![0.0; self.len()];
        self.write(pixels, rows, cols, false, &mut data);
        Tensor::new(vec![1, self.size.0, self.size.1], data)
    }
}
