//! Images to input tensors, exactly as each network was trained: [`Preprocess`] turns a
//! picture into a network's input for the CLI and the page, and [`GreyscaleFrame`] places
//! greyscale bytes in a network's input, the step the trainer, the evaluator and the lab
//! share with `Preprocess::Grayscale`, so a network sees at inference what it saw in training.

use crate::model::Network;
use crate::tensor::Tensor;
use image::{imageops::FilterType, DynamicImage};
use serde::Serialize;

/// ImageNet's mean and standard deviation per RGB channel, on 0..=255 (torchvision's
/// `Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))` on 0..1).
const IMAGENET_MEAN: [f32; 3] = [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0];
const IMAGENET_STD: [f32; 3] = [0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0];

/// How a network's training images were prepared.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Preprocess {
    /// ImageNet style: resize the shorter side to `resize` (bilinear), centre-crop
    /// `crop x crop`, then `(rgb - mean) / std` per channel with rgb in 0..=255; with `bgr`
    /// the channels are in Caffe's order, blue first (and `mean`, `std` with them).
    Imagenet {
        resize: u32,
        crop: u32,
        mean: [f32; 3],
        std: [f32; 3],
        bgr: bool,
    },
    /// Fashion-MNIST style: grayscale, resized to `size x size`, scaled to 0..=1, light
    /// garments on a dark ground (a photo's bright background is inverted), then zero-padded
    /// to `pad_to x pad_to` (LeNet-5 pads 28 to 32).
    Grayscale { size: u32, pad_to: u32 },
}

impl Preprocess {
    /// torchvision's ImageNet recipe: 256, centre 224, mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225) (torchvision model docs).
    pub const TORCHVISION: Preprocess = Preprocess::Imagenet {
        resize: 256,
        crop: 224,
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
        bgr: false,
    };
    /// AlexNet as in the paper takes 227x227 crops (Krizhevsky et al. 2012, with the usual
    /// correction of 224 to 227).
    pub const IMAGENET_227: Preprocess = Preprocess::Imagenet {
        resize: 256,
        crop: 227,
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
        bgr: false,
    };
    /// EfficientNet-Lite: 256, centre 224, (rgb - 127) / 128 (the efficientnet-lite
    /// reference preprocessing).
    pub const EFFICIENTNET_LITE: Preprocess = Preprocess::Imagenet {
        resize: 256,
        crop: 224,
        mean: [127.0; 3],
        std: [128.0; 3],
        bgr: false,
    };
    pub const FASHION_28: Preprocess = Preprocess::Grayscale {
        size: 28,
        pad_to: 28,
    };
    pub const FASHION_32: Preprocess = Preprocess::Grayscale {
        size: 28,
        pad_to: 32,
    };

    /// The `[C, H, W]` tensor the network takes for `image`.
    pub fn apply(&self, image: &DynamicImage) -> Tensor {
        match *self {
            Preprocess::Imagenet {
                resize,
                crop,
                mean,
                std,
                bgr,
            } => {
                let (w, h) = (image.width().max(1), image.height().max(1));
                let scale = resize as f64 / w.min(h) as f64;
                let (nw, nh) = (
                    ((w as f64 * scale).round() as u32).max(crop),
                    ((h as f64 * scale).round() as u32).max(crop),
                );
                let resized = image.resize_exact(nw, nh, FilterType::Triangle).to_rgb8();
                let (x0, y0) = ((nw - crop) / 2, (nh - crop) / 2);
                let n = (crop * crop) as usize;
                let mut data = vec![0.0; 3 * n];
                for y in 0..crop {
                    for x in 0..crop {
                        let px = resized.get_pixel(x0 + x, y0 + y).0;
                        for c in 0..3 {
                            let value = px[if bgr { 2 - c } else { c }] as f32;
                            data[c * n + (y * crop + x) as usize] = (value - mean[c]) / std[c];
                        }
                    }
                }
                Tensor::new(vec![3, crop as usize, crop as usize], data)
            }
            Preprocess::Grayscale { size, pad_to } => {
                let gray = image
                    .resize_exact(size, size, FilterType::Triangle)
                    .to_luma8();
                let (n, mut pixels) = (size as usize, gray.into_raw());
                // Fashion-MNIST garments are light on black; photos are usually the opposite.
                let border: u32 = (0..n)
                    .map(|i| pixels[i] as u32 + pixels[(n - 1) * n + i] as u32)
                    .sum();
                if border > 255 * n as u32 {
                    pixels.iter_mut().for_each(|p| *p = 255 - *p);
                }
                GreyscaleFrame {
                    size: (pad_to as usize, pad_to as usize),
                }
                .image(&pixels, n, n)
            }
        }
    }

    /// The input size this preprocessing produces.
    pub fn output_size(&self) -> (usize, usize) {
        match *self {
            Preprocess::Imagenet { crop, .. } => (crop as usize, crop as usize),
            Preprocess::Grayscale { pad_to, .. } => (pad_to as usize, pad_to as usize),
        }
    }
}

/// The preprocessing of a model whose file does not say (an ONNX file carries none): the
/// recipes of the frameworks the ONNX model zoo's classic CNNs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Recipe {
    /// torchvision: resize 256, centre crop 224, ImageNet mean and std on RGB. The default.
    Torchvision,
    /// Caffe (the zoo's bvlc AlexNet, CaffeNet, ZFNet-512, GoogLeNet): BGR, 0..255, the mean
    /// pixel (104, 117, 123) subtracted, no scaling.
    Caffe,
    /// EfficientNet-Lite: `(rgb - 127) / 128`.
    EfficientNet,
    /// None: RGB scaled to 0..1, for models that normalise inside the graph.
    None,
}

impl Recipe {
    pub const ALL: [Recipe; 4] = [
        Recipe::Torchvision,
        Recipe::Caffe,
        Recipe::EfficientNet,
        Recipe::None,
    ];

    /// The name the tool's `--preprocess` and the page's menu use.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::Torchvision => "torchvision",
            Recipe::Caffe => "caffe",
            Recipe::EfficientNet => "efficientnet",
            Recipe::None => "none",
        }
    }

    /// The recipe called `name`.
    pub fn parse(name: &str) -> Option<Recipe> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// This recipe for a square input of side `side`: the shorter side resized to
    /// `side * 256 / 224` (256 for 224), then the centre `side x side`.
    pub fn for_side(self, side: u32) -> Preprocess {
        let resize = (side as f32 * 256.0 / 224.0).round() as u32;
        let (mean, std, bgr) = match self {
            Recipe::Torchvision => (IMAGENET_MEAN, IMAGENET_STD, false),
            Recipe::Caffe => ([104.0, 117.0, 123.0], [1.0; 3], true),
            Recipe::EfficientNet => ([127.0; 3], [128.0; 3], false),
            Recipe::None => ([0.0; 3], [255.0; 3], false),
        };
        Preprocess::Imagenet {
            resize,
            crop: side,
            mean,
            std,
            bgr,
        }
    }
}

/// How a greyscale byte image becomes a `[1, height, width]` input: pixels / 255, centred in
/// the frame `size`. A smaller image is centred on a background border of zeros (LeNet-5 pads
/// 28x28 to 32x32, LeCun et al. 1998 §II-B); a larger one is centre-cropped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GreyscaleFrame {
    /// Output `(height, width)`.
    pub size: (usize, usize),
}

impl GreyscaleFrame {
    /// The frame of `net`'s default input size, as convscope's Fashion-MNIST networks were
    /// trained (32x32 for `lenet5`, 28x28 as is for `lenet5_modern` and the lab's networks).
    pub fn for_network(net: &Network) -> Self {
        GreyscaleFrame {
            size: net.default_input,
        }
    }

    /// Values per framed image.
    pub fn len(&self) -> usize {
        self.size.0 * self.size.1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the image `pixels` (`rows x cols`, row-major) into `out` (`self.len()` values).
    /// With `mirror` the image is flipped left to right (training augmentation).
    ///
    /// Panics if `pixels` or `out` have the wrong length (a programming error).
    pub fn write(&self, pixels: &[u8], rows: usize, cols: usize, mirror: bool, out: &mut [f32]) {
        assert_eq!(pixels.len(), rows * cols, "image is not {rows}x{cols}");
        assert_eq!(out.len(), self.len(), "output is not {:?}", self.size);
        let (h, w) = self.size;
        out.fill(0.0);
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
                out[y as usize * w + x as usize] = pixels[r * cols + src] as f32 / 255.0;
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
