//! The "how is this computed" lines against the analysis: every number of every node of
//! every zoo model, at its own input size and at an odd one where the network allows it.

use convscope::analysis::{analyze, derivation, Analysis, Derivation, BYTES_PER_VALUE};
use convscope::model::Network;
use convscope::zoo::{self, ZOO};

fn check_node(net: &Network, a: &Analysis, id: usize) -> Derivation {
    let e = derivation(net, a, id);
    let n = &a.nodes[id];
    let at = format!("{} {} at {}", net.name, n.name, a.input);
    let value = |key: &str| {
        e.value(key)
            .unwrap_or_else(|| panic!("{at}: no line gives {key}"))
    };
    let s = n.output_shape;
    let f = n.receptive_field;
    let expected: [(&str, i64); 12] = [
        ("out_c", s.c as i64),
        ("out_h", s.h as i64),
        ("out_w", s.w as i64),
        ("params", n.params as i64),
        ("macs", n.macs as i64),
        ("flops", n.flops as i64),
        ("activation_bytes", n.activation_bytes as i64),
        ("rf_size_h", f.h.size),
        ("rf_size_w", f.w.size),
        ("rf_jump_h", f.h.jump),
        ("rf_jump_w", f.w.jump),
        (
            "buffers",
            (n.weight_bytes / BYTES_PER_VALUE) as i64 - n.params as i64,
        ),
    ];
    for (key, want) in expected {
        if key == "buffers" && want == 0 {
            assert!(e.value(key).is_none(), "{at}: a buffers line with none");
            continue;
        }
        assert_eq!(value(key), want, "{at}: {key}");
    }
    for l in &e.lines {
        let tail = format!("= {}", convscope::analysis::group_digits(l.value));
        let tail_neg = format!("= ({})", convscope::analysis::group_digits(l.value));
        assert!(
            l.filled.ends_with(&tail) || l.filled.ends_with(&tail_neg),
            "{at}: `{}` does not end in its value {}",
            l.filled,
            l.value
        );
        assert!(!l.rule.is_empty() && !l.formula.is_empty(), "{at}: {l:?}");
    }
    e
}

#[test]
fn every_number_of_every_zoo_node_equals_the_analysis() {
    let mut nodes = 0;
    for entry in ZOO {
        let net = (entry.build)();
        let (h, w) = net.default_input;
        let a = analyze(&net, h, w).unwrap();
        for id in 0..net.nodes.len() {
            check_node(&net, &a, id);
            nodes += 1;
        }
        // An odd, non-square input exercises ceil mode's last window, SAME's uneven split
        // and the two axes apart (for the networks that take any size).
        if let Ok(a) = analyze(&net, 199, 233) {
            for id in 0..net.nodes.len() {
                check_node(&net, &a, id);
            }
        }
    }
    assert!(nodes > 2000, "only {nodes} nodes checked");
}

fn line_of<'a>(e: &'a Derivation, key: &str) -> &'a convscope::analysis::Line {
    e.lines.iter().find(|l| l.keys.contains(&key)).unwrap()
}

fn derivation_named(model: &str, node: &str, size: Option<(usize, usize)>) -> Derivation {
    let net = zoo::build(model).unwrap();
    let (h, w) = size.unwrap_or(net.default_input);
    let a = analyze(&net, h, w).unwrap();
    derivation(&net, &a, net.find(node).unwrap())
}

#[test]
fn each_output_size_rule_is_named_and_filled_in() {
    // ResNet's stem: 224 -> 112 by floor((224 + 3 + 3 - 7) / 2) + 1.
    let e = derivation_named("resnet50", "conv1", None);
    let size = line_of(&e, "out_h");
    assert_eq!(size.rule, "floor");
    assert_eq!(size.keys, vec!["out_h", "out_w"]);
    assert_eq!(size.filled, "floor((224 + 3 + 3 - 7) / 2) + 1 = 112");
    assert_eq!(line_of(&e, "params").filled, "(7 * 7 * 3 / 1) * 64 = 9,408");
    assert_eq!(line_of(&e, "flops").filled, "2 x 118,013,952 = 236,027,904");
    // EfficientNet's stem: TensorFlow SAME, the odd pixel after.
    let e = derivation_named("efficientnet_lite0", "_conv_stem", None);
    let size = line_of(&e, "out_h");
    assert_eq!(size.rule, "TensorFlow SAME");
    assert_eq!(
        size.filled,
        "P = max((112 - 1) * 2 + 3 - 224, 0) = 1 (0 before, 1 after); floor((224 + 0 + 1 - 3) / 2) + 1 = 112"
    );
    // GoogLeNet's first pool rounds up (112 -> 56 where floor gives 55).
    let e = derivation_named("googlenet", "pool1.3x3_s2", None);
    let size = line_of(&e, "out_h");
    assert_eq!(size.rule, "PyTorch ceil_mode");
    assert_eq!(size.filled, "ceil((112 - 3) / 2) + 1 = 56");
    // Height and width apart on a non-square input.
    let e = derivation_named("resnet18", "conv1", Some((199, 233)));
    assert_eq!(line_of(&e, "out_h").value, 100);
    assert_eq!(line_of(&e, "out_w").value, 117);
    assert_eq!(line_of(&e, "out_w").keys, vec!["out_w"]);
}

#[test]
fn batchnorm_counts_2c_learned_and_2c_running_and_merges_take_the_union() {
    let e = derivation_named("resnet50", "bn1", None);
    assert_eq!(line_of(&e, "params").filled, "2 * 64 = 128");
    assert_eq!(line_of(&e, "buffers").filled, "2 * 64 = 128");
    // A residual add: the union of the shortcut's and the main path's fields.
    let e = derivation_named("resnet18", "layer1.0.add", None);
    let size = line_of(&e, "rf_size_h");
    assert_eq!(size.rule, "union at a merge");
    assert!(size.filled.starts_with("max("), "{}", size.filled);
    // A window step: r = r_prev + (k - 1) * j_prev, j = j_prev * s.
    let e = derivation_named("resnet18", "maxpool", None);
    assert_eq!(line_of(&e, "rf_size_h").filled, "7 + (3 - 1) * 2 = 11");
    assert_eq!(line_of(&e, "rf_jump_h").filled, "2 * 2 = 4");
}
