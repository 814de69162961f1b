//! The output-size lines: channels, then height and width by the rule the layer uses
//! (floor, PyTorch's `ceil_mode`, TensorFlow's SAME, or a shape rule of its own).

use super::{line, num, per_axis, AxisLine, Line};
use crate::model::{Layer, Padding, Shape};

/// A sliding window along one axis: input length, window, dilation, stride and the padding
/// the one padding rule (`Conv2d::pads`, `Pool2d::pads`) resolved.
struct Window {
    input: usize,
    k: usize,
    dilation: usize,
    stride: usize,
    pad: (usize, usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rounding {
    Floor,
    Ceil,
    Same,
}

impl Window {
    /// The window's extent once dilated, and how it is written.
    fn span(&self) -> (usize, String) {
        let f = self.dilation * (self.k - 1) + 1;
        if self.dilation == 1 {
            (f, String::new())
        } else {
            (
                f,
                format!("F = {} * ({} - 1) + 1 = {f}; ", self.dilation, self.k),
            )
        }
    }

    fn padding_text(&self) -> String {
        match self.pad {
            (0, 0) => String::new(),
            (a, b) => format!(" + {a} + {b}"),
        }
    }

    fn line(&self, rounding: Rounding) -> AxisLine {
        let (f, span_text) = self.span();
        let (w, s) = (self.input, self.stride);
        let p = self.pad.0 + self.pad.1;
        let floor_value = ((w + p).saturating_sub(f) / s + 1) as i64;
        match rounding {
            Rounding::Floor => AxisLine {
                rule: "floor".into(),
                formula: "N = floor((W + P - F) / S) + 1".into(),
                filled: format!("{span_text}floor(({}{} - {f}) / {s}) + 1", num(w), self.padding_text()),
                value: floor_value,
            },
            Rounding::Same => AxisLine {
                rule: "TensorFlow SAME".into(),
                formula: "P = max((ceil(W / S) - 1) * S + F - W, 0), the odd pixel after; N = floor((W + P - F) / S) + 1 = ceil(W / S)".into(),
                filled: format!(
                    "{span_text}P = max(({} - 1) * {s} + {f} - {}, 0) = {p} ({} before, {} after); floor(({}{} - {f}) / {s}) + 1",
                    num(w.div_ceil(s)), num(w), self.pad.0, self.pad.1, num(w), self.padding_text()
                ),
                value: floor_value,
            },
            Rounding::Ceil => {
                let up = (w + p + s - 1).saturating_sub(f) / s + 1;
                // PyTorch: a last window starting past the input and its leading padding is dropped.
                let dropped = (up - 1) * s >= w + self.pad.0;
                let value = if dropped { up - 1 } else { up } as i64;
                let note = if dropped { ", less 1: the last window would start in the trailing padding" } else { "" };
                AxisLine {
                    rule: "PyTorch ceil_mode".into(),
                    formula: "N = ceil((W + P - F) / S) + 1, less 1 if the last window would start past the input and its leading padding".into(),
                    filled: format!("{span_text}ceil(({}{} - {f}) / {s}) + 1{note}", num(w), self.padding_text()),
                    value,
                }
            }
        }
    }
}

fn keep(value: usize, what: &str) -> AxisLine {
    AxisLine {
        rule: "unchanged".into(),
        formula: format!("N = N_in ({what})"),
        filled: num(value),
        value: value as i64,
    }
}

fn fixed(value: usize, rule: &str, formula: &str) -> AxisLine {
    AxisLine {
        rule: rule.into(),
        formula: formula.into(),
        filled: num(value),
        value: value as i64,
    }
}

/// Height and width of a window layer on `s`: `(k, dilation, stride)` per axis.
fn windows(
    s: Shape,
    k: (usize, usize),
    dilation: (usize, usize),
    stride: (usize, usize),
    pads: [usize; 4],
    rounding: Rounding,
) -> Vec<Line> {
    let axis = |input, k, d, st, pad| {
        Window {
            input,
            k,
            dilation: d,
            stride: st,
            pad,
        }
        .line(rounding)
    };
    let h = axis(s.h, k.0, dilation.0, stride.0, (pads[0], pads[1]));
    let w = axis(s.w, k.1, dilation.1, stride.1, (pads[2], pads[3]));
    per_axis(["out_h", "out_w"], "output size", h, w)
}

fn rounding(padding: &Padding, ceil: bool) -> Rounding {
    match (padding, ceil) {
        (Padding::Same, _) => Rounding::Same,
        (_, true) => Rounding::Ceil,
        _ => Rounding::Floor,
    }
}

fn channels(rule: &str, formula: &str, filled: String, value: usize) -> Line {
    line(
        &["out_c"],
        "output channels",
        rule,
        formula,
        filled,
        value as i64,
    )
}

/// The line giving `out_c` of `layer` on inputs `ins` (`input`: the network input).
fn channel_line(layer: &Layer, ins: &[Shape], input: Shape) -> Line {
    let s = ins.first().copied().unwrap_or(input);
    match layer {
        Layer::Input { .. } => channels("the image", "C", num(input.c), input.c),
        Layer::Conv2d(c) => channels(
            "one map per filter",
            "C = C_out",
            num(c.out_channels),
            c.out_channels,
        ),
        Layer::PartialConv2d(p) => {
            let n = p.table.len();
            channels(
                "one map per row of the connection table",
                "C = rows",
                num(n),
                n,
            )
        }
        Layer::Flatten => {
            let filled = format!("{} * {} * {}", num(s.c), num(s.h), num(s.w));
            channels(
                "every value in one vector",
                "C = C_in * H_in * W_in",
                filled,
                s.c * s.h * s.w,
            )
        }
        Layer::Dense(d) => channels(
            "one value per output",
            "C = out",
            num(d.out_features),
            d.out_features,
        ),
        Layer::Rbf(r) => channels(
            "one distance per class",
            "C = out",
            num(r.outputs),
            r.outputs,
        ),
        Layer::Concat => {
            let parts: Vec<String> = ins.iter().map(|i| num(i.c)).collect();
            let sum = ins.iter().map(|i| i.c).sum();
            channels(
                "concatenation along channels",
                "C = C_1 + C_2 + ...",
                parts.join(" + "),
                sum,
            )
        }
        Layer::Add => channels(
            "element-wise sum: all inputs share one shape",
            "C = C_in",
            num(s.c),
            s.c,
        ),
        _ => channels("unchanged", "C = C_in", num(s.c), s.c),
    }
}

/// The lines giving `out_h` and `out_w` of `layer` on input `s` (`input`: the network input).
fn size_lines(layer: &Layer, s: Shape, input: Shape) -> Vec<Line> {
    let both = |h, w| per_axis(["out_h", "out_w"], "output size", h, w);
    let kept = |what: &str| both(keep(s.h, what), keep(s.w, what));
    let flat = |what: &str| both(fixed(1, what, "N = 1"), fixed(1, what, "N = 1"));
    match layer {
        Layer::Input { .. } => {
            let f = |v| fixed(v, "the image, resized and cropped for the network", "N");
            both(f(input.h), f(input.w))
        }
        Layer::Conv2d(c) => {
            let r = rounding(&c.padding, false);
            windows(s, c.kernel, c.dilation, c.stride, c.pads(s.h, s.w), r)
        }
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => {
            let r = rounding(&p.padding, p.ceil_mode);
            windows(s, p.kernel, (1, 1), p.stride, p.pads(s.h, s.w), r)
        }
        Layer::PartialConv2d(p) => windows(
            s,
            (p.kernel, p.kernel),
            (1, 1),
            (1, 1),
            [0; 4],
            Rounding::Floor,
        ),
        Layer::Subsample(sub) => {
            let k = (sub.window, sub.window);
            windows(s, k, (1, 1), k, [0; 4], Rounding::Floor)
        }
        Layer::AdaptiveAvgPool2d(a) => {
            let f = |v| {
                fixed(
                    v,
                    "adaptive pooling: the output size is fixed",
                    "N = output size",
                )
            };
            both(f(a.output.0), f(a.output.1))
        }
        Layer::GlobalAvgPool => flat("the mean over H x W per channel"),
        Layer::Flatten | Layer::Dense(_) | Layer::Rbf(_) => flat("a vector"),
        Layer::Concat => kept("the inputs share H x W"),
        Layer::Add => kept("the inputs share one shape"),
        _ => kept("an element-wise or per-channel layer"),
    }
}

/// The lines giving `out_c`, `out_h` and `out_w` of `layer` on inputs `ins`; `input` is
/// the network input (for the input node).
pub(super) fn output_lines(layer: &Layer, ins: &[Shape], input: Shape) -> Vec<Line> {
    let s = ins.first().copied().unwrap_or(input);
    let mut lines = vec![channel_line(layer, ins, input)];
    lines.extend(size_lines(layer, s, input));
    lines
}
