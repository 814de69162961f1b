//! The trainer: finite-difference gradient checks per layer kind, agreement with the CPU
//! reference, recipes, a quick training run, and the shipped weights. Its data (the IDX reader
//! and the framing of images into inputs) is tested in tests/train_data.rs.

use convscope::model::{
    Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Network, PartialConv2d, Pool2d, Rbf,
    Shape, Subsample,
};
use convscope::preprocess::GreyscaleFrame;
use convscope::train::{self as t, Batch, Dataset, Mode, TrainConfig};
use convscope::weights::{TensorProblem, Weights};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::OnceLock;

fn random(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// `layers` in a chain on a `shape` input, then flatten and a dense head to 3 classes.
fn chain(shape: Shape, layers: Vec<Layer>) -> Network {
    let mut net = Network::new("check", shape.c, (shape.h, shape.w));
    for (i, layer) in layers.into_iter().enumerate() {
        net.then(format!("l{i}"), layer);
    }
    let flat = net
        .infer_shapes(shape.h, shape.w)
        .unwrap()
        .last()
        .unwrap()
        .len();
    net.then("flatten", Layer::Flatten);
    net.then("head", Layer::Dense(Dense::new(flat, 3)));
    net
}

/// Every node of the batched forward pass in evaluation mode agrees with `cpu::forward`.
fn assert_matches_reference(net: &Network, weights: &Weights, input: &Batch) {
    let ours = t::forward_batch(net, weights, input, Mode::Eval).unwrap();
    let s = input.shape;
    for b in 0..input.n {
        let image = convscope::tensor::Tensor::new(vec![s.c, s.h, s.w], input.image(b).to_vec());
        let reference = convscope::cpu::forward(net, weights, &image).unwrap();
        for (id, (ours, theirs)) in ours.iter().zip(&reference).enumerate() {
            for (a, r) in ours.image(b).iter().zip(&theirs.data) {
                let tol = 1e-4 + 1e-3 * r.abs();
                let node = &net.nodes[id].name;
                assert!((a - r).abs() <= tol, "{} node {node}: {a} vs {r}", net.name);
            }
        }
    }
}

/// Compares `gradients` with central differences of the loss, for every parameter value and
/// every input value (on a sample when there are many).
fn check_gradients(net: &Network, shape: Shape, mode: Mode, input_scale: f32) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut weights = t::init_weights(net, 3);
    for (name, tensor) in weights.tensors.iter_mut() {
        // Non-zero biases and a BatchNorm away from the identity exercise every term.
        if name.ends_with("bias") || name.ends_with("running_mean") {
            tensor.data = random(&mut rng, tensor.len(), 0.3);
        }
    }
    let n = 3;
    let input = Batch {
        n,
        shape,
        data: random(&mut rng, n * shape.len(), input_scale),
    };
    if mode == Mode::Eval {
        assert_matches_reference(net, &weights, &input);
    }
    let labels = [0u8, 2, 1];
    let loss = |w: &Weights, x: &Batch| t::gradients(net, w, x, &labels, mode, 0.1).unwrap().loss;
    let g = t::gradients(net, &weights, &input, &labels, mode, 0.1).unwrap();
    let eps = 1e-3f32;
    let close = |name: &str, numeric: f64, analytic: f32| {
        let tol = 2e-3 + 2e-2 * numeric.abs().max(analytic.abs() as f64);
        assert!(
            (numeric - analytic as f64).abs() <= tol,
            "{name}: finite difference {numeric:.6}, backward {analytic:.6}"
        );
    };
    for (name, grad) in &g.params.tensors {
        let step = (grad.len() / 40).max(1);
        for i in (0..grad.len()).step_by(step) {
            let mut w = weights.clone();
            w.tensors.get_mut(name).unwrap().data[i] += eps;
            let up = loss(&w, &input);
            w.tensors.get_mut(name).unwrap().data[i] -= 2.0 * eps;
            let down = loss(&w, &input);
            close(
                &format!("{name}[{i}]"),
                (up - down) / (2.0 * eps as f64),
                grad.data[i],
            );
        }
    }
    let step = (input.data.len() / 40).max(1);
    for i in (0..input.data.len()).step_by(step) {
        let mut x = input.clone();
        x.data[i] += eps;
        let up = loss(&weights, &x);
        x.data[i] -= 2.0 * eps;
        let down = loss(&weights, &x);
        close(
            &format!("input[{i}]"),
            (up - down) / (2.0 * eps as f64),
            g.input[i],
        );
    }
}

fn chain_check(shape: Shape, layers: Vec<Layer>) {
    check_gradients(&chain(shape, layers), shape, Mode::Eval, 1.5);
}

#[test]
fn gradient_conv2d_padding_stride() {
    let conv = Conv2d::new(2, 3, 3).stride(2).pad(1);
    chain_check(Shape::new(2, 7, 7), vec![Layer::Conv2d(conv)]);
}

#[test]
fn gradient_conv2d_groups_dilation_same_no_bias() {
    let conv = Conv2d::new(4, 2, 3).groups(2).dilation(2).same().no_bias();
    chain_check(Shape::new(4, 7, 6), vec![Layer::Conv2d(conv)]);
}

#[test]
fn gradient_partial_conv2d() {
    let table = vec![vec![0, 1], vec![1, 2], vec![0, 2], vec![0, 1, 2]];
    let layer = Layer::PartialConv2d(PartialConv2d {
        in_channels: 3,
        table,
        kernel: 3,
    });
    chain_check(Shape::new(3, 6, 6), vec![layer]);
}

#[test]
fn gradient_subsample_with_dropped_remainder() {
    let layer = Layer::Subsample(Subsample {
        channels: 2,
        window: 2,
    });
    chain_check(Shape::new(2, 7, 6), vec![layer]);
}

#[test]
fn gradient_pooling() {
    let max = Pool2d::new(3, 2).pad(1).ceil();
    chain_check(Shape::new(2, 8, 7), vec![Layer::MaxPool2d(max.clone())]);
    chain_check(Shape::new(2, 8, 7), vec![Layer::AvgPool2d(max.clone())]);
    let exclude = Pool2d {
        count_include_pad: false,
        ..max
    };
    chain_check(Shape::new(2, 8, 7), vec![Layer::AvgPool2d(exclude)]);
    chain_check(Shape::new(3, 4, 5), vec![Layer::GlobalAvgPool]);
}

#[test]
fn gradient_activations() {
    use Activation::*;
    for a in [Relu, Relu6, Sigmoid, Tanh, ScaledTanh] {
        // Inputs up to 8 reach Relu6's upper bend and the saturating tails.
        let shape = Shape::new(2, 4, 4);
        let net = chain(shape, vec![Layer::Activation(a)]);
        check_gradients(&net, shape, Mode::Eval, 8.0);
    }
}

#[test]
fn gradient_dense_rbf_and_smoothing() {
    let shape = Shape::new(6, 1, 1);
    let mut net = Network::new("rbf", 6, (1, 1));
    net.then("f6", Layer::Dense(Dense::new(6, 5)));
    net.then("f6_act", Layer::Activation(Activation::ScaledTanh));
    let out = net.then(
        "output",
        Layer::Rbf(Rbf {
            in_features: 5,
            outputs: 3,
        }),
    );
    net.outputs.push(out);
    check_gradients(&net, shape, Mode::Eval, 1.5);
}

#[test]
fn gradient_dropout_training_mode() {
    let layers = vec![Layer::Dropout(Dropout { p: 0.3 })];
    let shape = Shape::new(2, 3, 3);
    check_gradients(&chain(shape, layers), shape, Mode::Train { seed: 9 }, 1.5);
}

#[test]
fn gradient_batchnorm_training_and_eval() {
    let bn = || {
        Layer::BatchNorm(BatchNorm {
            channels: 2,
            eps: 1e-5,
        })
    };
    let shape = Shape::new(2, 3, 3);
    check_gradients(
        &chain(shape, vec![bn()]),
        shape,
        Mode::Train { seed: 1 },
        1.5,
    );
    check_gradients(&chain(shape, vec![bn()]), shape, Mode::Eval, 1.5);
}

#[test]
fn gradient_concat_and_add() {
    let mut net = Network::new("branches", 2, (5, 5));
    let a = net.add("a", Layer::Conv2d(Conv2d::new(2, 2, 3).pad(1)), &[0]);
    let b = net.add("b", Layer::Conv2d(Conv2d::new(2, 3, 1)), &[0]);
    let cat = net.add("cat", Layer::Concat, &[a, b]);
    let c = net.add("c", Layer::Conv2d(Conv2d::new(2, 5, 3).pad(1)), &[0]);
    net.add("sum", Layer::Add, &[cat, c, cat]);
    net.then("flatten", Layer::Flatten);
    net.then("head", Layer::Dense(Dense::new(125, 3)));
    check_gradients(&net, Shape::new(2, 5, 5), Mode::Eval, 1.5);
}

#[test]
fn batched_forward_matches_the_cpu_reference() {
    for name in ["lenet5", "lenet5_modern"] {
        let net = convscope::zoo::build(name).unwrap();
        let weights = t::init_weights(&net, 5);
        let (h, w) = net.default_input;
        let mut rng = StdRng::seed_from_u64(2);
        let input = Batch {
            n: 4,
            shape: Shape::new(1, h, w),
            data: (0..4 * h * w).map(|_| rng.random_range(0.0..1.0)).collect(),
        };
        assert_matches_reference(&net, &weights, &input);
    }
}

/// Fashion-MNIST from Debian's `dataset-fashion-mnist`, read once per test binary.
fn fashion() -> &'static (Dataset, Dataset) {
    static DATA: OnceLock<(Dataset, Dataset)> = OnceLock::new();
    DATA.get_or_init(|| {
        t::load_fashion_mnist(t::FASHION_MNIST_DIR).unwrap_or_else(|e| {
            panic!("Fashion-MNIST is needed: `apt-get install dataset-fashion-mnist` ({e})")
        })
    })
}

/// The recipes the shipped LeNet-5 weights were trained with (README: 20 epochs for `lenet5`);
/// a model without a recipe is refused by name, with the models that have one.
#[test]
fn recipes_are_looked_up_on_the_zoo_entry() {
    let classic = TrainConfig::for_model("lenet5").unwrap();
    assert_eq!(
        classic,
        TrainConfig {
            epochs: 20,
            lr: 0.01,
            clip_grad_norm: Some(5.0),
            mirror: false,
            ..TrainConfig::default()
        }
    );
    let modern = TrainConfig::for_model("lenet5_modern").unwrap();
    assert_eq!((modern.epochs, modern.lr, modern.mirror), (12, 0.05, true));
    let err = TrainConfig::for_model("alexnet").unwrap_err();
    let t::TrainError::NoRecipe { model, trainable } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(model, "alexnet");
    assert!(trainable.contains(&"lenet5") && trainable.contains(&"lab_tricks_all"));
    assert!(!trainable.contains(&"vgg16"));
    assert!(
        err.to_string().contains("`alexnet` has no training recipe"),
        "{err}"
    );
}

#[test]
fn short_training_beats_chance_and_reproduces_bit_for_bit() {
    let (train, test) = fashion();
    let (train, test) = (train.subset(0..512), test.subset(0..500));
    for name in ["lenet5_modern", "lenet5"] {
        let net = convscope::zoo::build(name).unwrap();
        let cfg = TrainConfig {
            epochs: 3,
            batch_size: 32,
            warmup_epochs: 0.5,
            ..TrainConfig::for_model(name).unwrap()
        };
        let mut reports = Vec::new();
        let weights = t::train(&net, &cfg, &train, Some(&test), |r| reports.push(r.clone()));
        let weights = weights.unwrap();
        let accuracy = t::evaluate(&net, &weights, &test).unwrap().fraction();
        eprintln!("{name}: {reports:#?}");
        assert!(accuracy > 0.45, "{name}: {accuracy} after 3 short epochs");
        assert_eq!(reports.len(), 3);
        assert!(reports[2].train_loss < reports[0].train_loss);
        let again = t::train(&net, &cfg, &train, None, |_| {}).unwrap();
        assert_eq!(
            again, weights,
            "{name}: a second run with the same seed differs"
        );
    }
}

/// The shipped weights: loaded by the project's safetensors loader, evaluated on the full
/// 10,000-image test set. Thresholds are the targets set for convscope's own training.
fn shipped(name: &str, target: f32) {
    let net = convscope::zoo::build(name).unwrap();
    let path = format!(
        "{}/assets/weights/{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let weights = convscope::weights::load_safetensors(&bytes, &net).unwrap();
    let (_, test) = fashion();
    let accuracy = t::evaluate(&net, &weights, test).unwrap();
    eprintln!("{name}: {accuracy}");
    assert!(accuracy.fraction() >= target, "{name}: {accuracy}");
    // The reference forward pass classifies the first images the same way.
    let pre = GreyscaleFrame::for_network(&net);
    for i in 0..20 {
        let image = pre.image(test.image(i), test.rows, test.cols);
        let outputs = convscope::cpu::forward(&net, &weights, &image).unwrap();
        let scores = &outputs[net.output()].data;
        let sign = if name == "lenet5" { -1.0 } else { 1.0 };
        let top = convscope::cpu::top_k(&scores.iter().map(|s| sign * s).collect::<Vec<_>>(), 1);
        let batch = Batch {
            n: 1,
            shape: Shape::new(1, pre.size.0, pre.size.1),
            data: image.data.clone(),
        };
        assert_eq!(top[0].0, t::predict(&net, &weights, &batch).unwrap()[0]);
    }
}

#[test]
fn shipped_lenet5_reaches_88_percent() {
    shipped("lenet5", 0.88);
}

#[test]
fn shipped_lenet5_modern_reaches_90_percent() {
    shipped("lenet5_modern", 0.90);
}

#[test]
fn saved_weights_load_back_through_the_project_loader() {
    for name in ["lenet5", "lenet5_modern"] {
        let net = convscope::zoo::build(name).unwrap();
        let weights = t::init_weights(&net, 11);
        let bytes = t::save_weights(&net, &weights).unwrap();
        assert_eq!(
            convscope::weights::load_safetensors(&bytes, &net).unwrap(),
            weights
        );
    }
}

/// The trainer checks weights with the weights module's one checker and passes its problem on.
#[test]
fn saving_incomplete_weights_names_the_missing_tensor() {
    let net = convscope::zoo::build("lenet5_modern").unwrap();
    let mut weights = t::init_weights(&net, 11);
    weights.tensors.remove("fc3.bias");
    assert_eq!(
        t::save_weights(&net, &weights),
        Err(t::TrainError::Weights(TensorProblem::Missing {
            tensor: "fc3.bias".into(),
            expected: vec![10],
        }))
    );
}
