//! The classic zoo (LeNet, AlexNet, ZFNet, VGG, NiN) against the numbers its sources publish.

use convscope::model::{Layer, ModelError, Network, Shape};
use convscope::zoo;

const CLASSIC: &[&str] = &[
    "lenet5",
    "lenet5_modern",
    "alexnet_original",
    "alexnet",
    "zfnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "nin",
];

fn build(name: &str) -> Network {
    zoo::build(name).unwrap_or_else(|| panic!("zoo has no `{name}`"))
}

fn node<'a>(net: &'a Network, name: &str) -> &'a Layer {
    let id = net
        .find(name)
        .unwrap_or_else(|| panic!("{} has no node `{name}`", net.name));
    &net.nodes[id].layer
}

/// Output shape of node `name` at the network's default input size.
fn shape_at_default(net: &Network, name: &str) -> Shape {
    let (h, w) = net.default_input;
    let shapes = net.infer_shapes(h, w).expect("default input must work");
    shapes[net.find(name).unwrap_or_else(|| panic!("no node `{name}`"))]
}

#[test]
fn every_classic_model_infers_shapes_at_its_default_input() {
    for name in CLASSIC {
        let net = build(name);
        let (h, w) = net.default_input;
        let shapes = net
            .infer_shapes(h, w)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let classes = if name.starts_with("lenet") { 10 } else { 1000 };
        assert_eq!(shapes[net.output()], Shape::flat(classes), "{name}");
        assert_eq!(net.outputs, vec![net.nodes.len() - 1], "{name}");
    }
}

#[test]
fn lenet5_per_layer_params_match_the_1998_paper() {
    let net = build("lenet5");
    // LeCun et al. 1998, §II-B: trainable parameters of each layer as the text states them;
    // the output's 840 is its 10 RBF units of 84 weights each (§II-B, eq. 7).
    let expected = [
        ("c1", 156),
        ("s2", 12),
        ("c3", 1_516),
        ("s4", 32),
        ("c5", 48_120),
        ("f6", 10_164),
        ("output", 840),
    ];
    for (name, params) in expected {
        assert_eq!(node(&net, name).params(), params, "{name}");
    }
    // LeCun et al. 1998, §II-B: "C1 is a convolutional layer with 6 feature maps ... The size
    // of the feature maps is 28x28".
    assert_eq!(shape_at_default(&net, "c1"), Shape::new(6, 28, 28));
    // §II-B: S2 14x14, C3 10x10, S4 5x5, C5 1x1 (120 units), F6 84 units.
    assert_eq!(shape_at_default(&net, "s2"), Shape::new(6, 14, 14));
    assert_eq!(shape_at_default(&net, "c3"), Shape::new(16, 10, 10));
    assert_eq!(shape_at_default(&net, "s4"), Shape::new(16, 5, 5));
    assert_eq!(shape_at_default(&net, "c5"), Shape::new(120, 1, 1));
    assert_eq!(shape_at_default(&net, "f6"), Shape::flat(84));
}

#[test]
fn lenet5_c3_connections_match_table_one() {
    // LeCun et al. 1998, Table I, transcribed in the paper's own layout: one row per S2 map,
    // one column per C3 map, X where the C3 map reads the S2 map.
    const TABLE_I: [&str; 6] = [
        "X   XXX  XXXX XX",
        "XX   XXX  XXXX X",
        "XXX   XXX  X XXX",
        " XXX  XXXX  X XX",
        "  XXX  XXXX XX X",
        "   XXX  XXXX XXX",
    ];
    let net = build("lenet5");
    let Layer::PartialConv2d(c3) = node(&net, "c3") else {
        panic!("c3 must be a PartialConv2d");
    };
    assert_eq!(c3.table.len(), 16);
    for (output, inputs) in c3.table.iter().enumerate() {
        let from_paper: Vec<usize> = (0..6)
            .filter(|&input| TABLE_I[input].as_bytes()[output] == b'X')
            .collect();
        assert_eq!(inputs, &from_paper, "C3 map {output}");
    }
    // §II-B: 60 connections of 25 weights, plus 16 biases = 1,516 parameters.
    assert_eq!(c3.connections(), 60);
}

#[test]
fn lenet5_modern_has_the_usual_61706_params() {
    let net = build("lenet5_modern");
    // Layer-by-layer sum of the common coding (d2l.ai, "LeNet"): conv1 156 + conv2 2,416
    // + fc1 48,120 + fc2 10,164 + fc3 850.
    assert_eq!(net.params(), 61_706);
    assert_eq!(shape_at_default(&net, "pool2"), Shape::new(16, 5, 5));
}

#[test]
fn torchvision_parameter_totals() {
    // torchvision model documentation ("num_params" of each model's IMAGENET1K_V1 weights).
    let expected = [
        ("alexnet", 61_100_840),
        ("vgg11", 132_863_336),
        ("vgg11_bn", 132_868_840),
        ("vgg13", 133_047_848),
        ("vgg13_bn", 133_053_736),
        ("vgg16", 138_357_544),
        ("vgg16_bn", 138_365_992),
        ("vgg19", 143_667_240),
        ("vgg19_bn", 143_678_248),
    ];
    for (name, params) in expected {
        assert_eq!(build(name).params(), params, "{name}");
    }
}

#[test]
fn alexnet_uses_torchvision_module_names() {
    // torchvision models/alexnet.py: the indexes of `features` and `classifier`.
    let net = build("alexnet");
    for conv in [
        "features.0",
        "features.3",
        "features.6",
        "features.8",
        "features.10",
    ] {
        assert!(matches!(node(&net, conv), Layer::Conv2d(_)), "{conv}");
    }
    for pool in ["features.2", "features.5", "features.12"] {
        assert!(matches!(node(&net, pool), Layer::MaxPool2d(_)), "{pool}");
    }
    for dense in ["classifier.1", "classifier.4", "classifier.6"] {
        assert!(matches!(node(&net, dense), Layer::Dense(_)), "{dense}");
    }
    for drop in ["classifier.0", "classifier.3"] {
        assert!(matches!(node(&net, drop), Layer::Dropout(_)), "{drop}");
    }
    // At 224x224 the last pool already gives 6x6, the size AdaptiveAvgPool2d((6, 6)) targets.
    assert_eq!(shape_at_default(&net, "features.0"), Shape::new(64, 55, 55));
    assert_eq!(shape_at_default(&net, "features.12"), Shape::new(256, 6, 6));
}

#[test]
fn vgg_layout_follows_torchvision_indexes() {
    // torchvision models/vgg.py: the last max-pool of `features` (conv, [bn,] relu per
    // convolution plus one pool per block) sits at these indexes.
    let last_pool = [
        ("vgg11", 20),
        ("vgg11_bn", 28),
        ("vgg13", 24),
        ("vgg13_bn", 34),
        ("vgg16", 30),
        ("vgg16_bn", 43),
        ("vgg19", 36),
        ("vgg19_bn", 52),
    ];
    for (name, index) in last_pool {
        let net = build(name);
        let pool = format!("features.{index}");
        assert!(
            matches!(node(&net, &pool), Layer::MaxPool2d(_)),
            "{name} {pool}"
        );
        // Simonyan & Zisserman 2014, §2.1 and Table 1: five 2x2 pools take 224 to 7, and the
        // first dense layer reads 512 x 7 x 7 = 25,088 values.
        assert_eq!(
            shape_at_default(&net, &pool),
            Shape::new(512, 7, 7),
            "{name}"
        );
        assert!(
            net.find(&format!("features.{}", index + 1)).is_none(),
            "{name}"
        );
    }
    let bn = build("vgg16_bn");
    assert!(matches!(node(&bn, "features.1"), Layer::BatchNorm(_)));
    assert!(matches!(node(&bn, "features.2"), Layer::Activation(_)));
    // Simonyan & Zisserman 2014, Table 1: configuration D has 13 convolutions, E 16.
    let convs = |net: &Network| {
        net.nodes
            .iter()
            .filter(|n| matches!(n.layer, Layer::Conv2d(_)))
            .count()
    };
    assert_eq!(convs(&build("vgg16")), 13);
    assert_eq!(convs(&build("vgg19_bn")), 16);
}

#[test]
fn alexnet_original_keeps_the_two_gpu_grouping() {
    // Krizhevsky et al. 2012, §3.5 and Fig. 2: kernels of layers 2, 4 and 5 connect only to
    // maps on their own GPU; layer 3 connects to all maps of layer 2.
    let net = build("alexnet_original");
    let groups = |name: &str| match node(&net, name) {
        Layer::Conv2d(c) => c.groups,
        other => panic!("{name} is {other:?}"),
    };
    assert_eq!(groups("conv1"), 1);
    assert_eq!(groups("conv2"), 2);
    assert_eq!(groups("conv3"), 1);
    assert_eq!(groups("conv4"), 2);
    assert_eq!(groups("conv5"), 2);
    // Sum of the layer sizes in Fig. 2 with the grouping above; Caffe's bvlc_alexnet, which
    // keeps the grouping, has the same 60,965,224 ("60 million parameters", §1 and §4).
    assert_eq!(net.params(), 60_965_224);
}

#[test]
fn alexnet_original_shapes_match_figure_two() {
    // Krizhevsky et al. 2012, Fig. 2 (both towers together): 55x55x96, 27x27x256, 13x13x384,
    // 13x13x384, 13x13x256, then 4096, 4096, 1000.
    let net = build("alexnet_original");
    assert_eq!(net.default_input, (227, 227));
    let expected = [
        ("conv1", Shape::new(96, 55, 55)),
        ("pool1", Shape::new(96, 27, 27)),
        ("conv2", Shape::new(256, 27, 27)),
        ("pool2", Shape::new(256, 13, 13)),
        ("conv3", Shape::new(384, 13, 13)),
        ("conv4", Shape::new(384, 13, 13)),
        ("conv5", Shape::new(256, 13, 13)),
        ("pool5", Shape::new(256, 6, 6)),
        ("fc6", Shape::flat(4096)),
        ("fc7", Shape::flat(4096)),
        ("fc8", Shape::flat(1000)),
    ];
    for (name, shape) in expected {
        assert_eq!(shape_at_default(&net, name), shape, "{name}");
    }
    assert!(matches!(node(&net, "norm1"), Layer::Lrn(_)));
    assert!(matches!(node(&net, "norm2"), Layer::Lrn(_)));
}

#[test]
fn zfnet_shapes_match_figure_three() {
    // Zeiler & Fergus 2013, Fig. 3: 110 (conv1), 55 (pool1), 26 (conv2), 13 (pool2),
    // 13, 13, 13 (conv3-5), 6 (pool5).
    let net = build("zfnet");
    let expected = [
        ("conv1", Shape::new(96, 110, 110)),
        ("pool1", Shape::new(96, 55, 55)),
        ("conv2", Shape::new(256, 26, 26)),
        ("pool2", Shape::new(256, 13, 13)),
        ("conv3", Shape::new(384, 13, 13)),
        ("conv4", Shape::new(384, 13, 13)),
        ("conv5", Shape::new(256, 13, 13)),
        ("pool5", Shape::new(256, 6, 6)),
        ("fc6", Shape::flat(4096)),
    ];
    for (name, shape) in expected {
        assert_eq!(shape_at_default(&net, name), shape, "{name}");
    }
    // Zeiler & Fergus 2013, §3: dense connections replace AlexNet's grouped layers 3-5.
    for conv in ["conv3", "conv4", "conv5"] {
        let Layer::Conv2d(c) = node(&net, conv) else {
            panic!("{conv} must be a convolution");
        };
        assert_eq!(c.groups, 1, "{conv}");
    }
}

#[test]
fn nin_shapes_follow_the_caffe_model() {
    // NIN-Imagenet prototxt (Caffe Model Zoo) at a 224 crop: 54 after conv1, 27 / 13 / 6
    // after the three ceil-mode pools, 1000 maps averaged to the logits.
    let net = build("nin");
    let expected = [
        ("conv1", Shape::new(96, 54, 54)),
        ("cccp2", Shape::new(96, 54, 54)),
        ("pool1", Shape::new(96, 27, 27)),
        ("cccp4", Shape::new(256, 27, 27)),
        ("pool2", Shape::new(256, 13, 13)),
        ("pool3", Shape::new(384, 6, 6)),
        ("cccp8-1024", Shape::new(1000, 6, 6)),
        ("pool4", Shape::flat(1000)),
    ];
    for (name, shape) in expected {
        assert_eq!(shape_at_default(&net, name), shape, "{name}");
    }
    // Lin et al. 2013, §3.2: no dense layers; global average pooling gives the class scores.
    assert!(net
        .nodes
        .iter()
        .all(|n| !matches!(n.layer, Layer::Dense(_))));
    // ReLU after every convolution (the prototxt's relu0 ... relu12).
    for (i, n) in net.nodes.iter().enumerate() {
        if matches!(n.layer, Layer::Conv2d(_)) {
            assert!(
                matches!(net.nodes[i + 1].layer, Layer::Activation(_)),
                "{} has no ReLU",
                n.name
            );
        }
    }
}

#[test]
fn too_small_an_input_is_an_error_not_a_panic() {
    for name in CLASSIC {
        let net = build(name);
        let result = net.infer_shapes(8, 8);
        assert!(
            matches!(result, Err(ModelError::InputTooSmall { .. })),
            "{name}: {result:?}"
        );
    }
}
