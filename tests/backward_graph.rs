//! The CPU reference's whole-network backward pass against central finite differences of the
//! whole forward pass (f64 arithmetic over the reference's outputs), seeded at the logits and
//! at an inner node, on small graphs with every kind of join (add, concat) and on LeNet-5.
//! Input elements whose perturbation moves a rectifier or a max-pooling switch are skipped
//! (the function has a kink there); the tests require that most elements are compared.

use convscope::cpu::backward::{backward, max_pool2d_switches, Backward, Mode};
use convscope::cpu::forward;
use convscope::model::{
    Activation, AdaptiveAvgPool2d, BatchNorm, Conv2d, Dense, Layer, Lrn, Network, NodeId, Pool2d,
};
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};

const EPS: f32 = 1.0 / 256.0;

/// Which side of every kink the forward pass is on: each rectifier's open/closed state and
/// each max pooling's switches.
fn kinks(net: &Network, outputs: &[Tensor]) -> Vec<usize> {
    let mut sig = Vec::new();
    for node in &net.nodes {
        let Some(&first) = node.inputs.first() else {
            continue;
        };
        let x = &outputs[first];
        match &node.layer {
            Layer::Activation(Activation::Relu) => {
                sig.extend(x.data.iter().map(|&v| (v > 0.0) as usize))
            }
            Layer::Activation(Activation::Relu6) => sig.extend(
                x.data
                    .iter()
                    .map(|&v| (v > 0.0) as usize + (v < 6.0) as usize),
            ),
            Layer::MaxPool2d(p) => {
                let s = convscope::model::Shape::new(x.shape[0], x.shape[1], x.shape[2]);
                let out = &outputs[net.nodes.iter().position(|n| n == node).unwrap()];
                let o = convscope::model::Shape::new(out.shape[0], out.shape[1], out.shape[2]);
                sig.extend(
                    max_pool2d_switches(p, &x.data, s, o)
                        .into_iter()
                        .map(|i| i.unwrap_or(usize::MAX)),
                );
            }
            _ => {}
        }
    }
    sig
}

/// The gradient of `seed . output(node)` at the input equals central differences at
/// `samples` input elements (all if `None`) where no kink moves.
fn check(net: &Network, weights: &Weights, input: &Tensor, node: NodeId, samples: Option<usize>) {
    let outputs = forward(net, weights, input).expect("forward runs");
    let mut rng = StdRng::seed_from_u64(7);
    let seed: Vec<f64> = (0..outputs[node].len())
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let grads = backward(net, weights, &outputs, node, seed.clone(), Mode::Gradient).unwrap();
    let dx = grads[0].as_ref().expect("the input gets a gradient");
    let here = kinks(net, &outputs);
    let scale = dx.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    let picks: Vec<usize> = match samples {
        None => (0..input.len()).collect(),
        Some(n) => (0..n).map(|_| rng.random_range(0..input.len())).collect(),
    };
    let mut compared = 0;
    for &i in &picks {
        let run = |delta: f32| {
            let mut x = input.clone();
            x.data[i] += delta;
            forward(net, weights, &x).unwrap()
        };
        let (plus, minus) = (run(EPS), run(-EPS));
        if kinks(net, &plus) != here || kinks(net, &minus) != here {
            continue;
        }
        compared += 1;
        let fd: f64 = (0..seed.len())
            .map(|j| seed[j] * (plus[node].data[j] as f64 - minus[node].data[j] as f64))
            .sum::<f64>()
            / (2.0 * EPS as f64);
        assert!(
            (fd - dx[i]).abs() <= 2e-3 * scale + 2e-3 * fd.abs(),
            "{} at node `{}`, input element {i}: backward {}, finite difference {fd} (scale {scale})",
            net.name,
            net.nodes[node].name,
            dx[i]
        );
    }
    assert!(
        compared * 10 >= picks.len() * 7,
        "{}: only {compared} of {} elements clear of kinks",
        net.name,
        picks.len()
    );
}

/// A small graph with a residual add, a concat of three branches (grouped, depthwise,
/// dilated), BatchNorm, LRN, both average poolings, a sigmoid and a dense head.
fn joined_net() -> Network {
    let mut net = Network::new("joined", 3, (9, 9));
    net.then("stem", Layer::Conv2d(Conv2d::new(3, 4, 3).pad(1)));
    net.then(
        "bn",
        Layer::BatchNorm(BatchNorm {
            channels: 4,
            eps: 1e-5,
        }),
    );
    net.then("relu", Layer::Activation(Activation::Relu));
    let pool = net.then("pool", Layer::MaxPool2d(Pool2d::new(3, 2).pad(1)));
    let a = net.add("a", Layer::Conv2d(Conv2d::new(4, 4, 1).groups(2)), &[pool]);
    let b = net.add(
        "b",
        Layer::Conv2d(Conv2d::new(4, 4, 3).groups(4).pad(1)),
        &[pool],
    );
    let sum = net.add("sum", Layer::Add, &[a, b, pool]);
    let r6 = net.add("relu6", Layer::Activation(Activation::Relu6), &[sum]);
    let d = net.add(
        "d",
        Layer::Conv2d(Conv2d::new(4, 3, 3).dilation(2).pad(2)),
        &[pool],
    );
    let sg = net.add("sig", Layer::Activation(Activation::Sigmoid), &[d]);
    net.add("cat", Layer::Concat, &[r6, sg]);
    net
}

#[test]
fn whole_graph_equals_finite_differences() {
    let mut net = joined_net();
    net.then(
        "lrn",
        Layer::Lrn(Lrn {
            size: 3,
            alpha: 0.3,
            beta: 0.75,
            k: 1.0,
        }),
    );
    let mut avg = Pool2d::new(2, 2).ceil();
    avg.count_include_pad = false;
    net.then("avg", Layer::AvgPool2d(avg));
    net.then(
        "adaptive",
        Layer::AdaptiveAvgPool2d(AdaptiveAvgPool2d { output: (2, 2) }),
    );
    net.then("flatten", Layer::Flatten);
    let logits = net.then("fc", Layer::Dense(Dense::new(28, 5)));
    net.outputs = vec![logits];
    let weights = Weights::random(&net, 3);
    let input = random_input(3, 9, 9, 4);
    check(&net, &weights, &input, logits, None);
    // Seeded at an inner node (what a deconvnet or Grad-CAM reads).
    check(&net, &weights, &input, net.find("sum").unwrap(), None);
}

#[test]
fn lenet5_with_its_partial_conv_subsampling_and_rbf() {
    let net = convscope::zoo::build("lenet5").unwrap();
    let weights = Weights::random(&net, 5);
    let input = random_input(1, 32, 32, 6);
    check(&net, &weights, &input, net.output(), Some(48));
}

#[test]
fn the_walk_stops_where_asked_and_skips_what_the_seed_does_not_read() {
    let net = joined_net();
    let weights = Weights::random(&net, 8);
    let input = random_input(3, 9, 9, 9);
    let outputs = forward(&net, &weights, &input).unwrap();
    let sum = net.find("sum").unwrap();
    let pool = net.find("pool").unwrap();
    let seed = vec![1.0; outputs[sum].len()];
    let mut pass = Backward::new(&net, &weights, &outputs, sum, seed, Mode::Gradient)
        .unwrap()
        .stop_at(pool);
    let mut steps = 0;
    while pass.step().unwrap().is_some() {
        steps += 1;
    }
    // sum, b, a: then the pool's gradient is complete and the walk ends.
    assert_eq!(steps, sum - pool);
    assert!(pass.grad(pool).is_some());
    assert!(pass.grad(0).is_none(), "the walk stopped before the input");
    assert_eq!(pass.progress(), 1.0);
    // Nodes after the seed (d, sig, cat) are not part of the pass.
    let grads = backward(
        &net,
        &weights,
        &outputs,
        sum,
        vec![1.0; 25 * 4],
        Mode::Gradient,
    )
    .unwrap();
    assert_eq!(grads.len(), sum + 1);
}

fn random_input(c: usize, h: usize, w: usize, seed: u64) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::new(
        vec![c, h, w],
        (0..c * h * w)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect(),
    )
}
