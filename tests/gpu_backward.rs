//! Every GPU backward kernel against its CPU twin (`cpu::backward`), on random inputs and
//! awkward shapes (1x1 input, stride > kernel, groups, dilation, asymmetric padding, channels
//! not divisible by 4, max-pooling ties), in the three modes; each graph is run with every
//! node as its own kernel and with convolutions fused to their BatchNorm and activation, and
//! convolutions go back both on the forward pass's fast kernels (transposed weights) and on
//! backward_conv.wgsl's gather; a BatchNorm after a convolution folds into the
//! convolution's backward (scaled weights), its gradient filled when read.

mod common;

use common::{assert_close, gpu, random_input};
use convscope::cpu::backward::{backward, Mode};
use convscope::cpu::forward;
use convscope::gpu::{BackwardPlan, Plan, PlanOptions};
use convscope::model::*;
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};

const MODES: [Mode; 3] = [Mode::Gradient, Mode::Guided, Mode::Deconvnet];

/// Seed the last node of `net` with a random gradient and compare the gradient at every
/// node the pass reaches, GPU against the CPU reference, in every mode and both plans.
fn check_input(net: &Network, input: &Tensor) {
    let Some(ctx) = gpu() else { return };
    let weights = Weights::random(net, 7);
    let outputs = forward(net, &weights, input).expect("cpu reference");
    let seed = net.nodes.len() - 1;
    let mut rng = StdRng::seed_from_u64(3);
    let seed_grad: Vec<f32> = (0..outputs[seed].len())
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let seed64: Vec<f64> = seed_grad.iter().map(|&v| v as f64).collect();
    let (h, w) = (input.shape[1], input.shape[2]);
    for (separate_nodes, gathered) in [(false, false), (true, false), (false, true)] {
        let options = PlanOptions {
            separate_nodes,
            ..Default::default()
        };
        let plan = pollster::block_on(Plan::new(ctx, net, &weights, h, w, options))
            .unwrap_or_else(|e| panic!("{}: plan: {e}", net.name));
        plan.forward(ctx, input).unwrap();
        let back = if gathered {
            pollster::block_on(BackwardPlan::gathered(ctx, &plan, &weights))
        } else {
            pollster::block_on(BackwardPlan::new(ctx, &plan, &weights))
        };
        let mut back = back.unwrap_or_else(|e| panic!("{}: backward plan: {e}", net.name));
        let ids: Vec<NodeId> = (0..net.nodes.len()).collect();
        for mode in MODES {
            back.run(ctx, &plan, seed, &seed_grad, mode, 0).unwrap();
            let got = pollster::block_on(back.read_many(ctx, &plan, &ids)).unwrap();
            let want = backward(net, &weights, &outputs, seed, seed64.clone(), mode).unwrap();
            for (id, node) in net.nodes.iter().enumerate() {
                let what = format!(
                    "{} d/d {} ({mode:?}, separate nodes: {separate_nodes}, gathered: {gathered})",
                    net.name, node.name
                );
                let want: Option<Vec<f32>> = want[id]
                    .as_ref()
                    .map(|g| g.iter().map(|&v| v as f32).collect());
                match (&got[id], want) {
                    (Some(g), Some(c)) => assert_close(&what, &g.data, &c),
                    (None, None) => {}
                    (g, c) => panic!("{what}: gpu reached {} cpu {}", g.is_some(), c.is_some()),
                }
            }
        }
    }
}

fn check(net: &Network, h: usize, w: usize) {
    check_input(net, &random_input(net.input_channels(), h, w, 11));
}

/// A network of one layer after the input.
fn single(name: &str, c: usize, layer: Layer) -> Network {
    let mut net = Network::new(name, c, (8, 8));
    net.then("layer", layer);
    net
}

fn conv(cin: usize, cout: usize, k: usize) -> Conv2d {
    Conv2d::new(cin, cout, k)
}

#[test]
fn transposed_convolutions_match_on_awkward_shapes() {
    let mut asymmetric = conv(3, 4, 3);
    asymmetric.padding = Padding::Explicit {
        top: 0,
        bottom: 2,
        left: 1,
        right: 0,
    };
    let cases: Vec<(&str, Conv2d, usize, usize)> = vec![
        ("3x3 pad 1, odd size", conv(3, 5, 3).pad(1), 7, 9),
        ("stride larger than kernel", conv(3, 4, 2).stride(3), 11, 10),
        ("1x1 stride 3", conv(5, 6, 1).stride(3), 8, 7),
        ("dilation 2", conv(4, 3, 3).dilation(2).pad(2), 9, 9),
        ("groups 2", conv(6, 4, 3).groups(2).pad(1), 6, 5),
        (
            "depthwise stride 2 SAME",
            conv(5, 5, 3).groups(5).stride(2).same(),
            10,
            10,
        ),
        (
            "depthwise 5x5 SAME odd",
            conv(7, 7, 5).groups(7).same(),
            9,
            7,
        ),
        (
            "depthwise multiplier 2",
            conv(3, 6, 3).groups(3).pad(1),
            5,
            5,
        ),
        (
            "asymmetric SAME 5x5 stride 2",
            conv(3, 8, 5).stride(2).same(),
            14,
            10,
        ),
        ("asymmetric explicit padding", asymmetric, 6, 5),
        ("1x1 spatial input", conv(9, 7, 1), 1, 1),
        ("1x1 spatial padded 3x3", conv(4, 5, 3).pad(1), 1, 1),
        (
            "channels not divisible by 4",
            conv(3, 7, 3).pad(1).no_bias(),
            6,
            6,
        ),
        (
            "11x11 stride 4 like AlexNet",
            conv(3, 4, 11).stride(4).pad(2),
            23,
            23,
        ),
    ];
    for (what, c, h, w) in cases {
        check(&single(what, c.in_channels, Layer::Conv2d(c.clone())), h, w);
        // Six times the input channels: a transposed convolution with few output channels
        // stays on the gather, a wider one goes on the forward pass's kernels.
        let wide = Conv2d {
            in_channels: 6 * c.in_channels,
            ..c
        };
        let what = format!("{what}, {} input channels", wide.in_channels);
        check(&single(&what, wide.in_channels, Layer::Conv2d(wide)), h, w);
    }
}

#[test]
fn pooling_backward_matches_with_padding_ceil_mode_and_ties() {
    let mut include = Pool2d::new(3, 2).pad(1).ceil();
    include.count_include_pad = true;
    let mut exclude = include.clone();
    exclude.count_include_pad = false;
    let cases = [
        (
            "max 3/2 overlapping",
            Layer::MaxPool2d(Pool2d::new(3, 2)),
            13,
            13,
        ),
        (
            "max 3/2 pad 1",
            Layer::MaxPool2d(Pool2d::new(3, 2).pad(1)),
            8,
            9,
        ),
        (
            "max ceil",
            Layer::MaxPool2d(Pool2d::new(3, 2).ceil()),
            14,
            14,
        ),
        (
            "max SAME stride 2",
            Layer::MaxPool2d(Pool2d::new(3, 2).same()),
            10,
            10,
        ),
        (
            "stride > window",
            Layer::MaxPool2d(Pool2d::new(2, 3)),
            11,
            11,
        ),
        ("avg include pad, ceil", Layer::AvgPool2d(include), 10, 9),
        ("avg exclude pad, ceil", Layer::AvgPool2d(exclude), 10, 9),
        ("avg 5/3", Layer::AvgPool2d(Pool2d::new(5, 3)), 14, 14),
        (
            "adaptive 7x5 to 3x2",
            Layer::AdaptiveAvgPool2d(AdaptiveAvgPool2d { output: (3, 2) }),
            7,
            5,
        ),
        ("global average", Layer::GlobalAvgPool, 5, 6),
        (
            "max 1x1 input",
            Layer::MaxPool2d(Pool2d::new(3, 2).pad(1)),
            1,
            1,
        ),
    ];
    for (what, layer, h, w) in cases {
        check(&single(what, 3, layer), h, w);
    }
}

#[test]
fn max_pooling_sends_a_tie_to_the_first_index() {
    // Values in {-1, 0, 1}: most windows hold ties; the switch is the first maximum.
    let mut input = random_input(5, 9, 9, 5);
    input.data.iter_mut().for_each(|v| *v = v.round());
    for (what, p) in [
        ("ties 3/2 overlapping", Pool2d::new(3, 2)),
        ("ties 2/2", Pool2d::new(2, 2)),
        ("ties 3/1 pad 1", Pool2d::new(3, 1).pad(1)),
    ] {
        check_input(&single(what, 5, Layer::MaxPool2d(p)), &input);
    }
}

#[test]
fn normalisation_and_activations_match_in_every_mode() {
    check(&single("lrn", 7, Layer::Lrn(Lrn::alexnet())), 5, 6);
    let lrn = Lrn {
        size: 3,
        alpha: 0.5,
        beta: 0.75,
        k: 1.0,
    };
    check(&single("lrn big alpha", 6, Layer::Lrn(lrn)), 4, 4);
    let bn = BatchNorm {
        channels: 5,
        eps: 1e-3,
    };
    check(&single("bn", 5, Layer::BatchNorm(bn)), 6, 7);
    for a in [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::ScaledTanh,
        Activation::LeakyRelu { alpha: 0.2 },
    ] {
        // Convolution, BatchNorm, activation: fused in one plan, separate in the other.
        let mut net = Network::new(a.name(), 3, (8, 8));
        net.then("conv", Layer::Conv2d(conv(3, 5, 3).pad(1)));
        net.then(
            "bn",
            Layer::BatchNorm(BatchNorm {
                channels: 5,
                eps: 1e-3,
            }),
        );
        net.then("act", Layer::Activation(a));
        check(&net, 7, 7);
    }
}

#[test]
fn dense_rbf_softmax_and_heads_match() {
    let mut net = Network::new("head", 6, (5, 5));
    net.then("gap", Layer::GlobalAvgPool);
    net.then("fc1", Layer::Dense(Dense::new(6, 70)));
    net.then("relu", Layer::Activation(Activation::Relu));
    net.then("drop", Layer::Dropout(Dropout { p: 0.5 }));
    let fc2 = Dense {
        in_features: 70,
        out_features: 9,
        bias: false,
    };
    net.then("fc2", Layer::Dense(fc2));
    net.then(
        "rbf",
        Layer::Rbf(Rbf {
            in_features: 9,
            outputs: 5,
        }),
    );
    net.then("softmax", Layer::Softmax);
    check(&net, 5, 5);
    let mut flat = Network::new("flatten dense", 3, (5, 7));
    flat.then("flatten", Layer::Flatten);
    flat.then("fc", Layer::Dense(Dense::new(105, 1001)));
    check(&flat, 5, 7);
}

#[test]
fn lenet_layers_match() {
    let table = vec![vec![0, 1], vec![1, 2], vec![0, 1, 2], vec![2]];
    let mut net = Network::new("c3", 3, (9, 9));
    let c3 = PartialConv2d {
        in_channels: 3,
        table,
        kernel: 3,
    };
    net.then("c3", Layer::PartialConv2d(c3));
    net.then(
        "s",
        Layer::Subsample(Subsample {
            channels: 4,
            window: 2,
        }),
    );
    check(&net, 9, 9);
    check(&convscope::zoo::build("lenet5").unwrap(), 32, 32);
}

#[test]
fn add_copies_and_concat_splits_with_gradients_summed_at_shared_nodes() {
    let mut net = Network::new("merge", 4, (6, 6));
    let x = Network::INPUT;
    let a = net.add("a", Layer::Conv2d(conv(4, 3, 1)), &[x]);
    let b = net.add("b", Layer::Conv2d(conv(4, 5, 3).pad(1)), &[x]);
    let p = net.add("p", Layer::MaxPool2d(Pool2d::new(3, 1).pad(1)), &[x]);
    let cat = net.add("cat", Layer::Concat, &[a, b, p]);
    let c = net.add("c", Layer::Conv2d(conv(12, 12, 3).pad(1)), &[cat]);
    let r = net.add("relu", Layer::Activation(Activation::Relu), &[c]);
    net.add("add", Layer::Add, &[r, cat]);
    check(&net, 6, 6);
}

#[test]
fn a_pass_seeded_inside_stops_where_asked_and_skips_what_the_seed_ignores() {
    let Some(ctx) = gpu() else { return };
    let mut net = Network::new("branches", 3, (6, 6));
    let x = Network::INPUT;
    let a = net.add("a", Layer::Conv2d(conv(3, 4, 3).pad(1)), &[x]);
    let ra = net.add("ra", Layer::Activation(Activation::Relu), &[a]);
    let b = net.add("b", Layer::Conv2d(conv(3, 4, 1)), &[x]);
    net.add("sum", Layer::Add, &[ra, b]);
    let weights = Weights::random(&net, 7);
    let input = random_input(3, 6, 6, 11);
    let outputs = forward(&net, &weights, &input).unwrap();
    let plan =
        pollster::block_on(Plan::new(ctx, &net, &weights, 6, 6, PlanOptions::default())).unwrap();
    plan.forward(ctx, &input).unwrap();
    let mut back = pollster::block_on(BackwardPlan::new(ctx, &plan, &weights)).unwrap();
    // One unit of `ra`, back to `a` only: `b` and the input are not reached.
    let mut seed = vec![0.0f32; outputs[ra].len()];
    seed[17] = 1.0;
    back.run(ctx, &plan, ra, &seed, Mode::Deconvnet, a).unwrap();
    let got = pollster::block_on(back.read_many(ctx, &plan, &[x, a, b])).unwrap();
    assert!(got[0].is_none() && got[2].is_none(), "stopped at `a`");
    let seed64: Vec<f64> = seed.iter().map(|&v| v as f64).collect();
    let want = convscope::cpu::backward::Backward::new(
        &net,
        &weights,
        &outputs,
        ra,
        seed64,
        Mode::Deconvnet,
    )
    .unwrap()
    .stop_at(a)
    .run()
    .unwrap();
    let want: Vec<f32> = want[a]
        .as_ref()
        .unwrap()
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert_close("d/d a", &got[1].as_ref().unwrap().data, &want);
    let wrong = back.run(ctx, &plan, ra, &seed[1..], Mode::Gradient, 0);
    assert!(wrong.is_err(), "a seed of the wrong length is refused");
}

/// Convolutions with BatchNorms: a narrow strided stem (gathered), a strided depthwise layer
/// (spread), a 1x1 without an activation, and a 1x1 read by its BatchNorm and by an add (not
/// folded). The ids of stem, bn0, dw, bn1, pw, bn2, bn3 and the output.
fn folds_net() -> (Network, [NodeId; 8]) {
    let bn = |c: usize| {
        Layer::BatchNorm(BatchNorm {
            channels: c,
            eps: 1e-3,
        })
    };
    let relu6 = Layer::Activation(Activation::Relu6);
    let mut net = Network::new("folds", 3, (10, 10));
    let stem = net.add("stem", Layer::Conv2d(conv(3, 16, 3).stride(2).same()), &[0]);
    let bn0 = net.add("bn0", bn(16), &[stem]);
    let r0 = net.add("r0", relu6.clone(), &[bn0]);
    let dw = conv(16, 16, 3).groups(16).stride(2).same();
    let dw = net.add("dw", Layer::Conv2d(dw), &[r0]);
    let bn1 = net.add("bn1", bn(16), &[dw]);
    let r1 = net.add("r1", relu6, &[bn1]);
    let pw = net.add("pw", Layer::Conv2d(conv(16, 8, 1)), &[r1]);
    let bn2 = net.add("bn2", bn(8), &[pw]);
    let side = net.add("side", Layer::Conv2d(conv(16, 8, 1)), &[r1]);
    let bn3 = net.add("bn3", bn(8), &[side]);
    let sum = net.add("sum", Layer::Add, &[bn2, side]);
    let out = net.add("out", Layer::Add, &[sum, bn3]);
    (net, [stem, bn0, dw, bn1, pw, bn2, bn3, out])
}

#[test]
fn batchnorm_folds_into_the_convolution_backward_unless_the_convolution_has_other_readers() {
    let (net, [stem, bn0, dw, bn1, pw, bn2, bn3, _]) = folds_net();
    check(&net, 10, 10);
    let Some(ctx) = gpu() else { return };
    let weights = Weights::random(&net, 7);
    let plan = pollster::block_on(Plan::new(
        ctx,
        &net,
        &weights,
        10,
        10,
        PlanOptions::default(),
    ))
    .unwrap();
    let back = pollster::block_on(BackwardPlan::new(ctx, &plan, &weights)).unwrap();
    let folded: Vec<_> = [bn0, bn1, bn2, bn3].map(|b| back.folded_into(b)).into();
    assert_eq!(folded, [Some(stem), Some(dw), Some(pw), None]);
}

#[test]
fn a_folded_convolution_runs_back_plainly_where_the_pass_skips_its_batchnorm() {
    let Some(ctx) = gpu() else { return };
    let (net, [_, _, dw, _, pw, _, _, out]) = folds_net();
    let weights = Weights::random(&net, 7);
    let input = random_input(3, 10, 10, 11);
    let plan = pollster::block_on(Plan::new(
        ctx,
        &net,
        &weights,
        10,
        10,
        PlanOptions::default(),
    ))
    .unwrap();
    plan.forward(ctx, &input).unwrap();
    let mut back = pollster::block_on(BackwardPlan::new(ctx, &plan, &weights)).unwrap();
    let outputs = forward(&net, &weights, &input).unwrap();
    // Stopped at a folded convolution (Grad-CAM there): its BatchNorm runs as usual.
    let seed: Vec<f32> = (0..outputs[out].len())
        .map(|i| (i % 7) as f32 - 3.0)
        .collect();
    back.run(ctx, &plan, out, &seed, Mode::Guided, pw).unwrap();
    let got = pollster::block_on(back.read(ctx, &plan, pw))
        .unwrap()
        .unwrap();
    let seed64: Vec<f64> = seed.iter().map(|&v| v as f64).collect();
    let pass = convscope::cpu::backward::Backward::new(
        &net,
        &weights,
        &outputs,
        out,
        seed64,
        Mode::Guided,
    );
    let want = pass.unwrap().stop_at(pw).run().unwrap();
    let want: Vec<f32> = want[pw]
        .as_ref()
        .unwrap()
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert_close("d/d pw, stopped there", &got.data, &want);
    // Seeded at a folded convolution (a deconvnet unit there): it runs back on its plain
    // weights from its own gradient.
    let mut unit = vec![0.0f32; outputs[dw].len()];
    unit[5] = 1.0;
    back.run(ctx, &plan, dw, &unit, Mode::Deconvnet, 0).unwrap();
    let got = pollster::block_on(back.read(ctx, &plan, 0))
        .unwrap()
        .unwrap();
    let unit64: Vec<f64> = unit.iter().map(|&v| v as f64).collect();
    let want = backward(&net, &weights, &outputs, dw, unit64, Mode::Deconvnet).unwrap();
    let want: Vec<f32> = want[0]
        .as_ref()
        .unwrap()
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert_close("d/d input, seeded at dw", &got.data, &want);
}
