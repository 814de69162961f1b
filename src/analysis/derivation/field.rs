//! The receptive-field lines: per axis, the field's size `r` and jump `j` from the inputs'
//! (`r = r_prev + d(k - 1) * j_prev`, `j = j_prev * s` for a window; the union at a merge).

use super::{num, per_axis, AxisLine, Line};
use crate::analysis::{adaptive_window, Field1d, ReceptiveField};
use crate::model::{Layer, Shape};

/// How a layer maps its input's field along one axis.
enum Step {
    /// A window of `k` (dilation `d`) moving by `s`.
    Window { k: usize, d: usize, s: usize },
    /// Every one of `n` units pooled into one.
    Whole { n: usize },
    /// The union of the inputs' fields.
    Union,
    /// One pixel: the network input.
    Pixel,
    /// The field passes through.
    Same,
}

fn step(layer: &Layer, s: Shape) -> [Step; 2] {
    let window = |k: (usize, usize), d: (usize, usize), st: (usize, usize)| {
        [
            Step::Window {
                k: k.0,
                d: d.0,
                s: st.0,
            },
            Step::Window {
                k: k.1,
                d: d.1,
                s: st.1,
            },
        ]
    };
    match layer {
        Layer::Input { .. } => [Step::Pixel, Step::Pixel],
        Layer::Conv2d(c) => window(c.kernel, c.dilation, c.stride),
        Layer::PartialConv2d(p) => window((p.kernel, p.kernel), (1, 1), (1, 1)),
        Layer::Subsample(sub) => window((sub.window, sub.window), (1, 1), (sub.window, sub.window)),
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => window(p.kernel, (1, 1), p.stride),
        Layer::AdaptiveAvgPool2d(a) => {
            let (kh, sh) = adaptive_window(s.h, a.output.0);
            let (kw, sw) = adaptive_window(s.w, a.output.1);
            window((kh, kw), (1, 1), (sh, sw))
        }
        Layer::Flatten | Layer::GlobalAvgPool => [Step::Whole { n: s.h }, Step::Whole { n: s.w }],
        Layer::Concat | Layer::Add => [Step::Union, Step::Union],
        _ => [Step::Same, Step::Same],
    }
}

/// The size and jump lines of one axis, from the inputs' fields along it.
fn axis(step: &Step, ins: &[Field1d]) -> (AxisLine, AxisLine) {
    let prev = ins.first().copied().unwrap_or(Field1d::PIXEL);
    let (r, j) = (prev.size, prev.jump);
    let make = |rule: &str, formula: &str, filled: String, value: i64| AxisLine {
        rule: rule.into(),
        formula: formula.into(),
        filled,
        value,
    };
    match *step {
        Step::Pixel => (
            make("one input pixel", "r = 1", "1".into(), 1),
            make("one input pixel", "j = 1", "1".into(), 1),
        ),
        Step::Window { k, d, s } => {
            let (rule, formula, dk) = if d == 1 {
                (
                    "window",
                    "r = r_prev + (k - 1) * j_prev",
                    format!("({k} - 1)"),
                )
            } else {
                (
                    "dilated window",
                    "r = r_prev + d(k - 1) * j_prev",
                    format!("{d} * ({k} - 1)"),
                )
            };
            let size = r + (d * (k - 1)) as i64 * j;
            (
                make(
                    rule,
                    formula,
                    format!("{} + {dk} * {}", num(r), num(j)),
                    size,
                ),
                make(
                    rule,
                    "j = j_prev * s",
                    format!("{} * {s}", num(j)),
                    j * s as i64,
                ),
            )
        }
        Step::Whole { n } => (
            make(
                "every unit pooled into one",
                "r = r_prev + (n - 1) * j_prev",
                format!("{} + ({n} - 1) * {}", num(r), num(j)),
                r + (n as i64 - 1) * j,
            ),
            make(
                "every unit pooled into one",
                "j = j_prev * n",
                format!("{} * {n}", num(j)),
                j * n as i64,
            ),
        ),
        Step::Union => union(ins),
        Step::Same => (
            make("unchanged", "r = r_prev", num(r), r),
            make("unchanged", "j = j_prev", num(j), j),
        ),
    }
}

/// The union of the inputs' fields at a merge: from the first pixel any of them starts at to
/// the last any of them reaches.
fn union(ins: &[Field1d]) -> (AxisLine, AxisLine) {
    let ends: Vec<String> = ins
        .iter()
        .map(|f| format!("{} + {}", num(f.start), num(f.size)))
        .collect();
    let starts: Vec<String> = ins.iter().map(|f| num(f.start)).collect();
    let jumps: Vec<String> = ins.iter().map(|f| num(f.jump)).collect();
    let hi = ins.iter().map(|f| f.start + f.size).max().unwrap_or(1);
    let lo = ins.iter().map(|f| f.start).min().unwrap_or(0);
    let rule = "union at a merge".to_string();
    (
        AxisLine {
            rule: rule.clone(),
            formula: "r = max(start_i + r_i) - min(start_i), start_i the first input pixel of input i's field".into(),
            filled: format!("max({}) - min({})", ends.join(", "), starts.join(", ")),
            value: hi - lo,
        },
        AxisLine {
            rule,
            formula: "j = max(j_i)".into(),
            filled: format!("max({})", jumps.join(", ")),
            value: ins.iter().map(|f| f.jump).max().unwrap_or(1),
        },
    )
}

/// The receptive-field lines of `layer` whose inputs have `ins` (field and shape each).
pub(super) fn field_lines(layer: &Layer, ins: &[(ReceptiveField, Shape)]) -> Vec<Line> {
    let s = ins.first().map_or(Shape::new(0, 1, 1), |(_, s)| *s);
    let [step_h, step_w] = step(layer, s);
    let hs: Vec<Field1d> = ins.iter().map(|(f, _)| f.h).collect();
    let ws: Vec<Field1d> = ins.iter().map(|(f, _)| f.w).collect();
    let (size_h, jump_h) = axis(&step_h, &hs);
    let (size_w, jump_w) = axis(&step_w, &ws);
    let mut lines = per_axis(
        ["rf_size_h", "rf_size_w"],
        "receptive field size r (input pixels)",
        size_h,
        size_w,
    );
    lines.extend(per_axis(
        ["rf_jump_h", "rf_jump_w"],
        "receptive field jump j (input pixels between units)",
        jump_h,
        jump_w,
    ));
    lines
}
