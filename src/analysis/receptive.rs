//! Receptive fields: which input pixels can influence a unit of each node.
//!
//! Per axis, a node's field is described by `size` (pixels), `jump` (input pixels between
//! neighbouring units, the effective stride) and `start` (the input coordinate of the first
//! pixel of unit 0's field; negative where it reaches into padding). Unit `i` then covers
//! `[start + i * jump, start + i * jump + size - 1]`.
//!
//! A window layer with kernel `k`, dilation `d`, stride `s` and leading padding `p` maps
//! `(size, jump, start)` to `(size + d(k-1) jump, jump s, start - p jump)`.
//!
//! Branching graphs: a unit of a merge node (concat, add) sees every path into it, so its
//! field is the union of its inputs' fields. The inputs of a merge share the output grid, so
//! the union of unit `i`'s fields is the interval from the smallest `start` to the largest
//! `start + size` (shifted by `i * jump`); that is what we store. The inputs' jumps agree in
//! every network built from same-grid branches; if they ever differ, the largest is kept.
//!
//! Layers that mix all positions (flatten, dense, global pooling) give a field covering the
//! whole input grid of the layer before them.

use crate::model::{Layer, Shape};
use serde::Serialize;

/// The receptive field along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Field1d {
    /// Pixels covered by one unit's field, padding included.
    pub size: i64,
    /// Input pixels between the fields of neighbouring units (the effective stride).
    pub jump: i64,
    /// Input coordinate of the first pixel of unit 0's field.
    pub start: i64,
}

impl Field1d {
    /// One input pixel.
    pub const PIXEL: Field1d = Field1d {
        size: 1,
        jump: 1,
        start: 0,
    };

    fn window(self, k: usize, dilation: usize, stride: usize, pad_before: usize) -> Field1d {
        Field1d {
            size: self.size + (dilation * (k - 1)) as i64 * self.jump,
            jump: self.jump * stride as i64,
            start: self.start - pad_before as i64 * self.jump,
        }
    }

    /// Every one of `units` positions pooled into one.
    fn whole(self, units: usize) -> Field1d {
        Field1d {
            size: self.size + (units as i64 - 1) * self.jump,
            jump: self.jump * units as i64,
            start: self.start,
        }
    }

    fn union(fields: impl Iterator<Item = Field1d>) -> Field1d {
        let mut iter = fields;
        let first = iter.next().unwrap_or(Field1d::PIXEL);
        let (mut lo, mut hi, mut jump) = (first.start, first.start + first.size, first.jump);
        for f in iter {
            lo = lo.min(f.start);
            hi = hi.max(f.start + f.size);
            jump = jump.max(f.jump);
        }
        Field1d {
            size: hi - lo,
            jump,
            start: lo,
        }
    }

    /// The input interval `[first, last]` of unit `i`, clipped to `[0, extent)`.
    pub fn clipped(self, i: usize, extent: usize) -> (usize, usize) {
        let lo = self.start + i as i64 * self.jump;
        let hi = lo + self.size - 1;
        (
            lo.clamp(0, extent as i64 - 1) as usize,
            hi.clamp(0, extent as i64 - 1) as usize,
        )
    }
}

/// Receptive field of a node, per axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReceptiveField {
    pub h: Field1d,
    pub w: Field1d,
}

impl ReceptiveField {
    pub const INPUT: ReceptiveField = ReceptiveField {
        h: Field1d::PIXEL,
        w: Field1d::PIXEL,
    };
}

/// The field of a node given its inputs' fields and shapes.
pub fn propagate(layer: &Layer, inputs: &[(ReceptiveField, Shape)]) -> ReceptiveField {
    let Some(&(f, s)) = inputs.first() else {
        return ReceptiveField::INPUT;
    };
    let window = |k: (usize, usize), st: (usize, usize), d: (usize, usize), pad: [usize; 4]| {
        ReceptiveField {
            h: f.h.window(k.0, d.0, st.0, pad[0]),
            w: f.w.window(k.1, d.1, st.1, pad[2]),
        }
    };
    match layer {
        Layer::Conv2d(c) => {
            let pad = c.pads(s.h, s.w);
            window(c.kernel, c.stride, c.dilation, pad)
        }
        Layer::PartialConv2d(p) => window((p.kernel, p.kernel), (1, 1), (1, 1), [0; 4]),
        Layer::Subsample(sub) => {
            let k = (sub.window, sub.window);
            window(k, k, (1, 1), [0; 4])
        }
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => {
            let pad = p.pads(s.h, s.w);
            window(p.kernel, p.stride, (1, 1), pad)
        }
        Layer::AdaptiveAvgPool2d(a) => {
            let (kh, sh) = adaptive_window(s.h, a.output.0);
            let (kw, sw) = adaptive_window(s.w, a.output.1);
            window((kh, kw), (sh, sw), (1, 1), [0; 4])
        }
        Layer::Flatten | Layer::GlobalAvgPool => ReceptiveField {
            h: f.h.whole(s.h),
            w: f.w.whole(s.w),
        },
        Layer::Concat | Layer::Add => ReceptiveField {
            h: Field1d::union(inputs.iter().map(|(f, _)| f.h)),
            w: Field1d::union(inputs.iter().map(|(f, _)| f.w)),
        },
        // Dense and RBF read a flat vector whose field already covers everything; the
        // element-wise and channel-wise layers keep the field.
        _ => f,
    }
}

/// The window `(k, s)` adaptive average pooling from `n` cells to `out` counts as, along one
/// axis. Exact when the input divides evenly into bins (window = stride = n / out, and the
/// identity when n == out); otherwise the widest bin and the smallest step bound every
/// cell's field.
pub fn adaptive_window(n: usize, out: usize) -> (usize, usize) {
    let widest = (0..out)
        .map(|i| {
            let (a, b) = crate::model::AdaptiveAvgPool2d::bin(i, n, out);
            b - a
        })
        .max()
        .unwrap_or(1);
    (widest.max(1), (n / out).max(1))
}
