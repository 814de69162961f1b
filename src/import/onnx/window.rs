//! Sliding windows: Conv (groups, dilations, explicit or asymmetric pads, auto_pad) and
//! MaxPool / AveragePool (ceil_mode, count_include_pad), with a Pad before them folded into
//! their padding.

use super::proto::NodeProto;
use super::tensor::Attrs;
use super::{io_in, io_out, Builder, Runtime, Site};
use crate::import::ImportError;
use crate::model::{Conv2d, Layer, Padding, Pool2d};
use crate::tensor::Tensor;

/// The largest window, stride, dilation or padding taken (as the largest input side).
pub(super) const LARGEST: i64 = 1 << 16;

/// `[a, b]` of an ONNX pair attribute (strides, dilations), `default` where absent.
fn pair(site: &Site, a: &Attrs, name: &str, default: usize) -> Result<(usize, usize), ImportError> {
    match a.ints(name).as_deref() {
        None => Ok((default, default)),
        Some(&[y, x]) if (1..=LARGEST).contains(&y) && (1..=LARGEST).contains(&x) => {
            Ok((y as usize, x as usize))
        }
        Some(v) => Err(site.unsupported(format!(
            "{name} {v:?}: convscope runs 2-D windows with sizes from 1 to 65536"
        ))),
    }
}

/// ONNX `pads` `[top, left, bottom, right]` as `[top, bottom, left, right]`.
fn pads(site: &Site, a: &Attrs) -> Result<[usize; 4], ImportError> {
    match a.ints("pads").as_deref() {
        None => Ok([0; 4]),
        Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|p| (0..=LARGEST).contains(p)) => {
            Ok([t as usize, b as usize, l as usize, r as usize])
        }
        Some(v) => {
            Err(site.unsupported(format!("pads {v:?}: four values from 0 to 65536 expected")))
        }
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
    pub(super) fn conv(
        &mut self,
        node: &NodeProto,
        index: usize,
        site: &Site,
        a: &Attrs,
    ) -> Result<(), ImportError> {
        let x = self.padded(site, io_in(node, 0))?;
        let w_name = node.input.get(1).cloned().unwrap_or_default();
        let w = self.take_constant(site, &w_name)?;
        let &[out_c, per_group, kh, kw] = &w.dims[..] else {
            return Err(site.unsupported(format!(
                "weight of shape {:?}: convscope runs 2-D convolutions (a 4-D weight)",
                w.dims
            )));
        };
        let bias = self.optional_constant(site, node, 2)?.cloned();
        if let Some(b) = bias.as_ref().filter(|b| b.len() != out_c) {
            return Err(ImportError::Graph {
                reason: format!(
                    "has Conv `{}` with {} bias values for {out_c} filters",
                    site.node,
                    b.len()
                ),
            });
        }
        let groups = a.int("group", 1).max(1) as usize;
        let in_s = self.shapes[x.id];
        if per_group.checked_mul(groups) != Some(in_s.c) {
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
            io_out(node),
            Runtime {
                id,
                rank: 4,
                pad: [0; 4],
                own: true,
            },
        );
        Ok(())
    }

    pub(super) fn pool(
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
        let x = self.padded(site, io_in(node, 0))?;
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
            io_out(node),
            Runtime {
                id,
                rank: 4,
                pad: [0; 4],
                own: true,
            },
        );
        Ok(())
    }
}
