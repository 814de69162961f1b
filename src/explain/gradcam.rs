//! Grad-CAM (Selvaraju et al. 2017): the class-discriminative localisation map at any node
//! with spatial extent, `relu(sum_k alpha_k A_k)` with `alpha_k = mean_ij d score / d A_k`.

use super::{score_node, ExplainError, Explainer};
use crate::cpu::backward::{Backward, Mode};
use crate::model::NodeId;
use crate::tensor::Tensor;
use serde::Serialize;

/// A Grad-CAM map at one node's resolution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradCam {
    pub node: NodeId,
    pub class: usize,
    pub h: usize,
    pub w: usize,
    /// `alpha_k`, one per channel of the node.
    pub alphas: Vec<f64>,
    /// `sum_k alpha_k A_k` before the ReLU, row-major `h x w`.
    pub raw: Vec<f64>,
    /// `relu(raw)`: the map Grad-CAM shows.
    pub map: Vec<f64>,
}

impl Explainer<'_> {
    /// The backward pass Grad-CAM needs: from class `class`'s logit to `node`, where it stops.
    /// Refuses a node without spatial extent or one after the class scores.
    pub fn grad_cam_pass(&self, node: NodeId, class: usize) -> Result<Backward<'_>, ExplainError> {
        let s = self.shape(node);
        let name = &self.network().nodes[node].name;
        let (scores, _) = score_node(self.network());
        if node >= scores {
            return Err(ExplainError::AfterScores {
                node: name.clone(),
                scores: self.network().nodes[scores].name.clone(),
            });
        }
        if s.h * s.w <= 1 {
            return Err(ExplainError::NoSpatialExtent {
                node: name.clone(),
                h: s.h,
                w: s.w,
            });
        }
        Ok(self.class_pass(class, Mode::Gradient)?.stop_at(node))
    }

    /// The map from a finished [`Explainer::grad_cam_pass`].
    pub fn grad_cam_from(&self, pass: &Backward, node: NodeId, class: usize) -> GradCam {
        self.grad_cam_of(node, pass.grad(node), class)
    }

    /// The map from the gradient at `node` of class `class`'s score, however computed (the
    /// GPU's backward pass runs the same pass); `None`: the score does not read the node.
    pub fn grad_cam_of(&self, node: NodeId, grad: Option<&[f64]>, class: usize) -> GradCam {
        let s = self.shape(node);
        let plane = s.h * s.w;
        let activations = &self.outputs()[node].data;
        let zero = vec![0.0; s.len()];
        // A node the class score does not read has a zero gradient.
        let grad = grad.unwrap_or(&zero);
        let alphas: Vec<f64> = (0..s.c)
            .map(|k| grad[k * plane..(k + 1) * plane].iter().sum::<f64>() / plane as f64)
            .collect();
        let mut raw = vec![0.0f64; plane];
        for (k, &alpha) in alphas.iter().enumerate() {
            for (r, &a) in raw.iter_mut().zip(&activations[k * plane..(k + 1) * plane]) {
                *r += alpha * a as f64;
            }
        }
        let map = raw.iter().map(|&v| v.max(0.0)).collect();
        GradCam {
            node,
            class,
            h: s.h,
            w: s.w,
            alphas,
            raw,
            map,
        }
    }

    /// Grad-CAM of class `class` at `node`, in one go.
    pub fn grad_cam(&self, node: NodeId, class: usize) -> Result<GradCam, ExplainError> {
        let mut pass = self.grad_cam_pass(node, class)?;
        while pass.step()?.is_some() {}
        Ok(self.grad_cam_from(&pass, node, class))
    }
}

/// `map` (`h x w`, row-major) resized to `out_h x out_w` bilinearly with half-pixel centres
/// (OpenCV's `INTER_LINEAR`, PyTorch's `align_corners=False`): output pixel `i` samples the
/// input at `(i + 0.5) * in / out - 0.5`, clamped to the edge pixels.
pub fn upsample_bilinear(
    map: &[f64],
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
) -> Vec<f64> {
    let taps = |i: usize, n: usize, out: usize| {
        let src = ((i as f64 + 0.5) * n as f64 / out as f64 - 0.5).clamp(0.0, (n - 1) as f64);
        let i0 = src.floor() as usize;
        (i0, (i0 + 1).min(n - 1), src - i0 as f64)
    };
    let mut out = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let (y0, y1, fy) = taps(y, h, out_h);
        for x in 0..out_w {
            let (x0, x1, fx) = taps(x, w, out_w);
            let at = |yy: usize, xx: usize| map[yy * w + xx];
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
            let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

impl GradCam {
    /// The map (after its ReLU) resized to `size` as the page shows it.
    pub fn upsampled(&self, size: (usize, usize)) -> Vec<f64> {
        upsample_bilinear(&self.map, (self.h, self.w), size)
    }

    /// Guided Grad-CAM (Selvaraju et al. 2017, §3.2): guided backprop (`[C, H, W]`) times
    /// this map upsampled to `H x W`, channel by channel.
    pub fn guided(&self, guided: &Tensor) -> Tensor {
        let (h, w) = (guided.shape[1], guided.shape[2]);
        let cam = self.upsampled((h, w));
        let data = guided
            .data
            .iter()
            .enumerate()
            .map(|(i, &g)| (g as f64 * cam[i % (h * w)]) as f32)
            .collect();
        Tensor::new(guided.shape.clone(), data)
    }
}
