//! The analysis module against the numbers the papers and torchvision publish.

use convscope::analysis::{
    analyze, compare_bottleneck, compare_heads, compare_inception, compare_kernels, flops, Field1d,
    FLOPS_PER_MAC,
};
use convscope::model::{Activation, Conv2d, Layer, Network, Pool2d, Shape};
use convscope::zoo;

fn analysis_of(name: &str) -> convscope::analysis::Analysis {
    let net = zoo::build(name).unwrap();
    let (h, w) = net.default_input;
    analyze(&net, h, w).unwrap()
}

#[test]
fn lenet5_matches_the_1998_paper_accounting() {
    // LeCun, Bottou, Bengio & Haffner 1998, §II-B: parameters / connections per layer.
    let a = analysis_of("lenet5");
    let expect = [
        ("c1", 156, 122_304),
        ("s2", 12, 5_880),
        ("c3", 1_516, 151_600),
        ("s4", 32, 2_000),
        ("c5", 48_120, 48_120),
        ("f6", 10_164, 10_164),
        ("output", 840, 840),
    ];
    for (name, params, connections) in expect {
        let n = a
            .node(name)
            .unwrap_or_else(|| panic!("lenet5 has no node {name}"));
        assert_eq!(n.params, params, "{name} parameters");
        assert_eq!(n.connections, connections, "{name} connections");
    }
    // §II-B: "C1 ... feature maps ... of size 28x28".
    assert_eq!(a.node("c1").unwrap().output_shape, Shape::new(6, 28, 28));
}

#[test]
fn resnet_bottleneck_has_16_94x_fewer_weights_than_two_plain_3x3() {
    // He et al. 2015, Fig. 5: 256-d input, 1x1 64, 3x3 64, 1x1 256, no biases.
    let c = compare_bottleneck(256, 64, 56, 56).unwrap();
    assert_eq!(c.b.params, 69_632);
    assert_eq!(c.a.params, 1_179_648);
    assert!((c.params_ratio - 16.94).abs() < 0.005, "{}", c.params_ratio);
}

#[test]
fn inception_1x1_reduction_cuts_5x5_cost_tenfold() {
    // Szegedy et al. 2014 §4; the 120M / 12.4M figures are the standard worked example
    // (e.g. Andrew Ng's deeplearning.ai course): 28x28x192 -> 32 5x5 "same" filters.
    let c = compare_inception(192, 16, 32, 28, 28).unwrap();
    assert_eq!(c.a.macs, 120_422_400);
    assert_eq!(c.b.macs, 12_443_648);
    assert_eq!(c.a.output_shape, Shape::new(32, 28, 28));
}

#[test]
fn vgg_stacks_of_3x3_beat_large_kernels() {
    // Simonyan & Zisserman 2014, §2.3: two 3x3 layers: 2(3^2 C^2) = 18C^2 weights, field 5,
    // against 25C^2 for a 5x5; three: 27C^2, field 7, against 49C^2 for a 7x7.
    for c in [1usize, 8, 64] {
        let c2 = (c * c) as u64;
        let five = compare_kernels(c, c, 32, 32, 5).unwrap();
        assert_eq!((five.a.params, five.b.params), (25 * c2, 18 * c2));
        assert_eq!((five.a.rf_size, five.b.rf_size), (5, 5));
        assert_eq!((five.a.nonlinearities, five.b.nonlinearities), (1, 2));
        let seven = compare_kernels(c, c, 32, 32, 7).unwrap();
        assert_eq!((seven.a.params, seven.b.params), (49 * c2, 27 * c2));
        assert_eq!((seven.a.rf_size, seven.b.rf_size), (7, 7));
        assert_eq!(seven.b.layers, 3);
    }
    assert!(compare_kernels(8, 8, 32, 32, 4).is_err());
}

#[test]
fn global_average_pooling_head_is_far_smaller_than_a_dense_head() {
    // 7x7x512 map: VGG-16's head has 102,764,544 + 16,781,312 + 4,097,000 parameters
    // (torchvision vgg16 classifier); a GAP head has 512 * 1000 + 1000.
    let c = compare_heads(512, 7, 7, 4096, 1000).unwrap();
    assert_eq!(c.a.params, 123_642_856);
    assert_eq!(c.b.params, 513_000);
}

#[test]
fn macs_match_torchvision_published_gflops_within_1_percent() {
    // torchvision model docs, "GFLOPS" column (which counts multiply-adds) at 224x224.
    for (name, gmacs) in [("alexnet", 0.71), ("vgg16", 15.47), ("resnet50", 4.09)] {
        let a = analysis_of(name);
        let got = a.totals.macs as f64 / 1e9;
        assert!(
            (got - gmacs).abs() / gmacs < 0.01,
            "{name}: {got} GMACs against {gmacs}"
        );
        assert_eq!(a.totals.flops, flops(a.totals.macs));
    }
    assert_eq!(FLOPS_PER_MAC, 2);
}

#[test]
fn vgg16_pool5_receptive_field_is_212_with_stride_32() {
    // Araujo, Norris & Sim 2019, "Computing Receptive Fields of CNNs" (Distill), Table: VGG-16 pool5 212 / 32.
    let a = analysis_of("vgg16");
    let pool5 = a.node("features.30").unwrap();
    assert_eq!(pool5.kind, "maxpool");
    assert_eq!(pool5.receptive_field.h.size, 212);
    assert_eq!(pool5.receptive_field.h.jump, 32);
    assert_eq!(pool5.receptive_field.w, pool5.receptive_field.h);
}

#[test]
fn alexnet_conv1_field_and_first_position() {
    // 11x11 stride 4 padding 2: unit 0 covers input pixels -2..8.
    let a = analysis_of("alexnet");
    let f = a.node("features.0").unwrap().receptive_field.h;
    assert_eq!(
        f,
        Field1d {
            size: 11,
            jump: 4,
            start: -2
        }
    );
    assert_eq!(f.clipped(0, 224), (0, 8));
    assert_eq!(f.clipped(54, 224), (214, 223));
}

/// Two branches of different reach joined by `merge`, then a 3x3 conv.
fn two_branch(merge: Layer) -> Network {
    let mut net = Network::new("branches", 4, (16, 16));
    let x = Network::INPUT;
    let a = net.add("a", Layer::Conv2d(Conv2d::new(4, 4, 1)), &[x]);
    let p = net.add("b_pool", Layer::MaxPool2d(Pool2d::new(3, 1).pad(1)), &[x]);
    let b = net.add("b_conv", Layer::Conv2d(Conv2d::new(4, 4, 5).pad(2)), &[p]);
    let m = net.add("merge", merge, &[a, b]);
    let r = net.add("relu", Layer::Activation(Activation::Relu), &[m]);
    net.add(
        "after",
        Layer::Conv2d(Conv2d::new(net_channels(&net, r), 4, 3).pad(1)),
        &[r],
    );
    net
}

fn net_channels(net: &Network, id: usize) -> usize {
    net.infer_shapes(16, 16).unwrap()[id].c
}

#[test]
fn branching_field_is_the_union_over_paths() {
    // Rule (src/analysis/receptive.rs): a merge node's field spans the smallest start to
    // the largest end of its inputs. Path a: 1x1 -> field 1 at 0; path b: 3x3 pool then
    // 5x5 conv -> 7 starting at -3. Union: 7 at -3; then a 3x3 conv: 9 at -4.
    for merge in [Layer::Concat, Layer::Add] {
        let net = two_branch(merge);
        let a = analyze(&net, 16, 16).unwrap();
        assert_eq!(a.node("a").unwrap().receptive_field.h.size, 1);
        let m = a.node("merge").unwrap().receptive_field.h;
        assert_eq!(
            m,
            Field1d {
                size: 7,
                jump: 1,
                start: -3
            }
        );
        let after = a.node("after").unwrap().receptive_field.w;
        assert_eq!(
            after,
            Field1d {
                size: 9,
                jump: 1,
                start: -4
            }
        );
    }
}

#[test]
fn inception_module_field_is_its_widest_branch() {
    // In inception3a the 5x5 branch (1x1 then 5x5) reaches 2 pixels further each side
    // than the pool branch (3x3 pool then 1x1); the union must equal the 5x5 branch.
    for model in ["googlenet", "googlenet_torchvision"] {
        let a = analysis_of(model);
        let concat = a
            .nodes
            .iter()
            .find(|n| n.kind == "concat" && n.name.starts_with("inception3a"))
            .unwrap_or_else(|| panic!("{model}: no inception3a concat"));
        let widest = concat
            .inputs
            .iter()
            .map(|i| a.node(i).unwrap().receptive_field.h.size)
            .max()
            .unwrap();
        assert_eq!(concat.receptive_field.h.size, widest, "{model}");
        let smallest = concat
            .inputs
            .iter()
            .map(|i| a.node(i).unwrap().receptive_field.h.size)
            .min()
            .unwrap();
        assert!(
            smallest < widest,
            "{model}: branches should differ in reach"
        );
    }
}

#[test]
fn resnet_add_field_covers_the_residual_path() {
    // The shortcut of layer1.0 is the identity: the add's field is the 3x3-3x3 path's.
    let a = analysis_of("resnet18");
    let add = a.nodes.iter().find(|n| n.kind == "add").unwrap();
    let sizes: Vec<i64> = add
        .inputs
        .iter()
        .map(|i| a.node(i).unwrap().receptive_field.h.size)
        .collect();
    assert_eq!(add.receptive_field.h.size, *sizes.iter().max().unwrap());
}

#[test]
fn same_padding_and_ceil_mode_shapes() {
    // TensorFlow SAME: out = ceil(in / stride); PyTorch ceil_mode: ceil((in - k) / s) + 1.
    let mut net = Network::new("t", 3, (225, 225));
    net.then("same", Layer::Conv2d(Conv2d::new(3, 8, 3).stride(2).same()));
    net.then("ceilpool", Layer::MaxPool2d(Pool2d::new(3, 2).ceil()));
    net.then("floorpool", Layer::MaxPool2d(Pool2d::new(3, 2)));
    let s = net.infer_shapes(224, 224).unwrap();
    assert_eq!(s[1], Shape::new(8, 112, 112));
    assert_eq!(s[2], Shape::new(8, 56, 56)); // ceil((112-3)/2)+1 = 56
    assert_eq!(s[3], Shape::new(8, 27, 27)); // floor((56-3)/2)+1 = 27
    let s = net.infer_shapes(225, 225).unwrap();
    assert_eq!(s[1].h, 113);
    // SAME with stride 2 on an even input pads 0 before and 1 after: unit 0 starts at 0.
    let a = analyze(&net, 224, 224).unwrap();
    assert_eq!(a.node("same").unwrap().receptive_field.h.start, 0);
}

#[test]
fn impossible_configurations_name_the_node() {
    let net = zoo::build("vgg16").unwrap();
    let err = analyze(&net, 16, 16).unwrap_err().to_string();
    assert!(err.contains("features."), "{err}");
    let mut bad = Network::new("bad", 3, (8, 8));
    bad.then("conv", Layer::Conv2d(Conv2d::new(4, 8, 3)));
    let err = bad.infer_shapes(8, 8).unwrap_err().to_string();
    assert!(
        err.contains("`conv`") && err.contains("4-channel") && err.contains("3x8x8"),
        "{err}"
    );
}
