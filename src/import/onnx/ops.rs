//! ONNX operators onto convscope's layers, one function per operator family. Attribute
//! defaults follow the ONNX operator specification of each opset (onnx/docs/Operators.md).

use super::tensor::{read_tensor, Attrs};
use super::{Builder, Runtime, Site};
use crate::import::ImportError;
use crate::model::{Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Lrn, Padding, Pool2d};
use crate::tensor::Tensor;
use onnx_protobuf::NodeProto;

/// `[a, b]` of an ONNX pair attribute (strides, dilations), `default` where absent.
fn pair(site: &Site, a: &Attrs, name: &str, default: usize) -> Result<(usize, usize), ImportError> {
    match a.ints(name).as_deref() {
        None => Ok((default, default)),
        Some(&[y, x]) if y > 0 && x > 0 => Ok((y as usize, x as usize)),
        Some(v) => Err(site.unsupported(format!(
            "{name} {v:?}: convscope runs 2-D windows with positive sizes"
        ))),
    }
}

/// ONNX `pads` `[top, left, bottom, right]` as `[top, bottom, left, right]`.
fn pads(site: &Site, a: &Attrs) -> Result<[usize; 4], ImportError> {
    match a.ints("pads").as_deref() {
        None => Ok([0; 4]),
        Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&p| p >= 0) => {
            Ok([t as usize, b as usize, l as usize, r as usize])
        }
        Some(v) => Err(site.unsupported(format!("pads {v:?}: four non-negative values expected"))),
    }
}

/// The padding of a window from `auto_pad`, `pads` and a Pad folded in front of it, on an
/// input of `h x w` (SAME_LOWER is fixed at the import size).
fn window_padding(
    site: &Site,
    a: &Attrs,
    folded: [usize; 4],
    input: (usize, usize),
    span: (usize, usize),
    stride: (usize, usize),
) -> Result<(Padding, Option<String>), ImportError> {
    let explicit = |p: [usize; 4]| Padding::Explicit {
        top: p[0] + folded[0],
        bottom: p[1] + folded[1],
        left: p[2] + folded[2],
        right: p[3] + folded[3],
    };
    let auto = a.string("auto_pad").unwrap_or_default();
    match auto.as_str() {
        "" | "NOTSET" => Ok((explicit(pads(site, a)?), None)),
        "VALID" => Ok((explicit([0; 4]), None)),
        "SAME_UPPER" if folded == [0; 4] => Ok((Padding::Same, None)),
        "SAME_LOWER" => {
            let [t, b, l, r] = Padding::Same.resolve(input.0, input.1, span, stride);
            let note = format!(
                "`{}`: SAME_LOWER padding fixed for a {}x{} input",
                site.node, input.0, input.1
            );
            Ok((explicit([b, t, r, l]), Some(note)))
        }
        other => Err(site.unsupported(format!("auto_pad {other} after a Pad"))),
    }
}

impl Builder {
    /// One ONNX node into the network.
    pub(super) fn node(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
    ) -> Result<(), ImportError> {
        let a = Attrs { node };
        let first = node.input.first().cloned().unwrap_or_default();
        let out = node.output.first().cloned().unwrap_or_default();
        let activation = |act| Some(Layer::Activation(act));
        let simple = match node.op_type.as_str() {
            "Relu" => activation(Activation::Relu),
            "Sigmoid" => activation(Activation::Sigmoid),
            "Tanh" => activation(Activation::Tanh),
            "Clip" => activation(self.clip(site, node, &a)?),
            "LRN" => Some(Layer::Lrn(lrn(site, &a)?)),
            "GlobalAveragePool" => Some(Layer::GlobalAvgPool),
            "Dropout" => Some(Layer::Dropout(self.dropout(site, node, &a)?)),
            _ => None,
        };
        if let Some(layer) = simple {
            let x = self.runtime(site, &first)?;
            let id = self.add(site, self.name_for(node, index, None), layer, &[x.id])?;
            self.define(&out, Runtime { id, own: true, ..x });
            return Ok(());
        }
        match node.op_type.as_str() {
            "Conv" => self.conv(node, index, site, &a),
            "MaxPool" | "AveragePool" => self.pool(node, index, site, &a),
            "BatchNormalization" => self.batchnorm(node, index, site, &a),
            "Gemm" | "MatMul" => self.dense(node, index, site, &a),
            "Flatten" | "Reshape" => self.flatten(node, index, site, &a),
            "Softmax" => self.softmax(node, index, site, &a),
            "Concat" => self.concat(node, index, site, &a),
            "Add" | "Sub" | "Mul" | "Div" | "Sum" => self.arithmetic(node, index, site),
            "Identity" => {
                let x = self.padded(site, &first)?;
                self.define(&out, Runtime { own: false, ..x });
                Ok(())
            }
            "Pad" => self.pad(node, site, &a),
            "Constant" => self.constant_node(node, site, &a),
            "LeakyRelu" | "PRelu" | "Elu" | "Selu" => Err(site.unsupported(
                "convscope's activations are ReLU, ReLU6, sigmoid and tanh; it has no leaky or exponential ReLU",
            )),
            _ => Err(site.unsupported(
                "convscope maps the operators of classic CNNs (Conv, pooling, LRN, BatchNormalization, Gemm, Concat, Add, ...) onto its layers",
            )),
        }
    }

    /// Clip as ReLU6 (`[0, 6]`) or ReLU (`[0, inf)`); bounds are attributes before opset 11,
    /// inputs from 11 on.
    fn clip(&self, site: &Site, node: &NodeProto, a: &Attrs) -> Result<Activation, ImportError> {
        let (lo, hi) = if self.opset < 11 {
            (a.float("min", f32::MIN), a.float("max", f32::MAX))
        } else {
            let bound = |i, default| -> Result<f32, ImportError> {
                match self.optional_constant(site, node, i)? {
                    Some(c) => c
                        .scalar()
                        .ok_or_else(|| site.unsupported("its bounds must be scalars")),
                    None => Ok(default),
                }
            };
            (bound(1, f32::MIN)?, bound(2, f32::MAX)?)
        };
        match (lo, hi) {
            (l, h) if l == 0.0 && h == 6.0 => Ok(Activation::Relu6),
            (l, h) if l == 0.0 && h >= f32::MAX => Ok(Activation::Relu),
            _ => Err(site.unsupported(format!(
                "Clip to [{lo}, {hi}]: convscope has ReLU6 (Clip to [0, 6]) and ReLU (Clip to [0, inf))"
            ))),
        }
    }

    fn dropout(&self, site: &Site, node: &NodeProto, a: &Attrs) -> Result<Dropout, ImportError> {
        let p = match self.optional_constant(site, node, 1)? {
            Some(c) => c.scalar().unwrap_or(0.5),
            None => a.float("ratio", 0.5),
        };
        Ok(Dropout { p })
    }

    fn conv(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let x = self.padded(site, &node.input[0])?;
        let w_name = node.input.get(1).cloned().unwrap_or_default();
        let w = self.constant(site, &w_name)?.clone();
        let &[out_c, per_group, kh, kw] = &w.dims[..] else {
            return Err(site.unsupported(format!(
                "weight of shape {:?}: convscope runs 2-D convolutions (a 4-D weight)",
                w.dims
            )));
        };
        let bias = self.optional_constant(site, node, 2)?.cloned();
        let groups = a.int("group", 1).max(1) as usize;
        let in_s = self.shapes[x.id];
        if per_group * groups != in_s.c {
            return Err(ImportError::Graph {
                reason: format!(
                    "has Conv `{}` whose weight takes {per_group} x {groups} channels, but its input has {}",
                    site.node, in_s.c
                ),
            });
        }
        let mut conv = Conv2d::new(in_s.c, out_c, 1).groups(groups);
        conv.kernel = (kh, kw);
        conv.stride = pair(site, a, "strides", 1)?;
        conv.dilation = pair(site, a, "dilations", 1)?;
        let (padding, note) =
            window_padding(site, a, x.pad, (in_s.h, in_s.w), conv.span(), conv.stride)?;
        conv.padding = padding;
        conv.bias = bias.is_some();
        self.notes.extend(note);
        let name = self.name_for(node, index, Some(&w_name));
        let id = self.add(site, name.clone(), Layer::Conv2d(conv), &[x.id])?;
        self.weights
            .insert(format!("{name}.weight"), Tensor::new(w.dims, w.data));
        if let Some(b) = bias {
            self.weights
                .insert(format!("{name}.bias"), Tensor::new(vec![out_c], b.data));
        }
        self.define(
            &node.output[0],
            Runtime {
                id,
                rank: 4,
                pad: [0; 4],
                own: true,
            },
        );
        Ok(())
    }

    fn pool(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let max = node.op_type == "MaxPool";
        if node.output.iter().skip(1).any(|o| self.uses(o) > 0) {
            return Err(site
                .unsupported("its indices output is used; convscope's pooling gives values only"));
        }
        if pair(site, a, "dilations", 1)? != (1, 1) {
            return Err(site.unsupported("dilated pooling windows are not supported"));
        }
        let include_pad = a.int("count_include_pad", 0) == 1;
        let x = self.padded(site, &node.input[0])?;
        if x.pad != [0; 4] && (max || !include_pad) {
            return Err(site.unsupported(
                "it reads a Pad output; zero padding folds into average pooling only with count_include_pad=1",
            ));
        }
        let kernel = pair(site, a, "kernel_shape", 0)?;
        let mut pool = Pool2d::new(1, 1);
        pool.kernel = kernel;
        pool.stride = pair(site, a, "strides", 1)?;
        pool.ceil_mode = a.int("ceil_mode", 0) == 1;
        // Meaningless for max pooling, where it keeps the struct's default.
        pool.count_include_pad = max || include_pad;
        let in_s = self.shapes[x.id];
        let (padding, note) =
            window_padding(site, a, x.pad, (in_s.h, in_s.w), kernel, pool.stride)?;
        pool.padding = padding;
        self.notes.extend(note);
        let layer = if max {
            Layer::MaxPool2d(pool)
        } else {
            Layer::AvgPool2d(pool)
        };
        let id = self.add(site, self.name_for(node, index, None), layer, &[x.id])?;
        self.define(
            &node.output[0],
            Runtime {
                id,
                rank: 4,
                pad: [0; 4],
                own: true,
            },
        );
        Ok(())
    }

    fn batchnorm(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        if a.int("training_mode", 0) != 0 || a.int("spatial", 1) != 1 {
            return Err(site.unsupported(
                "training mode and non-spatial BatchNormalization are not supported",
            ));
        }
        if node.output.iter().skip(1).any(|o| self.uses(o) > 0) {
            return Err(site.unsupported("its running statistics outputs are used (training)"));
        }
        let x = self.runtime(site, &node.input[0])?;
        let channels = self.shapes[x.id].c;
        let mut params = Vec::new();
        for i in 1..5 {
            let c = self.constant(site, node.input.get(i).map_or("", |s| s.as_str()))?;
            if c.len() != channels {
                return Err(ImportError::Graph {
                    reason: format!(
                        "has BatchNormalization `{}` with {} values for {channels} channels",
                        site.node,
                        c.len()
                    ),
                });
            }
            params.push(c.data.clone());
        }
        let scale_name = node.input[1].clone();
        let name = self.name_for(node, index, Some(&scale_name));
        let eps = a.float("epsilon", 1e-5);
        let id = self.add(
            site,
            name.clone(),
            Layer::BatchNorm(BatchNorm { channels, eps }),
            &[x.id],
        )?;
        for (suffix, data) in ["weight", "bias", "running_mean", "running_var"]
            .iter()
            .zip(params)
        {
            self.weights.insert(
                format!("{name}.{suffix}"),
                Tensor::new(vec![channels], data),
            );
        }
        self.define(&node.output[0], Runtime { id, own: true, ..x });
        Ok(())
    }

    /// Gemm (`alpha * A B' + beta * C`) and MatMul with a constant right-hand side, as a dense
    /// layer with the PyTorch `[out, in]` weight.
    fn dense(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let gemm = node.op_type == "Gemm";
        if gemm && a.int("transA", 0) != 0 {
            return Err(
                site.unsupported("transA=1: convscope multiplies the activations on the left")
            );
        }
        let x = self.runtime(site, &node.input[0])?;
        let w_name = node.input.get(1).cloned().unwrap_or_default();
        let w = self.constant(site, &w_name)?;
        let &[rows, cols] = &w.dims[..] else {
            return Err(site.unsupported(format!(
                "weight of shape {:?}: a matrix is expected",
                w.dims
            )));
        };
        let trans_b = gemm && a.int("transB", 0) != 0;
        let (out_f, in_f) = if trans_b { (rows, cols) } else { (cols, rows) };
        let alpha = if gemm { a.float("alpha", 1.0) } else { 1.0 };
        let mut weight = vec![0.0; out_f * in_f];
        for o in 0..out_f {
            for i in 0..in_f {
                let v = if trans_b {
                    w.data[o * in_f + i]
                } else {
                    w.data[i * out_f + o]
                };
                weight[o * in_f + i] = alpha * v;
            }
        }
        let bias = match self.optional_constant(site, node, if gemm { 2 } else { usize::MAX })? {
            Some(c) if c.len() == out_f || c.len() == 1 => {
                let beta = a.float("beta", 1.0);
                Some(
                    (0..out_f)
                        .map(|o| beta * c.data[o % c.len()])
                        .collect::<Vec<f32>>(),
                )
            }
            Some(c) => {
                return Err(
                    site.unsupported(format!("bias of shape {:?} for {out_f} outputs", c.dims))
                )
            }
            None => None,
        };
        let layer = Layer::Dense(Dense {
            in_features: in_f,
            out_features: out_f,
            bias: bias.is_some(),
        });
        let name = self.name_for(node, index, Some(&w_name));
        let id = self.add(site, name.clone(), layer, &[x.id])?;
        self.weights.insert(
            format!("{name}.weight"),
            Tensor::new(vec![out_f, in_f], weight),
        );
        if let Some(b) = bias {
            self.weights
                .insert(format!("{name}.bias"), Tensor::new(vec![out_f], b));
        }
        self.define(
            &node.output[0],
            Runtime {
                id,
                rank: 2,
                pad: [0; 4],
                own: true,
            },
        );
        Ok(())
    }

    /// Flatten (axis 0 or 1) and Reshape to `[N, -1]`: a flatten layer, or nothing when the
    /// value is already flat.
    fn flatten(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let x = self.runtime(site, &node.input[0])?;
        let len = self.shapes[x.id].len() as i64;
        if node.op_type == "Flatten" {
            let axis = a.int("axis", 1);
            if !(axis == 1
                || axis == 0
                || (axis == -3 && x.rank == 4)
                || (axis == -1 && x.rank == 2))
            {
                return Err(site.unsupported(format!(
                    "axis {axis}: convscope flattens everything after the batch"
                )));
            }
        } else {
            let target = match self.optional_constant(site, node, 1)? {
                Some(c) => c.as_ints(),
                None => a.ints("shape").unwrap_or_default(),
            };
            let flat = matches!(target[..], [n, f] if (n == 1 || n == 0 || n == -1) && (f == -1 || f == len) && !(n == -1 && f == -1));
            if !flat {
                return Err(site.unsupported(format!(
                    "Reshape to {target:?}: convscope reshapes only to [N, -1] (flattening)"
                )));
            }
        }
        let id = if x.rank == 2 {
            x.id
        } else {
            self.add(
                site,
                self.name_for(node, index, None),
                Layer::Flatten,
                &[x.id],
            )?
        };
        self.define(
            &node.output[0],
            Runtime {
                id,
                rank: 2,
                pad: [0; 4],
                own: id != x.id,
            },
        );
        Ok(())
    }

    fn softmax(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let x = self.runtime(site, &node.input[0])?;
        let s = self.shapes[x.id];
        let axis = a.int("axis", if self.opset < 13 { 1 } else { -1 });
        let last = axis == -1 || axis == x.rank as i64 - 1;
        // Before opset 13 Softmax flattens from `axis` on, so axis 1 is over all of C x H x W.
        let whole = (x.rank == 2 && (axis == 1 || last))
            || (x.rank == 4 && axis == 1 && (self.opset < 13 || (s.h == 1 && s.w == 1)));
        if !whole {
            return Err(site.unsupported(format!(
                "axis {axis} on a rank-{} value: convscope's softmax runs over all the scores",
                x.rank
            )));
        }
        let id = self.add(
            site,
            self.name_for(node, index, None),
            Layer::Softmax,
            &[x.id],
        )?;
        self.define(&node.output[0], Runtime { id, own: true, ..x });
        Ok(())
    }

    fn concat(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let inputs: Vec<Runtime> = node
            .input
            .iter()
            .map(|i| self.runtime(site, i))
            .collect::<Result<_, _>>()?;
        let rank = inputs.first().map_or(4, |x| x.rank);
        let axis = a.int("axis", 1);
        if !(axis == 1 || axis == 1 - rank as i64) || inputs.iter().any(|x| x.rank != rank) {
            return Err(site.unsupported(format!(
                "axis {axis}: convscope concatenates along channels"
            )));
        }
        let ids: Vec<usize> = inputs.iter().map(|x| x.id).collect();
        let id = if ids.len() == 1 {
            ids[0]
        } else {
            self.add(site, self.name_for(node, index, None), Layer::Concat, &ids)?
        };
        self.define(
            &node.output[0],
            Runtime {
                id,
                rank,
                pad: [0; 4],
                own: ids.len() > 1,
            },
        );
        Ok(())
    }

    /// Pad (constant, zero) becomes padding owed to the window that reads it.
    fn pad(&mut self, node: &NodeProto, site: &Site, a: &Attrs) -> Result<(), ImportError> {
        let mode = a.string("mode").unwrap_or_else(|| "constant".into());
        let (pads, value) = if self.opset < 11 {
            (a.ints("pads").unwrap_or_default(), a.float("value", 0.0))
        } else {
            let pads = self
                .optional_constant(site, node, 1)?
                .map(|c| c.as_ints())
                .unwrap_or_default();
            let value = self
                .optional_constant(site, node, 2)?
                .and_then(|c| c.scalar())
                .unwrap_or(0.0);
            if self.optional_constant(site, node, 3)?.is_some() {
                return Err(site.unsupported("the axes input is not supported"));
            }
            (pads, value)
        };
        if mode != "constant" || value != 0.0 {
            return Err(site.unsupported(format!(
                "mode {mode} with value {value}: only zero padding folds into a window"
            )));
        }
        let x = self.padded(site, &node.input[0])?;
        let ok = pads.len() == 8
            && pads[..2] == [0, 0]
            && pads[4..6] == [0, 0]
            && pads.iter().all(|&p| p >= 0);
        if !ok || x.rank != 4 {
            return Err(site.unsupported(format!(
                "pads {pads:?}: only non-negative padding of height and width"
            )));
        }
        let [t, l, b, r] = [pads[2], pads[3], pads[6], pads[7]].map(|p| p as usize);
        let pad = [x.pad[0] + t, x.pad[1] + b, x.pad[2] + l, x.pad[3] + r];
        self.define(
            &node.output[0],
            Runtime {
                pad,
                own: false,
                ..x
            },
        );
        self.notes.push(format!(
            "`{}`: Pad folded into the window after it",
            site.node
        ));
        Ok(())
    }

    fn constant_node(
        &mut self,
        node: &NodeProto,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let value = match a.tensor("value") {
            Some(mut t) => read_tensor(&mut t)?,
            None if a.has("value_float") => super::Const {
                dims: vec![],
                data: vec![a.float("value_float", 0.0)],
                ints: None,
            },
            None if a.has("value_ints") => {
                let ints = a.ints("value_ints").unwrap_or_default();
                super::Const {
                    dims: vec![ints.len()],
                    data: ints.iter().map(|&v| v as f32).collect(),
                    ints: Some(ints),
                }
            }
            None => {
                return Err(site.unsupported(format!(
                    "attributes {:?}: only a tensor, float or ints value",
                    a.names()
                )))
            }
        };
        self.consts.insert(node.output[0].clone(), value);
        Ok(())
    }
}

fn lrn(site: &Site, a: &Attrs) -> Result<Lrn, ImportError> {
    let size = a.int("size", 0);
    if size <= 0 || size % 2 == 0 {
        return Err(site.unsupported(format!(
            "size {size}: convscope's LRN window is centred, so its size must be odd"
        )));
    }
    // ONNX divides alpha by the window size (Operators.md, LRN); convscope's `Lrn` takes the
    // paper's alpha, which is not divided.
    Ok(Lrn {
        size: size as usize,
        alpha: a.float("alpha", 1e-4) / size as f32,
        beta: a.float("beta", 0.75),
        k: a.float("bias", 1.0),
    })
}
