//! A batch of activations, image after image, and the per-channel bias add that the
//! forward pass and the convolutions share.

use crate::model::Shape;

/// Activations of `n` images, image after image, each `shape` (channel-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub n: usize,
    pub shape: Shape,
    pub data: Vec<f32>,
}

impl Batch {
    pub fn zeros(n: usize, shape: Shape) -> Self {
        Batch {
            n,
            shape,
            data: vec![0.0; n * shape.len()],
        }
    }
    /// The values of image `b`.
    pub fn image(&self, b: usize) -> &[f32] {
        let len = self.shape.len();
        &self.data[b * len..(b + 1) * len]
    }
}

/// Adds `bias[c]` to every value of channel `c`, channels being runs of `plane` values.
pub fn add_bias(y: &mut [f32], bias: &[f32], plane: usize) {
    for (chunk, i) in y.chunks_mut(plane).zip(0..) {
        let b = bias[i % bias.len()];
        chunk.iter_mut().for_each(|v| *v += b);
    }
}
