//! The trainer's rules for the Fashion-MNIST families: local response normalisation (forward
//! against the f64 reference, backward against finite differences) and auxiliary heads (the
//! loss is the main head's cross-entropy plus 0.3 times each auxiliary head's, recomputed
//! here from the forward outputs, and its gradient against finite differences).

use convscope::model::{
    log_softmax, Activation, Conv2d, Dense, Layer, Lrn, Network, Shape, AUX_LOSS_WEIGHT,
};
use convscope::train::{self as t, Batch, Mode};
use convscope::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};

const LABELS: [u8; 3] = [0, 2, 1];

fn input(shape: Shape, scale: f32) -> Batch {
    let mut rng = StdRng::seed_from_u64(7);
    let n = LABELS.len();
    let data = (0..n * shape.len())
        .map(|_| rng.random_range(-scale..scale))
        .collect();
    Batch { n, shape, data }
}

fn weights(net: &Network) -> Weights {
    let mut rng = StdRng::seed_from_u64(11);
    let mut w = t::init_weights(net, 3);
    for (name, tensor) in w.tensors.iter_mut() {
        if name.ends_with("bias") {
            tensor.data = (0..tensor.len())
                .map(|_| rng.random_range(-0.3..0.3))
                .collect();
        }
    }
    w
}

/// Central differences of the loss against `gradients`, for every parameter and input value
/// (on a sample of about 40 per tensor).
fn check_gradients(net: &Network, weights: &Weights, x: &Batch, mode: Mode) {
    let loss = |w: &Weights, x: &Batch| t::gradients(net, w, x, &LABELS, mode, 0.0).unwrap().loss;
    let g = t::gradients(net, weights, x, &LABELS, mode, 0.0).unwrap();
    let eps = 1e-3f32;
    let close = |what: String, numeric: f64, analytic: f32| {
        let tol = 2e-3 + 2e-2 * numeric.abs().max(analytic.abs() as f64);
        assert!(
            (numeric - analytic as f64).abs() <= tol,
            "{what}: finite difference {numeric:.6}, backward {analytic:.6}"
        );
    };
    for (name, grad) in &g.params.tensors {
        for i in (0..grad.len()).step_by((grad.len() / 40).max(1)) {
            let mut w = weights.clone();
            w.tensors.get_mut(name).unwrap().data[i] += eps;
            let up = loss(&w, x);
            w.tensors.get_mut(name).unwrap().data[i] -= 2.0 * eps;
            let numeric = (up - loss(&w, x)) / (2.0 * eps as f64);
            close(format!("{name}[{i}]"), numeric, grad.data[i]);
        }
    }
    for i in (0..x.data.len()).step_by((x.data.len() / 40).max(1)) {
        let mut moved = x.clone();
        moved.data[i] += eps;
        let up = loss(weights, &moved);
        moved.data[i] -= 2.0 * eps;
        let numeric = (up - loss(weights, &moved)) / (2.0 * eps as f64);
        close(format!("input[{i}]"), numeric, g.input[i]);
    }
}

/// A convolution, LRN `l`, and a dense head to 3 classes.
fn lrn_net(l: Lrn, shape: Shape) -> Network {
    let mut net = Network::new("lrn", shape.c, (shape.h, shape.w));
    net.then("conv", Layer::Conv2d(Conv2d::new(shape.c, 5, 3).pad(1)));
    net.then("norm", Layer::Lrn(l));
    net.then("flatten", Layer::Flatten);
    let out = net.then("head", Layer::Dense(Dense::new(5 * shape.h * shape.w, 3)));
    net.outputs.push(out);
    net
}

#[test]
fn lrn_forward_matches_the_reference() {
    let shape = Shape::new(2, 4, 4);
    for size in [5, 4, 1] {
        // A large alpha makes the cross-channel term matter (AlexNet's 1e-4 barely does).
        let l = Lrn {
            size,
            alpha: 0.5,
            beta: 0.75,
            k: 1.0,
        };
        let net = lrn_net(l, shape);
        let w = weights(&net);
        let x = input(shape, 1.5);
        let ours = t::forward_batch(&net, &w, &x, Mode::Eval).unwrap();
        let norm = net.find("norm").unwrap();
        for b in 0..x.n {
            let image = convscope::tensor::Tensor::new(vec![2, 4, 4], x.image(b).to_vec());
            let reference = convscope::cpu::forward(&net, &w, &image).unwrap();
            for (a, r) in ours[norm].image(b).iter().zip(&reference[norm].data) {
                assert!(
                    (a - r).abs() <= 1e-4 + 1e-3 * r.abs(),
                    "size {size}: {a} vs {r}"
                );
            }
        }
    }
}

#[test]
fn gradient_lrn_odd_and_even_windows() {
    let shape = Shape::new(2, 4, 4);
    for (size, beta) in [(5, 0.75), (3, 0.5), (4, 0.75), (2, 1.0)] {
        let l = Lrn {
            size,
            alpha: 0.5,
            beta,
            k: 1.0,
        };
        let net = lrn_net(l, shape);
        check_gradients(&net, &weights(&net), &input(shape, 1.5), Mode::Eval);
    }
}

/// A convolution shared by a main head (dense on the flattened map) and an auxiliary head
/// (global average pooling, then dense), as GoogLeNet's trunk feeds its classifiers.
fn two_heads() -> Network {
    let mut net = Network::new("aux", 2, (4, 4));
    net.then("conv", Layer::Conv2d(Conv2d::new(2, 4, 3).pad(1)));
    let trunk = net.then("relu", Layer::Activation(Activation::Tanh));
    net.then("flatten", Layer::Flatten);
    let main = net.then("fc", Layer::Dense(Dense::new(64, 3)));
    net.add("aux.gap", Layer::GlobalAvgPool, &[trunk]);
    net.then("aux.flatten", Layer::Flatten);
    let aux = net.then("aux.fc", Layer::Dense(Dense::new(4, 3)));
    net.outputs = vec![main, aux];
    net
}

#[test]
fn auxiliary_head_loss_is_weighted_by_0_3() {
    // Szegedy et al. 2014, §5: the auxiliary losses are added with weight 0.3.
    assert_eq!(AUX_LOSS_WEIGHT, 0.3);
    let net = two_heads();
    let w = weights(&net);
    let x = input(Shape::new(2, 4, 4), 1.5);
    let outputs = t::forward_batch(&net, &w, &x, Mode::Eval).unwrap();
    let cross_entropy = |node: usize| -> f64 {
        let out = &outputs[node];
        let total: f64 = (0..out.n)
            .map(|b| -log_softmax(out.image(b))[LABELS[b] as usize])
            .sum();
        total / out.n as f64
    };
    let expected = cross_entropy(net.outputs[0]) + 0.3 * cross_entropy(net.outputs[1]);
    let g = t::gradients(&net, &w, &x, &LABELS, Mode::Eval, 0.0).unwrap();
    assert!(
        (g.loss - expected).abs() < 1e-5,
        "loss {} against main + 0.3 aux = {expected}",
        g.loss
    );
    // The auxiliary head's weights get gradient only through its loss term.
    assert!(g
        .params
        .get("aux.fc", "weight")
        .data
        .iter()
        .any(|&v| v != 0.0));
}

#[test]
fn gradient_with_an_auxiliary_head() {
    let net = two_heads();
    check_gradients(
        &net,
        &weights(&net),
        &input(Shape::new(2, 4, 4), 1.5),
        Mode::Eval,
    );
}
