//! Every GPU kernel against the CPU reference, on random inputs and awkward shapes.

mod common;

use common::{assert_close, gpu, random_input};
use convscope::cpu;
use convscope::gpu::{ConvPath, Plan, PlanOptions};
use convscope::model::*;
use convscope::weights::Weights;

/// Run `net` on both paths (each conv path, and the tiled one with and without subgroups)
/// and compare every node.
fn check(net: &Network, h: usize, w: usize) {
    let Some(ctx) = gpu() else { return };
    let weights = Weights::random(net, 7);
    let input = random_input(net.input_channels(), h, w, 11);
    let expected = cpu::forward(net, &weights, &input).expect("cpu reference");
    for (conv, no_subgroups) in [
        (ConvPath::Tiled, false),
        (ConvPath::Tiled, true),
        (ConvPath::Naive, false),
    ] {
        let options = PlanOptions {
            conv,
            no_subgroups,
            ..Default::default()
        };
        let plan = pollster::block_on(Plan::new(ctx, net, &weights, h, w, options))
            .unwrap_or_else(|e| panic!("{}: plan: {e}", net.name));
        plan.forward(ctx, &input).unwrap();
        let ids: Vec<usize> = (0..net.nodes.len()).collect();
        let all = pollster::block_on(plan.read_many(ctx, &ids)).unwrap();
        for (id, node) in net.nodes.iter().enumerate() {
            let got = &all[id];
            assert_eq!(got.shape, expected[id].shape, "{} {}", net.name, node.name);
            assert_close(
                &format!(
                    "{} {} ({conv:?}, no subgroups: {no_subgroups})",
                    net.name, node.name
                ),
                &got.data,
                &expected[id].data,
            );
        }
    }
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

/// lavapipe has subgroups (of 8 with 256-bit vectors), so the suite checks the matrix product that shares weight
/// fetches across them as well as the one that does not.
#[test]
fn lavapipe_offers_subgroups_for_the_matrix_product() {
    let Some(ctx) = gpu() else { return };
    if ctx.info.name.contains("llvmpipe") {
        assert!(ctx.subgroup.is_some(), "{}", ctx.describe());
    }
}

#[test]
// A table of cases, then one loop over them.
#[allow(clippy::too_many_lines)]
fn convolutions_match_the_reference_on_awkward_shapes() {
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
            "depthwise, rows of whole texels (texture kernel)",
            conv(6, 6, 3).groups(6).pad(1),
            9,
            20,
        ),
        (
            "depthwise 5x5 stride 2 SAME, rows of whole texels",
            conv(5, 5, 5).groups(5).stride(2).same(),
            7,
            12,
        ),
        (
            "depthwise 3x3 stride 2 SAME, 16 wide, multiplier 2",
            conv(3, 6, 3).groups(3).stride(2).same(),
            16,
            16,
        ),
        (
            "depthwise dilation 2, pad 2, 4 wide",
            conv(4, 4, 3).groups(4).dilation(2).pad(2),
            5,
            4,
        ),
        (
            "depthwise multiplier 2",
            conv(3, 6, 3).groups(3).pad(1),
            5,
            5,
        ),
        (
            "asymmetric SAME stride 2 even",
            conv(3, 8, 3).stride(2).same(),
            12,
            12,
        ),
        (
            "asymmetric SAME 5x5 stride 2",
            conv(3, 8, 5).stride(2).same(),
            14,
            10,
        ),
        ("1x1 spatial input", conv(9, 7, 1), 1, 1),
        ("1x1 spatial padded 3x3", conv(4, 5, 3).pad(1), 1, 1),
        (
            "channels not divisible by 4",
            conv(3, 7, 3).pad(1).no_bias(),
            6,
            6,
        ),
        ("pointwise, tiles beyond 64", conv(13, 70, 1), 9, 11),
        ("deep K, several tiles", conv(40, 66, 3).pad(1), 9, 10),
        (
            "more pixels than one workgroup covers",
            conv(3, 10, 3).pad(1),
            20,
            21,
        ),
        ("pointwise, many pixels, 9 channels", conv(5, 9, 1), 23, 19),
        (
            "pointwise, X over several texture rows",
            conv(37, 20, 1),
            16,
            16,
        ),
        (
            "11x11 stride 4 like AlexNet",
            conv(3, 8, 11).stride(4).pad(2),
            35,
            35,
        ),
    ];
    for (what, c, h, w) in cases {
        let cin = c.in_channels;
        check(&single(what, cin, Layer::Conv2d(c)), h, w);
    }
}

#[test]
fn lenet_c3_table_and_subsampling_match() {
    let table = vec![vec![0, 1], vec![1, 2], vec![0, 1, 2], vec![2]];
    let mut net = Network::new("c3", 3, (9, 9));
    net.then(
        "c3",
        Layer::PartialConv2d(PartialConv2d {
            in_channels: 3,
            table,
            kernel: 3,
        }),
    );
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
fn pooling_matches_with_padding_and_ceil_mode() {
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
        ("avg include pad, ceil", Layer::AvgPool2d(include), 10, 9),
        ("avg exclude pad, ceil", Layer::AvgPool2d(exclude), 10, 9),
        (
            "avg 5/3 (GoogLeNet aux)",
            Layer::AvgPool2d(Pool2d::new(5, 3)),
            14,
            14,
        ),
        (
            "stride > window",
            Layer::MaxPool2d(Pool2d::new(2, 3)),
            11,
            11,
        ),
    ];
    for (what, layer, h, w) in cases {
        check(&single(what, 3, layer), h, w);
    }
}

#[test]
fn normalisation_and_activations_match() {
    check(&single("lrn", 7, Layer::Lrn(Lrn::alexnet())), 5, 6);
    check(
        &single(
            "lrn big alpha",
            6,
            Layer::Lrn(Lrn {
                size: 3,
                alpha: 0.5,
                beta: 0.75,
                k: 1.0,
            }),
        ),
        4,
        4,
    );
    check(
        &single(
            "bn",
            5,
            Layer::BatchNorm(BatchNorm {
                channels: 5,
                eps: 1e-3,
            }),
        ),
        6,
        7,
    );
    for a in [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::ScaledTanh,
        Activation::LeakyRelu { alpha: 0.2 },
    ] {
        let mut net = Network::new(a.name(), 3, (8, 8));
        // Scale values up so ReLU6's upper clip and the tanh tails are reached.
        net.then("conv", Layer::Conv2d(conv(3, 5, 3).pad(1)));
        net.then("act", Layer::Activation(a));
        check(&net, 7, 7);
    }
}

/// Leaky ReLU's alpha reaches every kernel that applies an activation: fused into a 3x3, a
/// pointwise and a depthwise convolution (the matrix-product, pointwise and depthwise
/// kernels, or the naive one) and on its own after a pooling; each with its own alpha, so
/// a pipeline shared across alphas would show.
#[test]
fn leaky_relu_alpha_reaches_every_kernel() {
    let leaky = |alpha| Layer::Activation(Activation::LeakyRelu { alpha });
    let mut net = Network::new("leaky", 3, (9, 9));
    net.then("conv", Layer::Conv2d(conv(3, 8, 3).pad(1)));
    net.then("leaky1", leaky(0.2));
    net.then("pw", Layer::Conv2d(conv(8, 12, 1)));
    net.then("leaky2", leaky(0.05));
    net.then("dw", Layer::Conv2d(conv(12, 12, 3).groups(12).same()));
    net.then("leaky3", leaky(0.5));
    net.then("pool", Layer::MaxPool2d(Pool2d::new(2, 2)));
    net.then("leaky4", leaky(0.01));
    check(&net, 9, 9);
}

#[test]
fn dense_rbf_softmax_and_pooling_heads_match() {
    let mut net = Network::new("head", 6, (5, 5));
    net.then("gap", Layer::GlobalAvgPool);
    net.then("fc1", Layer::Dense(Dense::new(6, 70)));
    net.then("drop", Layer::Dropout(Dropout { p: 0.5 }));
    net.then(
        "fc2",
        Layer::Dense(Dense {
            in_features: 70,
            out_features: 9,
            bias: false,
        }),
    );
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
    flat.then("softmax", Layer::Softmax);
    check(&flat, 5, 7);
}

#[test]
fn concat_and_add_match() {
    let mut net = Network::new("merge", 4, (6, 6));
    let x = Network::INPUT;
    let a = net.add("a", Layer::Conv2d(conv(4, 3, 1)), &[x]);
    let b = net.add("b", Layer::Conv2d(conv(4, 5, 3).pad(1)), &[x]);
    let p = net.add("p", Layer::MaxPool2d(Pool2d::new(3, 1).pad(1)), &[x]);
    let cat = net.add("cat", Layer::Concat, &[a, b, p]);
    let c = net.add("c", Layer::Conv2d(conv(12, 12, 3).pad(1)), &[cat]);
    net.add("add", Layer::Add, &[c, cat]);
    check(&net, 6, 6);
}

#[test]
fn dense_weights_split_over_buffers_when_the_binding_limit_is_small() {
    // 1000 rows of 300 floats = 1.2 MB; a 64 KiB limit forces 19 buffers of 54 rows.
    let Some(ctx) = gpu() else { return };
    let net = single("split", 300, Layer::Dense(Dense::new(300, 1000)));
    let weights = Weights::random(&net, 3);
    let input = random_input(300, 1, 1, 5);
    let expected = cpu::forward(&net, &weights, &input).unwrap();
    let options = PlanOptions {
        binding_limit: Some(64 * 1024),
        ..Default::default()
    };
    let plan = pollster::block_on(Plan::new(ctx, &net, &weights, 1, 1, options)).unwrap();
    assert!(
        plan.dispatch_count(1) >= 19,
        "{} dispatches",
        plan.dispatch_count(1)
    );
    plan.forward(ctx, &input).unwrap();
    let got = pollster::block_on(plan.read(ctx, 1)).unwrap();
    assert_close("split dense", &got.data, &expected[1].data);
}

#[test]
fn a_tensor_too_big_for_any_binding_is_a_clear_error() {
    let Some(ctx) = gpu() else { return };
    let net = single("big", 3, Layer::Conv2d(conv(3, 64, 3).pad(1)));
    let weights = Weights::random(&net, 3);
    let options = PlanOptions {
        binding_limit: Some(4096),
        ..Default::default()
    };
    let err = pollster::block_on(Plan::new(ctx, &net, &weights, 8, 8, options))
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(msg.contains("layer") && msg.contains("4096"), "{msg}");
}

#[test]
fn wrong_input_shape_is_rejected() {
    let Some(ctx) = gpu() else { return };
    let net = single("shape", 3, Layer::Activation(Activation::Relu));
    let weights = Weights::random(&net, 1);
    let plan =
        pollster::block_on(Plan::new(ctx, &net, &weights, 4, 4, PlanOptions::default())).unwrap();
    assert!(plan.forward(ctx, &random_input(3, 5, 4, 1)).is_err());
}

#[test]
fn batchnorm_and_activation_fold_into_the_convolution_and_stay_readable() {
    let Some(ctx) = gpu() else { return };
    let mut net = Network::new("fused", 6, (9, 9));
    let bn = |channels| {
        Layer::BatchNorm(BatchNorm {
            channels,
            eps: 1e-3,
        })
    };
    net.then("conv", Layer::Conv2d(conv(6, 20, 3).pad(1)));
    net.then("bn", bn(20));
    net.then("relu6", Layer::Activation(Activation::Relu6));
    net.then("pw", Layer::Conv2d(conv(20, 12, 1).no_bias()));
    net.then("pw_bn", bn(12));
    net.then("dw", Layer::Conv2d(conv(12, 12, 3).groups(12).same()));
    net.then("dw_relu", Layer::Activation(Activation::Relu));
    let (h, w) = (9, 9);
    let mut weights = Weights::random(&net, 5);
    let input = random_input(6, h, w, 8);
    let expected = cpu::calibrate_batchnorm(&net, &mut weights, &input).expect("cpu reference");
    let plan =
        pollster::block_on(Plan::new(ctx, &net, &weights, h, w, PlanOptions::default())).unwrap();
    // Each convolution's kernel does the work of the nodes it absorbed.
    for absorbed in ["bn", "relu6", "pw_bn", "dw_relu"] {
        let id = net.find(absorbed).unwrap();
        assert_eq!(plan.dispatch_count(id), 0, "{absorbed} runs on its own");
    }
    plan.forward(ctx, &input).unwrap();
    // The fused results first, then each absorbed node alone: its un-fused value must be
    // computed on demand, after the fused pass.
    let order = ["relu6", "pw_bn", "dw_relu", "conv", "bn", "pw", "dw"];
    for name in order {
        let id = net.find(name).unwrap();
        let got = pollster::block_on(plan.read(ctx, id)).unwrap();
        assert_close(&format!("fused {name}"), &got.data, &expected[id].data);
    }
    // A second pass on another input, read all at once, against the un-fused plan.
    let other = random_input(6, h, w, 9);
    let options = PlanOptions {
        separate_nodes: true,
        ..Default::default()
    };
    let separate = pollster::block_on(Plan::new(ctx, &net, &weights, h, w, options)).unwrap();
    plan.forward(ctx, &other).unwrap();
    separate.forward(ctx, &other).unwrap();
    let ids: Vec<usize> = (0..net.nodes.len()).collect();
    let fused = pollster::block_on(plan.read_many(ctx, &ids)).unwrap();
    let unfused = pollster::block_on(separate.read_many(ctx, &ids)).unwrap();
    for (id, node) in net.nodes.iter().enumerate() {
        assert_close(
            &format!("second pass {}", node.name),
            &fused[id].data,
            &unfused[id].data,
        );
    }
}

#[test]
fn convolutions_whose_unfolded_input_exceeds_a_binding_use_the_direct_kernel() {
    // 8 x 9 taps x 100 pixels unfold to 28.8 KB; a 16 KiB binding limit rules im2col out.
    let Some(ctx) = gpu() else { return };
    for (what, c) in [
        ("3x3 pad 1", conv(8, 21, 3).pad(1)),
        (
            "grouped 5x5 stride 2",
            conv(8, 6, 5).groups(2).stride(2).pad(2),
        ),
    ] {
        let net = single(what, 8, Layer::Conv2d(c));
        let weights = Weights::random(&net, 2);
        let input = random_input(8, 10, 10, 4);
        let expected = cpu::forward(&net, &weights, &input).unwrap();
        let options = PlanOptions {
            binding_limit: Some(16 * 1024),
            ..Default::default()
        };
        let plan = pollster::block_on(Plan::new(ctx, &net, &weights, 10, 10, options)).unwrap();
        assert_eq!(plan.dispatch_count(1), 1, "{what}: no im2col dispatch");
        plan.forward(ctx, &input).unwrap();
        let got = pollster::block_on(plan.read(ctx, 1)).unwrap();
        assert_close(what, &got.data, &expected[1].data);
    }
}
