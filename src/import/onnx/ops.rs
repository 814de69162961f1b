//! ONNX operators onto convscope's layers: the dispatch by operator, and the operators without
//! weights (activations, LRN, Dropout, Flatten/Reshape, Softmax, Concat, Pad, Constant). Attribute
//! defaults follow the ONNX operator specification of each opset (onnx/docs/Operators.md).

use super::proto::NodeProto;
use super::tensor::{read_tensor, Attrs};
use super::{io_in, io_out, Builder, Runtime, Site};
use crate::import::ImportError;
use crate::model::{Activation, Dropout, Layer, Lrn};

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
            "LeakyRelu" => activation(leaky_relu(site, &a)?),
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
            "PRelu" | "Elu" | "Selu" => Err(site.unsupported(
                "convscope's activations are ReLU, ReLU6, leaky ReLU, sigmoid and tanh; it has no learned or exponential ReLU",
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

    /// Flatten (axis 0 or 1) and Reshape to `[N, -1]`: a flatten layer, or nothing when the
    /// value is already flat.
    fn flatten(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let x = self.runtime(site, io_in(node, 0))?;
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
            io_out(node),
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
        let x = self.runtime(site, io_in(node, 0))?;
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
        self.define(io_out(node), Runtime { id, own: true, ..x });
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
            io_out(node),
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
        let x = self.padded(site, io_in(node, 0))?;
        let ok = pads.len() == 8
            && pads[..2] == [0, 0]
            && pads[4..6] == [0, 0]
            && pads
                .iter()
                .all(|p| (0..=super::window::LARGEST).contains(p));
        if !ok || x.rank != 4 {
            return Err(site.unsupported(format!(
                "pads {pads:?}: only padding of height and width, from 0 to 65536"
            )));
        }
        let [t, l, b, r] = [pads[2], pads[3], pads[6], pads[7]].map(|p| p as usize);
        let pad = [x.pad[0] + t, x.pad[1] + b, x.pad[2] + l, x.pad[3] + r];
        self.define(
            io_out(node),
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
        self.consts.insert(io_out(node).to_string(), value);
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

/// LeakyRelu: attribute `alpha`, default 0.01, the same from opset 6 to 18 (16 only added
/// bfloat16). A negative alpha is refused: the backward passes read the slope from the sign
/// of the output, which only a slope `>= 0` keeps equal to the input's.
fn leaky_relu(site: &Site, a: &Attrs) -> Result<Activation, ImportError> {
    let alpha = a.float("alpha", 0.01);
    if alpha.is_nan() || alpha < 0.0 {
        return Err(site.unsupported(format!(
            "alpha {alpha}: convscope's leaky ReLU takes a slope alpha >= 0"
        )));
    }
    Ok(Activation::LeakyRelu { alpha })
}
