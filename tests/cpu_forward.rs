//! The CPU reference on whole graphs: `forward` against shape inference and `layer_forward`,
//! its error paths, BatchNorm calibration, and a layer computed a few channels at a time.

use convscope::cpu::{forward, layer_forward, CpuError};
use convscope::model::{
    Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Lrn, ModelError, Network, Pool2d, Shape,
};
use convscope::tensor::Tensor;
use convscope::weights::{TensorProblem, Weights};

fn tensor(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::new(shape.to_vec(), data.to_vec())
}

#[track_caller]
fn assert_close(actual: &Tensor, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape, shape, "shape");
    assert_eq!(actual.data.len(), expected.len());
    for (i, (&a, &e)) in actual.data.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-5 + 1e-5 * e.abs(),
            "element {i}: got {a}, expected {e}\n got {:?}",
            actual.data
        );
    }
}

/// input -> (a: 1x1 conv x2) and (b: 1x1 conv x-1 +1); sum = a + b; cat = [a, sum];
/// gap; softmax.
fn branching_network() -> (Network, Weights) {
    let mut net = Network::new("branching", 1, (2, 2));
    let a = net.add("a", Layer::Conv2d(Conv2d::new(1, 1, 1)), &[0]);
    let b = net.add("b", Layer::Conv2d(Conv2d::new(1, 1, 1)), &[0]);
    let sum = net.add("sum", Layer::Add, &[a, b]);
    net.add("cat", Layer::Concat, &[a, sum]);
    net.then("gap", Layer::GlobalAvgPool);
    net.then("prob", Layer::Softmax);
    let mut w = Weights::default();
    for (name, shape, value) in [
        ("a.weight", vec![1, 1, 1, 1], 2.0),
        ("a.bias", vec![1], 0.0),
        ("b.weight", vec![1, 1, 1, 1], -1.0),
        ("b.bias", vec![1], 1.0),
    ] {
        w.tensors
            .insert(name.into(), Tensor::new(shape, vec![value]));
    }
    (net, w)
}

#[test]
fn forward_returns_every_node_of_a_branching_network() {
    // x = [1, 2, 3, 4]: a = 2x = [2, 4, 6, 8]; b = 1 - x = [0, -1, -2, -3]; sum = x + 1 = [2, 3, 4, 5];
    // cat = 2x2x2; gap = [20 / 4, 14 / 4] = [5, 3.5]; softmax = [1, e^-1.5] / (1 + e^-1.5).
    let (net, w) = branching_network();
    let x = tensor(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let outs = forward(&net, &w, &x).expect("forward runs");
    assert_eq!(outs.len(), net.nodes.len());
    assert_eq!(outs[0], x);
    assert_close(&outs[1], &[1, 2, 2], &[2.0, 4.0, 6.0, 8.0]);
    assert_close(&outs[2], &[1, 2, 2], &[0.0, -1.0, -2.0, -3.0]);
    assert_close(&outs[3], &[1, 2, 2], &[2.0, 3.0, 4.0, 5.0]);
    let cat = [2.0, 4.0, 6.0, 8.0, 2.0, 3.0, 4.0, 5.0];
    assert_close(&outs[4], &[2, 2, 2], &cat);
    assert_close(&outs[5], &[2, 1, 1], &[5.0, 3.5]);
    assert_close(&outs[6], &[2, 1, 1], &[0.8175745, 0.1824255]);
}

#[test]
fn forward_shapes_follow_shape_inference() {
    // A larger graph with random weights: every output has the inferred shape, is finite, and
    // equals `layer_forward` of its node on the outputs it reads.
    let mut net = Network::new("mixed", 3, (9, 9));
    let stem = net.then("stem", Layer::Conv2d(Conv2d::new(3, 8, 3).stride(2).same()));
    net.then(
        "bn",
        Layer::BatchNorm(BatchNorm {
            channels: 8,
            eps: 1e-5,
        }),
    );
    let act = net.then("act", Layer::Activation(Activation::Relu6));
    let dw = net.add(
        "dw",
        Layer::Conv2d(Conv2d::new(8, 8, 3).pad(1).groups(8)),
        &[act],
    );
    let pw = net.add("pw", Layer::Conv2d(Conv2d::new(8, 8, 1).no_bias()), &[stem]);
    let res = net.add("res", Layer::Add, &[dw, pw]);
    let pool = net.add("pool", Layer::MaxPool2d(Pool2d::new(3, 2).ceil()), &[res]);
    let side = net.add("side", Layer::AvgPool2d(Pool2d::new(3, 3).pad(1)), &[res]);
    net.add("cat", Layer::Concat, &[pool, side]);
    net.then("lrn", Layer::Lrn(Lrn::alexnet()));
    net.then("flat", Layer::Flatten);
    net.then("drop", Layer::Dropout(Dropout { p: 0.5 }));
    net.then("fc", Layer::Dense(Dense::new(16 * 2 * 2, 10)));
    net.then("prob", Layer::Softmax);

    let w = Weights::random(&net, 7);
    let x = Tensor::new(
        vec![3, 9, 9],
        (0..243).map(|i| (i % 17) as f32 / 8.0 - 1.0).collect(),
    );
    let outs = forward(&net, &w, &x).expect("forward runs");
    let shapes = net.infer_shapes(9, 9).unwrap();
    assert_eq!(*shapes.last().unwrap(), Shape::flat(10));
    for (id, (out, s)) in outs.iter().zip(&shapes).enumerate() {
        let node = &net.nodes[id];
        assert_eq!(out.shape, vec![s.c, s.h, s.w], "node {}", node.name);
        assert!(out.data.iter().all(|v| v.is_finite()), "node {}", node.name);
        if id > 0 {
            let ins: Vec<&Tensor> = node.inputs.iter().map(|&i| &outs[i]).collect();
            let single = layer_forward(&node.name, &node.layer, &w, &ins).unwrap();
            assert_eq!(&single, out, "node {}", node.name);
        }
    }
    assert!((outs.last().unwrap().data.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}

#[test]
fn forward_rejects_bad_inputs_and_weights() {
    let (net, w) = branching_network();
    let wrong_channels = Tensor::zeros(vec![3, 2, 2]);
    assert!(matches!(
        forward(&net, &w, &wrong_channels),
        Err(CpuError::InputShape { .. })
    ));
    let wrong_rank = Tensor::zeros(vec![1, 4]);
    assert!(matches!(
        forward(&net, &w, &wrong_rank),
        Err(CpuError::InputShape { .. })
    ));
    let empty = Tensor::zeros(vec![1, 0, 2]);
    assert!(matches!(
        forward(&net, &w, &empty),
        Err(CpuError::Model(ModelError::EmptyInput { .. }))
    ));
    let lying = Tensor {
        shape: vec![1, 2, 2],
        data: vec![0.0; 3],
    };
    assert!(matches!(
        forward(&net, &w, &lying),
        Err(CpuError::DataLength { .. })
    ));

    let x = Tensor::zeros(vec![1, 2, 2]);
    let mut missing = w.clone();
    missing.tensors.remove("b.bias");
    assert_eq!(
        forward(&net, &missing, &x),
        Err(CpuError::Weights(TensorProblem::Missing {
            tensor: "b.bias".into(),
            expected: vec![1],
        }))
    );
    let mut misshapen = w.clone();
    misshapen
        .tensors
        .insert("a.weight".into(), Tensor::zeros(vec![1, 1, 2, 2]));
    assert_eq!(
        forward(&net, &misshapen, &x),
        Err(CpuError::Weights(TensorProblem::ShapeMismatch {
            tensor: "a.weight".into(),
            expected: vec![1, 1, 1, 1],
            found: vec![1, 1, 2, 2],
        }))
    );
    let mut short = w.clone();
    short.tensors.get_mut("a.weight").unwrap().data.clear();
    assert_eq!(
        forward(&net, &short, &x),
        Err(CpuError::Weights(TensorProblem::Length {
            tensor: "a.weight".into(),
            shape: vec![1, 1, 1, 1],
            len: 0,
        }))
    );
}

#[test]
fn forward_rejects_an_input_too_small_for_a_window() {
    let mut net = Network::new("small", 1, (4, 4));
    net.then("pool", Layer::MaxPool2d(Pool2d::new(3, 3)));
    let err = forward(&net, &Weights::default(), &Tensor::zeros(vec![1, 2, 2]));
    assert!(matches!(
        err,
        Err(CpuError::Model(ModelError::InputTooSmall { .. }))
    ));
}

#[test]
fn forward_rejects_malformed_graphs_without_panicking() {
    let x = Tensor::zeros(vec![1, 2, 2]);
    let mut backwards = Network::new("backwards", 1, (2, 2));
    backwards.then("relu", Layer::Activation(Activation::Relu));
    backwards.nodes[1].inputs = vec![1];
    assert!(matches!(
        forward(&backwards, &Weights::default(), &x),
        Err(CpuError::InputNotBefore { input: 1, .. })
    ));

    let mut zero_window = Network::new("zero", 1, (2, 2));
    zero_window.then("pool", Layer::AvgPool2d(Pool2d::new(0, 1)));
    assert!(matches!(
        forward(&zero_window, &Weights::default(), &x),
        Err(CpuError::Model(ModelError::BadConfig { .. }))
    ));

    // A dilation of 0 would collapse the kernel to one tap; refused like a zero kernel.
    let mut undilated = Network::new("undilated", 1, (2, 2));
    undilated.then("conv", Layer::Conv2d(Conv2d::new(1, 1, 3).dilation(0)));
    assert!(matches!(
        forward(&undilated, &Weights::random(&undilated, 1), &x),
        Err(CpuError::Model(ModelError::BadConfig { .. }))
    ));

    let mut headless = Network::new("headless", 1, (2, 2));
    headless.nodes.clear();
    assert_eq!(
        forward(&headless, &Weights::default(), &x),
        Err(CpuError::NoInputNode)
    );
}

#[test]
fn layer_forward_rejects_non_image_inputs() {
    let flat = tensor(&[2], &[1.0, 2.0]);
    assert!(matches!(
        layer_forward("l", &Layer::Softmax, &Weights::default(), &[&flat]),
        Err(CpuError::InputRank { .. })
    ));
    assert!(matches!(
        layer_forward("l", &Layer::Add, &Weights::default(), &[]),
        Err(CpuError::Model(ModelError::Arity { .. }))
    ));
}

#[test]
fn lenet5_and_lenet5_modern_run_end_to_end() {
    // Output sizes from the papers / tutorials: LeNet-5's RBF layer has 10 outputs (LeCun et al.
    // 1998, §II-B), the modern variant a 10-way dense layer.
    for name in ["lenet5", "lenet5_modern"] {
        let net = convscope::zoo::build(name).expect("zoo has the model");
        let w = Weights::random(&net, 1);
        let s = net.default_input_shape();
        let x = Tensor::new(
            vec![s.c, s.h, s.w],
            (0..s.len())
                .map(|i| ((i * 7) % 11) as f32 / 5.0 - 1.0)
                .collect(),
        );
        let outs = forward(&net, &w, &x).expect("forward runs");
        let shapes = net.infer_shapes(s.h, s.w).unwrap();
        assert_eq!(outs.len(), shapes.len());
        for ((out, s), node) in outs.iter().zip(&shapes).zip(&net.nodes) {
            assert_eq!(out.shape, vec![s.c, s.h, s.w], "{name}: node {}", node.name);
            assert!(
                out.data.iter().all(|v| v.is_finite()),
                "{name}: node {} has a non-finite value",
                node.name
            );
        }
        assert_eq!(outs[net.output()].len(), 10, "{name}");
    }
}

#[test]
fn calibrated_batchnorm_normalises_and_matches_forward() {
    // After calibration every BatchNorm divides its layer by the layer's root mean square on
    // the calibration image (no mean subtracted): `(y - bias) / weight` has mean square 1 over
    // the layer. resnet18's logits stay moderate, and `forward` agrees.
    use convscope::cpu::calibrate_batchnorm;
    let net = convscope::zoo::build("resnet18").unwrap();
    let mut weights = Weights::random(&net, 3);
    let input = Tensor::new(
        vec![3, 32, 32],
        (0..3 * 32 * 32)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect(),
    );
    let calibrated = calibrate_batchnorm(&net, &mut weights, &input).unwrap();
    let again = forward(&net, &weights, &input).unwrap();
    assert_eq!(calibrated, again);
    let bn1 = net.find("bn1").unwrap();
    let out = &calibrated[bn1];
    let (gamma, beta) = (
        &weights.get("bn1", "weight").data,
        &weights.get("bn1", "bias").data,
    );
    let hw = out.shape[1] * out.shape[2];
    let mut mean_square = 0.0;
    for (c, plane) in out.data.chunks(hw).enumerate() {
        let unscaled = plane.iter().map(|v| ((v - beta[c]) / gamma[c]).powi(2));
        mean_square += unscaled.sum::<f32>() / hw as f32;
    }
    let channels = gamma.len() as f32;
    assert!(
        (mean_square / channels - 1.0).abs() < 1e-2,
        "{}",
        mean_square / channels
    );
    assert!(weights
        .get("bn1", "running_mean")
        .data
        .iter()
        .all(|&m| m == 0.0));
    let logits = &calibrated[net.output()].data;
    assert!(
        logits.iter().all(|v| v.abs() < 100.0),
        "logits out of range: {:?}",
        &logits[..5]
    );
}
