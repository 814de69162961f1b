//! Per-layer gradients: given a layer's inputs, output, saved state and the gradient of the
//! loss with respect to its output, the gradients with respect to its inputs and parameters.
//! Each rule is checked against finite differences in `tests/train.rs`.

use super::activation::derivative;
use super::conv::{conv_backward, expand_partial, ConvSpec};
use super::forward::{avg_windows, unravel, Batch, Params, Saved};
use super::gemm::{matmul_nn, matmul_tn};
use super::lrn::lrn_backward;
use super::TrainError;
use crate::model::Layer;
use crate::weights::Weights;

/// Where a node's parameter gradients accumulate: `grads` holds one zero-initialised tensor
/// per trainable tensor of the network, keyed as in [`Weights`].
pub struct GradSink<'a> {
    pub node: &'a str,
    pub grads: &'a mut Weights,
}

impl GradSink<'_> {
    fn get(&mut self, suffix: &str) -> &mut [f32] {
        let key = format!("{}.{suffix}", self.node);
        let tensor = self.grads.tensors.get_mut(&key);
        &mut tensor
            .expect("gradient tensors are made for every trainable tensor")
            .data
    }
}

/// `d loss / d input` for each input of `layer`, adding parameter gradients to `sink`.
/// `dy` is `d loss / d output`, laid out as `y.data`. Without `need_dx` convolutions leave
/// the input gradient at zero (nothing reads the gradient of the network input in training).
// One arm per layer kind, each the gradient of that kind alone.
#[allow(clippy::too_many_lines)]
#[allow(clippy::too_many_arguments)]
pub fn backward_layer(
    layer: &Layer,
    params: Params,
    ins: &[&Batch],
    y: &Batch,
    saved: &Saved,
    dy: &[f32],
    sink: &mut GradSink,
    need_dx: bool,
) -> Result<Vec<Vec<f32>>, TrainError> {
    let x = ins[0];
    let (s, out) = (x.shape, y.shape);
    let mut dx = vec![0.0; x.data.len()];
    match layer {
        Layer::Conv2d(c) => {
            let spec = ConvSpec::of_conv(c, s);
            let weight = params.get("weight");
            let mut dw = vec![0.0; weight.len()];
            let dx_out = need_dx.then_some(&mut dx[..]);
            conv_backward(&spec, x, out, weight, dy, &mut dw, dx_out);
            add_to(sink.get("weight"), &dw);
            if c.bias {
                bias_grad(sink.get("bias"), dy, out.h * out.w);
            }
        }
        Layer::PartialConv2d(p) => {
            let dense = expand_partial(p, params.get("weight"));
            let mut dw = vec![0.0; dense.len()];
            let dx_out = need_dx.then_some(&mut dx[..]);
            conv_backward(
                &ConvSpec::of_partial(p),
                x,
                out,
                &dense,
                dy,
                &mut dw,
                dx_out,
            );
            // Only the connections in the table are parameters; the rest stay zero.
            let kk = p.kernel * p.kernel;
            let packed = sink.get("weight");
            for (o, row) in p.table.iter().enumerate() {
                for (j, &i) in row.iter().enumerate() {
                    let dst = (p.weight_offset(o) + j) * kk;
                    let src = (o * p.in_channels + i) * kk;
                    add_to(&mut packed[dst..dst + kk], &dw[src..src + kk]);
                }
            }
            bias_grad(sink.get("bias"), dy, out.h * out.w);
        }
        Layer::Subsample(sub) => {
            let coef = params.get("weight");
            let k = sub.window;
            let (mut dcoef, mut dbias) = (vec![0.0; s.c], vec![0.0; s.c]);
            for (i, &g) in dy.iter().enumerate() {
                let (b, c, oy, ox) = unravel(i, out);
                let mut sum = 0.0;
                for ky in 0..k {
                    let row = ((b * s.c + c) * s.h + oy * k + ky) * s.w + ox * k;
                    sum += x.data[row..row + k].iter().sum::<f32>();
                    dx[row..row + k].iter_mut().for_each(|d| *d += coef[c] * g);
                }
                dcoef[c] += g * sum;
                dbias[c] += g;
            }
            add_to(sink.get("weight"), &dcoef);
            add_to(sink.get("bias"), &dbias);
        }
        Layer::MaxPool2d(_) => {
            let Saved::Argmax(argmax) = saved else {
                unreachable!("max pooling saves its argmax")
            };
            for (i, (&g, &at)) in dy.iter().zip(argmax).enumerate() {
                if at != u32::MAX {
                    dx[(i / out.len()) * s.len() + at as usize] += g;
                }
            }
        }
        Layer::AvgPool2d(p) => {
            let windows = avg_windows(p, s, out);
            for (i, &g) in dy.iter().enumerate() {
                let (b, c, oy, ox) = unravel(i, out);
                let (y0, y1, x0, x1, divisor) = windows[oy * out.w + ox];
                if divisor == 0.0 {
                    continue;
                }
                let plane = (b * s.c + c) * s.h;
                for iy in y0..y1 {
                    let row = (plane + iy) * s.w;
                    dx[row + x0..row + x1]
                        .iter_mut()
                        .for_each(|d| *d += g / divisor);
                }
            }
        }
        Layer::GlobalAvgPool => {
            let plane = s.h * s.w;
            for (chunk, &g) in dx.chunks_mut(plane).zip(dy) {
                chunk.iter_mut().for_each(|d| *d = g / plane as f32);
            }
        }
        Layer::Activation(a) => {
            for (((d, &g), &u), &v) in dx.iter_mut().zip(dy).zip(&x.data).zip(&y.data) {
                *d = g * derivative(*a, u, v);
            }
        }
        Layer::Dropout(_) => match saved {
            Saved::Mask(mask) => {
                for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(mask) {
                    *d = g * m;
                }
            }
            _ => dx.copy_from_slice(dy),
        },
        Layer::BatchNorm(bn) => {
            let gamma = params.get("weight");
            let plane = s.h * s.w;
            let (mean, inv_std, count) = match saved {
                Saved::BatchStats {
                    mean,
                    inv_std,
                    count,
                    ..
                } => (mean.clone(), inv_std.clone(), Some(*count as f32)),
                _ => {
                    let var = params.get("running_var");
                    let inv: Vec<f32> = var.iter().map(|v| 1.0 / (v + bn.eps).sqrt()).collect();
                    (params.get("running_mean").to_vec(), inv, None)
                }
            };
            let xhat = |i: usize, c: usize| (x.data[i] - mean[c]) * inv_std[c];
            let (mut dgamma, mut dbeta) = (vec![0.0; s.c], vec![0.0; s.c]);
            for (i, &g) in dy.iter().enumerate() {
                let c = (i / plane) % s.c;
                dgamma[c] += g * xhat(i, c);
                dbeta[c] += g;
            }
            for (i, d) in dx.iter_mut().enumerate() {
                let c = (i / plane) % s.c;
                *d = match count {
                    // Batch statistics depend on every input: the full rule.
                    Some(m) => {
                        gamma[c] * inv_std[c] / m * (m * dy[i] - dbeta[c] - xhat(i, c) * dgamma[c])
                    }
                    None => gamma[c] * inv_std[c] * dy[i],
                };
            }
            add_to(sink.get("weight"), &dgamma);
            add_to(sink.get("bias"), &dbeta);
        }
        Layer::Lrn(l) => {
            let Saved::LrnScale(scale) = saved else {
                unreachable!("LRN saves its scale")
            };
            lrn_backward(l, x, &y.data, scale, dy, &mut dx);
        }
        Layer::Flatten => dx.copy_from_slice(dy),
        Layer::Dense(d) => {
            let (n, fi, fo) = (x.n, d.in_features, d.out_features);
            matmul_tn(fo, n, fi, dy, &x.data, sink.get("weight"));
            if d.bias {
                bias_grad(sink.get("bias"), dy, 1);
            }
            matmul_nn(n, fo, fi, dy, params.get("weight"), &mut dx);
        }
        Layer::Rbf(r) => {
            let centres = params.get("weight");
            let mut dw = vec![0.0; centres.len()];
            for (i, &g) in dy.iter().enumerate() {
                let (b, o) = (i / r.outputs, i % r.outputs);
                let row = o * r.in_features;
                let dxb = &mut dx[b * r.in_features..(b + 1) * r.in_features];
                for (j, (&u, d)) in x.image(b).iter().zip(dxb).enumerate() {
                    let diff = 2.0 * g * (u - centres[row + j]);
                    *d += diff;
                    dw[row + j] -= diff;
                }
            }
            add_to(sink.get("weight"), &dw);
        }
        Layer::Concat => {
            let mut parts: Vec<Vec<f32>> = ins
                .iter()
                .map(|t| Vec::with_capacity(t.data.len()))
                .collect();
            let mut offset = 0;
            for _ in 0..x.n {
                for (part, t) in parts.iter_mut().zip(ins) {
                    part.extend_from_slice(&dy[offset..offset + t.shape.len()]);
                    offset += t.shape.len();
                }
            }
            return Ok(parts);
        }
        Layer::Add => return Ok(ins.iter().map(|_| dy.to_vec()).collect()),
        Layer::Softmax => {
            for (b, chunk) in dx.chunks_mut(out.len()).enumerate() {
                let (yb, gb) = (y.image(b), &dy[b * out.len()..(b + 1) * out.len()]);
                let inner: f32 = yb.iter().zip(gb).map(|(p, g)| p * g).sum();
                for ((d, &p), &g) in chunk.iter_mut().zip(yb).zip(gb) {
                    *d = p * (g - inner);
                }
            }
        }
        Layer::Input { .. } | Layer::AdaptiveAvgPool2d(_) => {
            return Err(TrainError::Unsupported {
                node: params.node.to_string(),
                kind: layer.kind(),
            })
        }
    }
    Ok(vec![dx])
}

fn add_to(acc: &mut [f32], values: &[f32]) {
    acc.iter_mut().zip(values).for_each(|(a, v)| *a += v);
}

/// Adds to `db[c]` the sum of `dy` over channel `c`, channels being runs of `plane` values.
fn bias_grad(db: &mut [f32], dy: &[f32], plane: usize) {
    let channels = db.len();
    for (i, chunk) in dy.chunks(plane).enumerate() {
        db[i % channels] += chunk.iter().sum::<f32>();
    }
}
