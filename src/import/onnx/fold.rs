//! Element-wise arithmetic: Add/Sum of two activations is a residual `Add` layer; Add, Sub,
//! Mul and Div by a constant (a scalar, or one value per channel) fold into the convolution or
//! dense layer that made the value (its weights and bias rescaled and shifted), or else become
//! a per-channel scale-and-shift, written as a BatchNorm with mean 0 and variance 1.

use super::proto::NodeProto;
use super::tensor::Const;
use super::{io_in, io_out, Builder, Runtime, Site};
use crate::import::ImportError;
use crate::model::{BatchNorm, Layer};
use crate::tensor::Tensor;

impl Builder {
    pub(super) fn arithmetic(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
    ) -> Result<(), ImportError> {
        let op = node.op_type.as_str();
        let constant: Vec<bool> = node
            .input
            .iter()
            .map(|i| self.consts.contains_key(i))
            .collect();
        match (op, &constant[..]) {
            ("Add" | "Sum", c) if c.len() >= 2 && c.iter().all(|k| !k) => {
                let inputs: Vec<Runtime> = node
                    .input
                    .iter()
                    .map(|i| self.runtime(site, i))
                    .collect::<Result<_, _>>()?;
                let ids: Vec<usize> = inputs.iter().map(|x| x.id).collect();
                let name = self.name_for(node, index, None);
                let id = self.add(site, name, Layer::Add, &ids)?;
                let rank = inputs[0].rank;
                let value = Runtime {
                    id,
                    rank,
                    pad: [0; 4],
                    own: true,
                };
                self.define(io_out(node), value);
                Ok(())
            }
            ("Sum", [false]) => {
                let x = self.runtime(site, io_in(node, 0))?;
                self.define(io_out(node), Runtime { own: false, ..x });
                Ok(())
            }
            (_, &[x_const, c_const]) if x_const != c_const => {
                let (x_name, c_name) = match x_const {
                    false => (io_in(node, 0), io_in(node, 1)),
                    true => (io_in(node, 1), io_in(node, 0)),
                };
                let x = self.runtime(site, x_name)?;
                let c = self.constant(site, c_name)?;
                let per_channel = self.per_channel(site, x, c)?;
                let (scale, shift) = match (op, x_const) {
                    ("Add", _) => (vec![1.0; per_channel.len()], per_channel),
                    ("Sub", false) => (
                        vec![1.0; per_channel.len()],
                        per_channel.iter().map(|v| -v).collect(),
                    ),
                    ("Sub", true) => (vec![-1.0; per_channel.len()], per_channel),
                    ("Mul", _) => (per_channel.clone(), vec![0.0; per_channel.len()]),
                    ("Div", false) => (
                        per_channel.iter().map(|v| 1.0 / v).collect(),
                        vec![0.0; per_channel.len()],
                    ),
                    _ => {
                        return Err(site
                            .unsupported("only a constant divisor folds (x / c); c / x does not"))
                    }
                };
                self.affine(node, index, site, x, x_name, scale, shift)
            }
            _ => Err(site.unsupported(
                "convscope adds two or more activations, or folds arithmetic with one constant",
            )),
        }
    }

    /// The constant `c` as one value per channel of `x`: a scalar, or a tensor laid along
    /// the channel axis (`[1, C, 1, 1]`, `[C, 1, 1]`; `[C]` or `[1, C]` for a flat value).
    fn per_channel(&self, site: &Site, x: Runtime, c: &Const) -> Result<Vec<f32>, ImportError> {
        let channels = self.shapes[x.id].c;
        if let Some(v) = c.scalar() {
            return Ok(vec![v; channels]);
        }
        let mut dims: Vec<usize> = c.dims.clone();
        while dims.len() < x.rank {
            dims.insert(0, 1);
        }
        let along_channels = dims.len() == x.rank
            && dims[0] == 1
            && dims[1] == channels
            && dims[2..].iter().all(|&d| d == 1);
        if !along_channels {
            return Err(site.unsupported(format!(
                "a constant of shape {:?} does not lie along the channels of a {}-channel value",
                c.dims, channels
            )));
        }
        Ok(c.data.clone())
    }

    /// `x * scale + shift` per channel: folded into the convolution or dense layer that
    /// made `x` when nothing else reads it, else a BatchNorm-shaped layer of its own.
    // The operands of one fold; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn affine(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        x: Runtime,
        x_name: &str,
        scale: Vec<f32>,
        shift: Vec<f32>,
    ) -> Result<(), ImportError> {
        let out = io_out(node);
        if x.own && self.uses(x_name) == 1 && self.fold_into(x.id, &scale, &shift) {
            self.define(out, x);
            return Ok(());
        }
        let channels = scale.len();
        let name = self.name_for(node, index, None);
        let layer = Layer::BatchNorm(BatchNorm { channels, eps: 0.0 });
        let id = self.add(site, name.clone(), layer, &[x.id])?;
        let tensors = [
            ("weight", scale),
            ("bias", shift),
            ("running_mean", vec![0.0; channels]),
            ("running_var", vec![1.0; channels]),
        ];
        for (suffix, data) in tensors {
            self.weights.insert(
                format!("{name}.{suffix}"),
                Tensor::new(vec![channels], data),
            );
        }
        self.notes.push(format!(
            "`{}` ({}) with a constant became `{name}`, a per-channel scale and shift (a BatchNorm with mean 0, variance 1)",
            site.node, site.op
        ));
        self.define(out, Runtime { id, own: true, ..x });
        Ok(())
    }

    /// Scale and shift node `id`'s output channels through its weights, if it is a
    /// convolution or a dense layer; `false` for any other node.
    fn fold_into(&mut self, id: usize, scale: &[f32], shift: &[f32]) -> bool {
        let name = self.net.nodes[id].name.clone();
        let has_bias = match &mut self.net.nodes[id].layer {
            Layer::Conv2d(c) => std::mem::replace(&mut c.bias, true),
            Layer::Dense(d) => std::mem::replace(&mut d.bias, true),
            _ => return false,
        };
        let outputs = scale.len();
        if let Some(w) = self.weights.get_mut(&format!("{name}.weight")) {
            let per = w.data.len() / outputs.max(1);
            for (o, chunk) in w.data.chunks_mut(per.max(1)).enumerate() {
                chunk.iter_mut().for_each(|v| *v *= scale[o]);
            }
        }
        let bias_name = format!("{name}.bias");
        let bias = self
            .weights
            .entry(bias_name)
            .or_insert_with(|| Tensor::zeros(vec![outputs]));
        debug_assert!(has_bias || bias.data.iter().all(|&b| b == 0.0));
        for (o, b) in bias.data.iter_mut().enumerate() {
            *b = *b * scale[o] + shift[o];
        }
        true
    }
}
