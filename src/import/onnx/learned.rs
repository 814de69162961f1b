//! Layers with learned parameters besides convolutions: BatchNormalization, and Gemm / MatMul
//! as a dense layer with PyTorch's `[out, in]` weight.

use super::proto::NodeProto;
use super::tensor::Attrs;
use super::{io_in, io_out, Builder, Runtime, Site};
use crate::import::ImportError;
use crate::model::{BatchNorm, Dense, Layer};
use crate::tensor::Tensor;

impl Builder {
    pub(super) fn batchnorm(
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
        let x = self.runtime(site, io_in(node, 0))?;
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
        let scale_name = io_in(node, 1).to_string();
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
        self.define(io_out(node), Runtime { id, own: true, ..x });
        Ok(())
    }

    /// Gemm (`alpha * A B' + beta * C`) and MatMul with a constant right-hand side, as a dense
    /// layer with the PyTorch `[out, in]` weight.
    pub(super) fn dense(
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
        let x = self.runtime(site, io_in(node, 0))?;
        let w_name = node.input.get(1).cloned().unwrap_or_default();
        let w = self.take_constant(site, &w_name)?;
        let &[rows, cols] = &w.dims[..] else {
            return Err(site.unsupported(format!(
                "weight of shape {:?}: a matrix is expected",
                w.dims
            )));
        };
        let trans_b = gemm && a.int("transB", 0) != 0;
        let (out_f, in_f) = if trans_b { (rows, cols) } else { (cols, rows) };
        let alpha = if gemm { a.float("alpha", 1.0) } else { 1.0 };
        // PyTorch's exports are already `[out, in]` (transB=1): moved, not copied.
        let weight = if trans_b {
            let mut data = w.data;
            if alpha != 1.0 {
                data.iter_mut().for_each(|v| *v *= alpha);
            }
            data
        } else {
            let mut weight = vec![0.0; out_f * in_f];
            for o in 0..out_f {
                for i in 0..in_f {
                    weight[o * in_f + i] = alpha * w.data[i * out_f + o];
                }
            }
            weight
        };
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
            io_out(node),
            Runtime {
                id,
                rank: 2,
                pad: [0; 4],
                own: true,
            },
        );
        Ok(())
    }
}
