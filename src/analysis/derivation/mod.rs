//! "How is this computed": one node's numbers, each with the rule that gives it, the formula
//! in symbols and the formula with the node's numbers filled in.
//!
//! Each value is computed here again from the numbers its filled formula shows (the operands
//! come from the layer's config, the padding rule `Conv2d::pads` / `Pool2d::pads` and the
//! inputs' analysis), not copied from [`super::analyze`]'s result for the node, so a test can
//! check that both routes agree for every node of every zoo model. The page renders these
//! lines as they are.

mod field;
mod size;

use super::{flops, Analysis, BYTES_PER_VALUE, FLOPS_PER_MAC};
use crate::model::{Conv2d, Layer, Network, NodeId, Shape};
use serde::Serialize;

/// One computed number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// What the line gives: `out_c`, `out_h`, `out_w`, `params`, `buffers`, `macs`, `flops`,
    /// `activation_bytes`, `rf_size_h`, `rf_size_w`, `rf_jump_h`, `rf_jump_w`; one line
    /// gives both axes' keys when their formulas agree.
    pub keys: Vec<&'static str>,
    /// What it is called on the page ("output height and width").
    pub quantity: String,
    /// The rule's name ("floor", "PyTorch ceil_mode", "TensorFlow SAME", "union at a merge").
    pub rule: String,
    /// The formula in symbols.
    pub formula: String,
    /// The formula with this node's numbers, ending in `= value`.
    pub filled: String,
    pub value: i64,
}

/// How each of one node's numbers comes about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Derivation {
    pub node: String,
    pub kind: &'static str,
    pub inputs: Vec<String>,
    pub lines: Vec<Line>,
}

impl Derivation {
    /// The value of `key` (`"out_h"`, `"params"`, ...), if a line gives it.
    pub fn value(&self, key: &str) -> Option<i64> {
        self.lines
            .iter()
            .find(|l| l.keys.contains(&key))
            .map(|l| l.value)
    }
}

/// `1234567` as `1,234,567`.
pub fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::from(if n < 0 { "-" } else { "" });
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A number as the filled formulas write it (negative ones in brackets).
fn num(n: impl TryInto<i64>) -> String {
    let n: i64 = n.try_into().unwrap_or(i64::MAX);
    if n < 0 {
        format!("({})", group_digits(n))
    } else {
        group_digits(n)
    }
}

fn line(
    keys: &[&'static str],
    quantity: &str,
    rule: &str,
    formula: &str,
    filled: String,
    value: i64,
) -> Line {
    Line {
        keys: keys.to_vec(),
        quantity: quantity.into(),
        rule: rule.into(),
        formula: formula.into(),
        filled: format!("{filled} = {}", num(value)),
        value,
    }
}

/// One axis's line as the explanation's parts compute it, before it is named for h or w.
struct AxisLine {
    rule: String,
    formula: String,
    filled: String,
    value: i64,
}

/// The two axes' lines: one line with both keys when they read the same, else one each.
fn per_axis(keys: [&'static str; 2], quantity: &str, h: AxisLine, w: AxisLine) -> Vec<Line> {
    if h.filled == w.filled && h.value == w.value && h.rule == w.rule {
        let both = format!("{quantity} (height and width)");
        return vec![line(&keys, &both, &h.rule, &h.formula, h.filled, h.value)];
    }
    [(keys[0], "height", h), (keys[1], "width", w)]
        .into_iter()
        .map(|(k, axis, a)| {
            line(
                &[k],
                &format!("{quantity} ({axis})"),
                &a.rule,
                &a.formula,
                a.filled,
                a.value,
            )
        })
        .collect()
}

/// Explain node `id` of `net`, whose analysis (at the input size the numbers are for) is
/// `analysis`.
pub fn derivation(net: &Network, analysis: &Analysis, id: NodeId) -> Derivation {
    let node = &net.nodes[id];
    let ins: Vec<Shape> = node
        .inputs
        .iter()
        .map(|&i| analysis.nodes[i].output_shape)
        .collect();
    let fields: Vec<_> = node
        .inputs
        .iter()
        .map(|&i| {
            (
                analysis.nodes[i].receptive_field,
                analysis.nodes[i].output_shape,
            )
        })
        .collect();
    let mut lines = size::output_lines(&node.layer, &ins, analysis.input);
    let out = Shape::new(
        value_of(&lines, "out_c"),
        value_of(&lines, "out_h"),
        value_of(&lines, "out_w"),
    );
    lines.extend(param_lines(&node.layer));
    let macs = macs_line(&node.layer, out);
    let mac_count = macs.value;
    lines.push(macs);
    lines.push(line(
        &["flops"],
        "FLOPs",
        "a multiply-accumulate is a multiply and an add",
        &format!("FLOPs = {FLOPS_PER_MAC} x MACs"),
        format!("{FLOPS_PER_MAC} x {}", num(mac_count)),
        flops(mac_count as u64) as i64,
    ));
    lines.push(line(
        &["activation_bytes"],
        "activation memory",
        "f32 output kept",
        &format!("C x H x W x {BYTES_PER_VALUE} bytes"),
        format!(
            "{} x {} x {} x {BYTES_PER_VALUE}",
            num(out.c),
            num(out.h),
            num(out.w)
        ),
        (out.c * out.h * out.w) as i64 * BYTES_PER_VALUE as i64,
    ));
    lines.extend(field::field_lines(&node.layer, &fields));
    Derivation {
        node: node.name.clone(),
        kind: node.layer.kind(),
        inputs: analysis.nodes[id].inputs.clone(),
        lines,
    }
}

fn value_of(lines: &[Line], key: &str) -> usize {
    lines
        .iter()
        .find(|l| l.keys.contains(&key))
        .map_or(0, |l| l.value.max(0) as usize)
}

/// `k_h * k_w`, or `k * k` written once when square.
fn kernel_terms(kernel: (usize, usize)) -> (&'static str, String) {
    if kernel.0 == kernel.1 {
        ("k * k", format!("{} * {}", kernel.0, kernel.1))
    } else {
        ("k_h * k_w", format!("{} * {}", kernel.0, kernel.1))
    }
}

fn conv_params(c: &Conv2d) -> Line {
    let (k, kv) = kernel_terms(c.kernel);
    let per_filter = (c.kernel.0 * c.kernel.1 * (c.in_channels / c.groups)) as i64;
    let (bias, bias_v, rule) = if c.bias {
        (
            " + 1",
            " + 1",
            "convolution: a kernel per filter and input channel of its group, and a bias",
        )
    } else {
        (
            "",
            "",
            "convolution without bias: a kernel per filter and input channel of its group",
        )
    };
    line(
        &["params"],
        "parameters",
        rule,
        &format!("({k} * C_in / groups{bias}) * C_out"),
        format!(
            "({kv} * {} / {}{bias_v}) * {}",
            num(c.in_channels),
            c.groups,
            num(c.out_channels)
        ),
        (per_filter + i64::from(c.bias)) * c.out_channels as i64,
    )
}

fn param_lines(layer: &Layer) -> Vec<Line> {
    let p = |rule: &str, formula: &str, filled: String, value: usize| {
        line(
            &["params"],
            "parameters",
            rule,
            formula,
            filled,
            value as i64,
        )
    };
    match layer {
        Layer::Conv2d(c) => vec![conv_params(c)],
        Layer::Dense(d) => {
            let (b, rule) = if d.bias {
                (" + 1", "dense: a weight per input and a bias, per output")
            } else {
                ("", "dense without bias")
            };
            vec![p(
                rule,
                &format!("(in{b}) * out"),
                format!("({}{b}) * {}", num(d.in_features), num(d.out_features)),
                (d.in_features + usize::from(d.bias)) * d.out_features,
            )]
        }
        Layer::BatchNorm(b) => vec![
            p(
                "BatchNorm: a learned scale and shift per channel",
                "2C (γ, β)",
                format!("2 * {}", num(b.channels)),
                2 * b.channels,
            ),
            line(
                &["buffers"],
                "running statistics (not trained)",
                "BatchNorm: a running mean and variance per channel",
                "2C (mean, variance)",
                format!("2 * {}", num(b.channels)),
                2 * b.channels as i64,
            ),
        ],
        Layer::PartialConv2d(pc) => vec![p(
            "LeNet-5 C3: a kernel per connection of the table and a bias per map",
            "connections * k * k + maps",
            format!(
                "{} * {} * {} + {}",
                pc.connections(),
                pc.kernel,
                pc.kernel,
                pc.table.len()
            ),
            pc.connections() * pc.kernel * pc.kernel + pc.table.len(),
        )],
        Layer::Subsample(s) => vec![p(
            "LeNet-5 subsampling: a coefficient and a bias per map",
            "2C",
            format!("2 * {}", s.channels),
            2 * s.channels,
        )],
        Layer::Rbf(r) => vec![p(
            "LeNet-5 RBF: a centre of every input per output, no bias",
            "in * out",
            format!("{} * {}", r.in_features, r.outputs),
            r.in_features * r.outputs,
        )],
        _ => vec![p("no learned weights", "0", "0".into(), 0)],
    }
}

fn macs_line(layer: &Layer, out: Shape) -> Line {
    let m = |rule: &str, formula: &str, filled: String, value: usize| {
        line(
            &["macs"],
            "MACs (multiply-accumulates per image)",
            rule,
            formula,
            filled,
            value as i64,
        )
    };
    let spatial = format!("{} * {} * {}", num(out.h), num(out.w), num(out.c));
    match layer {
        Layer::Conv2d(c) => {
            let (k, kv) = kernel_terms(c.kernel);
            m(
                "every output value sums its window over its group's input channels",
                &format!("H_out * W_out * C_out * ({k} * C_in / groups)"),
                format!("{spatial} * ({kv} * {} / {})", num(c.in_channels), c.groups),
                out.len() * (c.kernel.0 * c.kernel.1 * (c.in_channels / c.groups)),
            )
        }
        Layer::PartialConv2d(p) => m(
            "every position of every map sums its table's input windows",
            "H_out * W_out * connections * k * k",
            format!(
                "{} * {} * {} * {} * {}",
                out.h,
                out.w,
                p.connections(),
                p.kernel,
                p.kernel
            ),
            out.h * out.w * p.connections() * p.kernel * p.kernel,
        ),
        Layer::Subsample(s) => m(
            "the window's sum is scaled by one coefficient, counted like a tied kernel",
            "H_out * W_out * C * window * window",
            format!("{spatial} * {} * {}", s.window, s.window),
            out.len() * s.window * s.window,
        ),
        Layer::Dense(d) => m(
            "one multiply-accumulate per weight",
            "in * out",
            format!("{} * {}", num(d.in_features), num(d.out_features)),
            d.in_features * d.out_features,
        ),
        Layer::Rbf(r) => m(
            "(x - w)² accumulated once per weight",
            "in * out",
            format!("{} * {}", r.in_features, r.outputs),
            r.in_features * r.outputs,
        ),
        _ => m(
            "no weights: memory-bound, counted as 0 MACs (as torchvision and the papers do)",
            "0",
            "0".into(),
            0,
        ),
    }
}
