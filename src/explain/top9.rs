//! Top-9 (Zeiler & Fergus 2013, Fig. 2): for each chosen channel of a node, the nine inputs of
//! a dataset that excite it most (one position per input, its strongest, so nine distinct
//! inputs), each as the input patch under that unit's receptive field (zero-padded where the
//! field leaves the image) beside its deconvnet projection cut to the same box.
//!
//! Inputs are added one at a time ([`Top9::add`], a fast-CPU forward pass each), so the page
//! can feed frames as they come; [`Top9::entries`] then projects the winners on the reference.

use super::{argmax, ExplainError, Explainer, Unit};
use crate::analysis::analyze;
use crate::fastcpu::FastPlan;
use crate::model::{Network, NodeId};
use crate::tensor::Tensor;
use crate::weights::Weights;
use serde::Serialize;

/// How many inputs a channel keeps.
pub const TOP: usize = 9;

/// One of a channel's top inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Top9Entry {
    pub channel: usize,
    /// The input's index in the order added.
    pub image: usize,
    /// The unit's activation.
    pub value: f32,
    /// The unit's position in the node's output.
    pub y: usize,
    pub x: usize,
    /// The receptive field's box in input coordinates: top, left (may be negative), size.
    pub top: i64,
    pub left: i64,
    pub height: usize,
    pub width: usize,
    /// The input under the box, `[C, height, width]`, zero outside the image.
    #[serde(skip)]
    pub patch: Tensor,
    /// The deconvnet projection of the unit, cut to the same box.
    #[serde(skip)]
    pub projection: Tensor,
}

/// A top-9 search over a dataset in progress.
pub struct Top9 {
    plan: FastPlan,
    node: NodeId,
    channels: Vec<usize>,
    /// Per channel: `(value, image, y, x)`, best first, at most [`TOP`].
    best: Vec<Vec<(f32, usize, usize, usize)>>,
    added: usize,
}

impl Top9 {
    /// A search over `channels` of `node` (all channels when empty) for `h x w` inputs.
    pub fn new(
        net: &Network,
        weights: &Weights,
        node: NodeId,
        channels: &[usize],
        (h, w): (usize, usize),
    ) -> Result<Self, ExplainError> {
        let plan = FastPlan::new(net, weights, h, w)?;
        let s = plan.shapes()[node];
        if let Some(&c) = channels.iter().find(|&&c| c >= s.c) {
            return Err(ExplainError::ChannelOutOfRange {
                node: net.nodes[node].name.clone(),
                channel: c,
                channels: s.c,
            });
        }
        let channels = if channels.is_empty() {
            (0..s.c).collect()
        } else {
            channels.to_vec()
        };
        Ok(Top9 {
            plan,
            node,
            best: vec![Vec::new(); channels.len()],
            channels,
            added: 0,
        })
    }

    /// The channels searched, in order.
    pub fn channels(&self) -> &[usize] {
        &self.channels
    }

    /// Inputs seen so far.
    pub fn added(&self) -> usize {
        self.added
    }

    /// Run one input (index = the number added before it) and keep it where it ranks.
    pub fn add(&mut self, input: &Tensor) -> Result<(), ExplainError> {
        self.plan.forward(input)?;
        let out = self.plan.read(self.node)?;
        let s = self.plan.shapes()[self.node];
        let plane = s.h * s.w;
        for (k, &c) in self.channels.iter().enumerate() {
            let values = &out.data[c * plane..(c + 1) * plane];
            let at = argmax(values);
            let entry = (values[at], self.added, at / s.w, at % s.w);
            let list = &mut self.best[k];
            // Ties keep the earlier input first.
            let rank = list
                .iter()
                .position(|e| entry.0 > e.0)
                .unwrap_or(list.len());
            if rank < TOP {
                list.insert(rank, entry);
                list.truncate(TOP);
            }
        }
        self.added += 1;
        Ok(())
    }

    /// The winners of channel number `k` (of [`Top9::channels`]): `(value, image, y, x)`.
    pub fn ranking(&self, k: usize) -> &[(f32, usize, usize, usize)] {
        &self.best[k]
    }

    /// Every channel's entries with patches and projections; `input(i)` gives back input
    /// `i` as added. The projections run the reference (a forward and a backward pass each).
    pub fn entries(
        &self,
        net: &Network,
        weights: &Weights,
        input: impl Fn(usize) -> Tensor,
    ) -> Result<Vec<Vec<Top9Entry>>, ExplainError> {
        if self.added == 0 {
            return Err(ExplainError::EmptyDataset);
        }
        let s0 = self.plan.shapes()[0];
        let field = analyze(net, s0.h, s0.w)
            .map_err(crate::cpu::CpuError::from)?
            .nodes[self.node]
            .receptive_field;
        let mut all = Vec::with_capacity(self.channels.len());
        for (k, &channel) in self.channels.iter().enumerate() {
            let mut list = Vec::with_capacity(TOP);
            for &(value, image, y, x) in &self.best[k] {
                let x_in = input(image);
                let explainer = Explainer::new(net, weights, &x_in)?;
                let unit = Unit {
                    node: self.node,
                    channel,
                    y,
                    x,
                };
                let projection = explainer.deconvnet(unit)?;
                let top = field.h.start + y as i64 * field.h.jump;
                let left = field.w.start + x as i64 * field.w.jump;
                let (height, width) = (field.h.size as usize, field.w.size as usize);
                let cut = |t: &Tensor| crop(t, top, left, height, width);
                list.push(Top9Entry {
                    channel,
                    image,
                    value,
                    y,
                    x,
                    top,
                    left,
                    height,
                    width,
                    patch: cut(&x_in),
                    projection: cut(&projection),
                });
            }
            all.push(list);
        }
        Ok(all)
    }
}

/// The `height x width` box of `t` (`[C, H, W]`) at `(top, left)`, zero outside `t`.
pub fn crop(t: &Tensor, top: i64, left: i64, height: usize, width: usize) -> Tensor {
    let (c, h, w) = (t.shape[0], t.shape[1], t.shape[2]);
    let mut out = vec![0.0; c * height * width];
    for ch in 0..c {
        for y in 0..height {
            let sy = top + y as i64;
            if sy < 0 || sy >= h as i64 {
                continue;
            }
            for x in 0..width {
                let sx = left + x as i64;
                if sx >= 0 && sx < w as i64 {
                    out[(ch * height + y) * width + x] =
                        t.data[(ch * h + sy as usize) * w + sx as usize];
                }
            }
        }
    }
    Tensor::new(vec![c, height, width], out)
}
