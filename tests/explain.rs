//! The explanation methods on the CPU against published values and exact identities:
//! Captum's toy network (guided backprop, deconvnet, Grad-CAM), Grad-CAM's CAM equivalence on
//! GAP + dense heads, the deconvnet projection of a first-layer unit, and occlusion outside a
//! unit's receptive field; occlusion's fast-engine maps against the reference.

use convscope::analysis::analyze;
use convscope::cpu::backward::Mode;
use convscope::cpu::forward;
use convscope::explain::{ExplainError, Explainer, Occlusion, OcclusionSettings, Top9};
use convscope::model::{Activation, Conv2d, Dense, Layer, Network};
use convscope::predict::scores;
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Captum's `BasicModel_ConvNet_One_Conv` (captum/testing/helpers/basic_models.py): conv
/// 1 -> 2 channels 3x3 all ones, bias (-50, -75), ReLU; flatten to 8; dense 8 -> 4, every
/// row [1, 1, 1, 1, 1, -1, -1, -1], bias 0; ReLU. Input arange(16) as 4x4.
fn captum_toy() -> (Network, Weights, Tensor) {
    let mut net = Network::new("captum_one_conv", 1, (4, 4));
    net.then("conv1", Layer::Conv2d(Conv2d::new(1, 2, 3)));
    net.then("relu1", Layer::Activation(Activation::Relu));
    net.then("flatten", Layer::Flatten);
    net.then("fc1", Layer::Dense(Dense::new(8, 4)));
    net.then("relu2", Layer::Activation(Activation::Relu));
    let mut w = Weights::default();
    let mut put = |name: &str, shape: Vec<usize>, data: Vec<f32>| {
        w.tensors.insert(name.into(), Tensor::new(shape, data));
    };
    put("conv1.weight", vec![2, 1, 3, 3], vec![1.0; 18]);
    put("conv1.bias", vec![2], vec![-50.0, -75.0]);
    let row = [1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0];
    put("fc1.weight", vec![4, 8], row.repeat(4));
    put("fc1.bias", vec![4], vec![0.0; 4]);
    let input = Tensor::new(vec![1, 4, 4], (0..16).map(|v| v as f32).collect());
    (net, w, input)
}

#[test]
fn captum_toy_guided_backprop_deconvnet_and_grad_cam() {
    let (net, w, input) = captum_toy();
    let e = Explainer::new(&net, &w, &input).unwrap();
    // captum tests/attr/test_guided_backprop.py, test_simple_input_conv_gb.
    let guided = e.saliency(0, Mode::Guided).unwrap();
    let want = [
        0., 1., 1., 1., 1., 3., 3., 2., 1., 3., 3., 2., 1., 2., 2., 1.,
    ];
    assert_eq!(guided.data, want);
    // captum tests/attr/test_deconvolution.py, test_simple_input_conv_deconv: the
    // projection of class 0's score with deconvnet rectifiers.
    let mut pass = e.class_pass(0, Mode::Deconvnet).unwrap();
    while pass.step().unwrap().is_some() {}
    let deconv = e.input_tensor(pass.grad(0));
    let want = [
        2., 3., 3., 1., 3., 5., 5., 2., 3., 5., 5., 2., 1., 2., 2., 1.,
    ];
    assert_eq!(deconv.data, want);
    // captum tests/attr/layer/test_grad_cam.py, test_simple_input_conv: at conv1, before
    // the ReLU.
    let cam = e.grad_cam(net.find("conv1").unwrap(), 0).unwrap();
    assert_eq!((cam.h, cam.w), (2, 2));
    assert_eq!(cam.raw, [11.25, 13.5, 20.25, 22.5]);
    assert_eq!(cam.map, cam.raw);
}

#[test]
fn grad_cam_refuses_nodes_without_extent_or_after_the_scores() {
    let (net, w, input) = captum_toy();
    let e = Explainer::new(&net, &w, &input).unwrap();
    let fc = net.find("fc1").unwrap();
    let err = e.grad_cam(fc, 0).unwrap_err();
    assert!(matches!(err, ExplainError::NoSpatialExtent { .. }), "{err}");
    let err = e.grad_cam(net.find("relu2").unwrap(), 0).unwrap_err();
    assert!(matches!(err, ExplainError::AfterScores { .. }), "{err}");
    let err = e.saliency(4, Mode::Gradient).unwrap_err();
    assert!(err.to_string().contains("4 classes"), "{err}");
    let err = e.unit(1, 2, None).unwrap_err();
    assert!(err.to_string().contains("has 2 channels"), "{err}");
    let err = e.unit(1, 0, Some((2, 0))).unwrap_err();
    assert!(
        err.to_string().contains("outside node `conv1`'s 2x2"),
        "{err}"
    );
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

/// Grad-CAM §3.1: for GAP then dense, `alpha_k = w_ck / Z`, so the map before its ReLU sums
/// to `sum_k w_ck mean(A_k) = logit_c - bias_c` at the node feeding the pooling.
#[test]
fn grad_cam_before_relu_sums_to_logit_minus_bias_on_gap_heads() {
    for (model, size) in [
        ("resnet18", 64),
        ("googlenet_torchvision", 64),
        ("efficientnet_lite0", 64),
    ] {
        let net = convscope::zoo::build(model).unwrap();
        let weights = Weights::random(&net, 11);
        let input = random_input(3, size, size, 12);
        let e = Explainer::new(&net, &weights, &input).unwrap();
        let gap = net
            .nodes
            .iter()
            .position(|n| n.layer == Layer::GlobalAvgPool)
            .unwrap();
        let feeding = net.nodes[gap].inputs[0];
        let fc = net.output();
        let class = e.top_class();
        let cam = e.grad_cam(feeding, class).unwrap();
        let sum: f64 = cam.raw.iter().sum();
        let logit = e.outputs()[fc].data[class] as f64;
        let bias = weights.get(&net.nodes[fc].name, "bias").data[class] as f64;
        assert!(
            (sum - (logit - bias)).abs() <= 1e-4 * (1.0 + logit.abs()),
            "{model}: map sums to {sum}, logit - bias = {}",
            logit - bias
        );
    }
}

/// Through the first convolution alone, a unit's projection is its filter, placed where the
/// unit's window lies (clipped by the padding).
#[test]
fn deconvnet_of_a_first_layer_unit_is_its_filter_at_its_receptive_field() {
    let net = convscope::zoo::build("alexnet").unwrap();
    let weights = Weights::random(&net, 13);
    let input = random_input(3, 67, 67, 14);
    let e = Explainer::new(&net, &weights, &input).unwrap();
    let conv = 1; // features.0: 11x11, stride 4, padding 2.
    let filter = &weights.get(&net.nodes[conv].name, "weight").data;
    for (channel, y, x) in [(5, 0, 0), (17, 7, 3), (63, 14, 14)] {
        let unit = e.unit(conv, channel, Some((y, x))).unwrap();
        let p = e.deconvnet(unit).unwrap();
        for c in 0..3 {
            for iy in 0..67 {
                for ix in 0..67 {
                    let (ky, kx) = (
                        iy as i64 - (4 * y as i64 - 2),
                        ix as i64 - (4 * x as i64 - 2),
                    );
                    let inside = (0..11).contains(&ky) && (0..11).contains(&kx);
                    let want = if inside {
                        filter[((channel * 3 + c) * 11 + ky as usize) * 11 + kx as usize]
                    } else {
                        0.0
                    };
                    assert_eq!(
                        p.data[(c * 67 + iy) * 67 + ix],
                        want,
                        "unit {unit:?} at ({c},{iy},{ix})"
                    );
                }
            }
        }
    }
}

/// A patch wholly outside a unit's receptive field cannot change the unit; one inside does.
#[test]
fn occluder_outside_a_units_receptive_field_leaves_it_unchanged() {
    let net = convscope::zoo::build("alexnet").unwrap();
    let weights = Weights::random(&net, 15);
    let input = random_input(3, 99, 99, 16);
    let node = net.find("features.3").unwrap(); // conv2: field 51 pixels, jump 4
    let field = analyze(&net, 99, 99).unwrap().nodes[node].receptive_field;
    let base = forward(&net, &weights, &input).unwrap();
    let e = Explainer::from_outputs(&net, &weights, base.clone());
    let unit = e.unit(node, 3, Some((1, 1))).unwrap();
    let s = e.shape(node);
    let at = (unit.channel * s.h + unit.y) * s.w + unit.x;
    let (y0, x0) = (field.h.start + field.h.jump, field.w.start + field.w.jump);
    let (y1, x1) = (y0 + field.h.size, x0 + field.w.size);
    let settings = OcclusionSettings {
        patch: Some(16),
        stride: Some(16),
        ..Default::default()
    };
    let occ = Occlusion::new(&net, &weights, &input, &settings).unwrap();
    let (mut outside, mut changed_inside) = (0, 0);
    for i in 0..occ.maps().rows * occ.maps().cols {
        let (py, px) = (
            (i / occ.maps().cols * 16) as i64,
            (i % occ.maps().cols * 16) as i64,
        );
        let disjoint = py + 16 <= y0 || py >= y1 || px + 16 <= x0 || px >= x1;
        let v = forward(&net, &weights, &occ.occluded(i)).unwrap()[node].data[at];
        if disjoint {
            assert_eq!(
                v, base[node].data[at],
                "patch {i} outside the field changed the unit"
            );
            outside += 1;
        } else if v != base[node].data[at] {
            changed_inside += 1;
        }
    }
    assert!(
        outside >= 10 && changed_inside >= 1,
        "{outside} outside, {changed_inside} changed"
    );
}

/// The occlusion maps (fast engine) against the reference run position by position.
#[test]
fn occlusion_maps_match_the_reference() {
    let net = convscope::zoo::build("lenet5_modern").unwrap();
    let weights = Weights::random(&net, 17);
    let input = random_input(1, 28, 28, 18);
    let occ = Occlusion::new(&net, &weights, &input, &OcclusionSettings::default()).unwrap();
    // Defaults at 28 pixels: 32 * 28 / 224 = 4, 16 * 28 / 224 = 2; (28 - 4) / 2 + 1 = 13.
    assert_eq!(
        (occ.maps().patch, occ.maps().stride, occ.maps().rows),
        (4, 2, 13)
    );
    let patches: Vec<Tensor> = (0..169).map(|i| occ.occluded(i)).collect();
    let maps = occ.run().unwrap();
    for (i, x) in patches.iter().enumerate() {
        let outs = forward(&net, &weights, x).unwrap();
        let probs = scores(&net, &outs[net.output()].data).1;
        let p = maps.probability[i];
        assert!(
            (p - probs[maps.class]).abs() <= 1e-4,
            "position {i}: {p} vs {}",
            probs[maps.class]
        );
        let plane = outs[maps.node].shape[1] * outs[maps.node].shape[2];
        let total: f32 = outs[maps.node].data[maps.channel * plane..][..plane]
            .iter()
            .sum();
        assert!((maps.activation[i] - total).abs() <= 1e-3 * (1.0 + total.abs()));
    }
    assert!(maps
        .probability
        .iter()
        .any(|&p| p != maps.unoccluded_probability));
}

/// Top-9 keeps the nine inputs with the strongest unit of each channel, best first, and cuts
/// each patch from the input at the unit's receptive field.
#[test]
fn top9_ranks_inputs_by_their_strongest_unit() {
    let net = convscope::zoo::build("lenet5_modern").unwrap();
    let weights = Weights::random(&net, 19);
    let node = net.find("conv2").or_else(|| net.find("c3")).unwrap_or(3);
    let images: Vec<Tensor> = (0..14).map(|i| random_input(1, 28, 28, 100 + i)).collect();
    let mut top = Top9::new(&net, &weights, node, &[0, 2], (28, 28)).unwrap();
    for x in &images {
        top.add(x).unwrap();
    }
    let entries = top.entries(&net, &weights, |i| images[i].clone()).unwrap();
    for (k, &channel) in [0usize, 2].iter().enumerate() {
        let mut best: Vec<(f32, usize)> = images
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let o = &forward(&net, &weights, x).unwrap()[node];
                let plane = o.shape[1] * o.shape[2];
                let m = o.data[channel * plane..][..plane]
                    .iter()
                    .fold(f32::MIN, |a, &b| a.max(b));
                (m, i)
            })
            .collect();
        best.sort_by(|a, b| b.0.total_cmp(&a.0));
        let got: Vec<usize> = entries[k].iter().map(|e| e.image).collect();
        let want: Vec<usize> = best.iter().take(9).map(|b| b.1).collect();
        assert_eq!(got, want, "channel {channel}");
        for e in &entries[k] {
            let inside = |y: i64, x: i64| (0..28).contains(&y) && (0..28).contains(&x);
            for y in 0..e.height {
                for x in 0..e.width {
                    let (sy, sx) = (e.top + y as i64, e.left + x as i64);
                    let want = if inside(sy, sx) {
                        images[e.image].data[(sy * 28 + sx) as usize]
                    } else {
                        0.0
                    };
                    assert_eq!(e.patch.data[y * e.width + x], want);
                }
            }
            assert!(
                e.projection.data.iter().any(|&v| v != 0.0),
                "a projection reaches its field"
            );
        }
    }
}
