//! What each family added, measured on a pass (`engine::families`): the numbers of the GPU
//! and the fast CPU engine equal the f64 CPU reference's for the same photo, and the pieces
//! are checked against what they must be (finite differences for the derivatives, the
//! residual blocks the papers list, LRN's bound, AlexNet's overlapping windows).

use convscope::engine::families::{activation_curves, channel_moments, residual_inputs};
use convscope::engine::families_alexnet::family_nodes;
use convscope::engine::families_report::FamilyReport;
use convscope::engine::{Backend, Engine, Quiet};
use convscope::gpu::GpuContext;
use convscope::model::Activation;
use convscope::tensor::Tensor;
use convscope::zoo;
use serde_json::Value;
use std::path::PathBuf;

fn photo(name: &str) -> image::DynamicImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/photos")
        .join(name);
    image::open(&p).unwrap_or_else(|e| panic!("{}: {e}: run ./scripts/setup.sh", p.display()))
}

fn report(engine: &Engine, model: &str) -> FamilyReport {
    pollster::block_on(engine.load_model(model, None, &mut Quiet)).unwrap();
    pollster::block_on(engine.classify(&photo("coffee.png"), &mut Quiet)).unwrap();
    pollster::block_on(engine.family_report()).unwrap()
}

/// Numbers within `2e-3 + 2e-3 |want|`, everything else equal; panics with the JSON path.
fn assert_same(path: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) if !(g.is_u64() && w.is_u64()) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= 2e-3 + 2e-3 * w.abs(),
                "{path}: {g} against the reference's {w}"
            );
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: lengths");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_same(&format!("{path}[{i}]"), g, w);
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            for (k, w) in w {
                assert_same(&format!("{path}.{k}"), &g[k], w);
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

fn gpu_engine() -> Option<Engine> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(Engine::with_gpu(ctx)),
        Err(e) if std::env::var_os("CONVSCOPE_REQUIRE_GPU").is_some() => {
            panic!("CONVSCOPE_REQUIRE_GPU is set but {e}")
        }
        Err(e) => {
            eprintln!("skipping the GPU half: {e}");
            None
        }
    }
}

/// One model per family view: GoogLeNet's heads, ResNet's blocks and BatchNorms, AlexNet's
/// LRN and pools, EfficientNet's ReLU6 ceilings, LeNet-5's saturated tanh.
#[test]
fn family_numbers_of_the_gpu_and_the_cpu_engine_equal_the_reference() {
    let engines = [
        (
            "reference",
            Some(pollster::block_on(Engine::new(Backend::Reference))),
        ),
        ("cpu", Some(pollster::block_on(Engine::new(Backend::Cpu)))),
        ("gpu", gpu_engine()),
    ];
    for model in [
        "googlenet",
        "resnet18",
        "alexnet_original",
        "efficientnet_lite0",
        "lenet5",
    ] {
        let mut reports = engines
            .iter()
            .filter_map(|(name, e)| e.as_ref().map(|e| (name, report(e, model))));
        let (_, reference) = reports.next().unwrap();
        let want = serde_json::to_value(&reference).unwrap();
        check_reference(model, &reference);
        for (name, got) in reports {
            let got = serde_json::to_value(&got).unwrap();
            assert_same(&format!("{model} on {name}"), &got, &want);
        }
    }
}

/// What the reference's report must hold for each model, from the papers.
fn check_reference(model: &str, r: &FamilyReport) {
    match model {
        "googlenet" => {
            // Szegedy et al. 2014, §5: two auxiliary classifiers beside the main one.
            let heads: Vec<&str> = r.heads.heads.iter().map(|h| h.node.as_str()).collect();
            assert_eq!(heads, ["softmax", "aux1.softmax", "aux2.softmax"]);
            assert_eq!(r.heads.aux_loss_weight, 0.3);
            for h in &r.heads.heads {
                let p: f32 = h.top5.iter().map(|p| p.probability).sum();
                assert!(
                    h.top5.len() == 5 && p > 0.0 && p <= 1.0 + 1e-5,
                    "{}",
                    h.node
                );
            }
        }
        "resnet18" => {
            // Eight basic blocks; the first of layers 2-4 downsamples through a projection.
            assert_eq!(r.residual.len(), 8);
            let projections: Vec<&str> = r
                .residual
                .iter()
                .filter(|b| !b.identity)
                .map(|b| b.shortcut.as_str())
                .collect();
            assert_eq!(
                projections,
                [
                    "layer2.0.downsample.1",
                    "layer3.0.downsample.1",
                    "layer4.0.downsample.1"
                ]
            );
            assert!(r.residual.iter().all(|b| b.branch.ends_with(".bn2")));
            assert!(r
                .residual
                .iter()
                .all(|b| b.ratio > 0.0 && b.ratio.is_finite()));
            assert_eq!(r.batchnorm.len(), 20);
            let dead = &r.activations[0];
            assert!(
                dead.zero.unwrap() > 0.0 && dead.zero.unwrap() < 1.0,
                "{dead:?}"
            );
        }
        "alexnet_original" => check_alexnet(r),
        "efficientnet_lite0" => {
            let relu6 = r.activations.iter().filter(|a| a.kind == "relu6");
            assert!(relu6.clone().count() > 30);
            assert!(relu6
                .clone()
                .all(|a| a.ceiling.is_some() && a.zero.is_some()));
            assert!(relu6.map(|a| a.ceiling.unwrap()).sum::<f64>() > 0.0);
            // Nine MBConv blocks of stride 1 with as many channels out as in add their input.
            assert_eq!(r.residual.len(), 9);
            assert!(r.residual.iter().all(|b| b.identity));
        }
        "lenet5" => {
            let tanh = &r.activations[0];
            assert_eq!(tanh.kind, "scaled_tanh");
            let s = tanh.saturated.unwrap();
            assert!((0.0..=1.0).contains(&s) && tanh.zero.is_none());
        }
        _ => unreachable!(),
    }
}

/// Each activation's derivative against a central finite difference, away from the kinks.
#[test]
fn activation_derivatives_match_finite_differences() {
    let all = [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::ScaledTanh,
    ];
    for a in all {
        for i in -80..=80 {
            let u = i as f64 / 10.0 + 0.05;
            let h = 1e-3;
            let f = |x: f64| a.apply(x as f32) as f64;
            let numeric = (f(u + h) - f(u - h)) / (2.0 * h);
            let slope = a.slope(u as f32) as f64;
            assert!(
                (slope - numeric).abs() <= 2e-3,
                "{} at {u}: {slope} against {numeric}",
                a.name()
            );
        }
    }
    // Sigmoid's slope is at most 1/4 (at 0) and vanishes as it saturates.
    assert_eq!(Activation::Sigmoid.slope(0.0), 0.25);
    assert!(Activation::Sigmoid.slope(10.0) < 1e-4);
    assert_eq!(Activation::Relu6.slope(7.0), 0.0);
}

#[test]
fn activation_curves_sample_the_five_functions_evenly() {
    let c = activation_curves(-6.0, 8.0, 141);
    assert_eq!(c.x.len(), 141);
    assert_eq!((c.x[0], c.x[140]), (-6.0, 8.0));
    assert!((c.x[70] - 1.0).abs() < 1e-6);
    let names: Vec<&str> = c.curves.iter().map(|c| c.name).collect();
    assert_eq!(names, ["sigmoid", "tanh", "relu", "relu6", "leaky_relu"]);
    let relu6 = &c.curves[3];
    assert_eq!((relu6.value[140], relu6.derivative[140]), (6.0, 0.0));
    assert_eq!(relu6.derivative[70], 1.0);
    // Leaky ReLU at alpha 0.1: -0.6 and slope 0.1 at x = -6, x and slope 1 at x = 1.
    let leaky = &c.curves[4];
    assert!((leaky.value[0] + 0.6).abs() < 1e-6 && leaky.derivative[0] == 0.1);
    assert_eq!((leaky.value[70], leaky.derivative[70]), (c.x[70], 1.0));
}

#[test]
fn channel_moments_are_each_channels_mean_and_population_deviation() {
    let t = Tensor::new(vec![2, 1, 4], vec![1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0]);
    let m = channel_moments(&t);
    assert_eq!(m[0].0, 2.5);
    assert!((m[0].1 - 1.25f64.sqrt()).abs() < 1e-12);
    assert_eq!(m[1], (5.0, 0.0));
}

/// ResNet-50 has 16 bottleneck blocks, four with a projection shortcut (He et al. 2015,
/// Table 1: 3 + 4 + 6 + 3); GoogLeNet has no residual connections.
#[test]
fn residual_blocks_are_found_from_the_graph() {
    let net = (zoo::entry("resnet50").unwrap().build)();
    let blocks: Vec<_> = (0..net.nodes.len())
        .filter_map(|id| residual_inputs(&net, id))
        .collect();
    assert_eq!(blocks.len(), 16);
    assert_eq!(blocks.iter().filter(|b| !b.2).count(), 4);
    let google = family_nodes(&(zoo::entry("googlenet").unwrap().build)());
    assert!(google.residual.is_empty() && google.heads.len() == 3);
}

/// Krizhevsky et al. 2012: LRN's bound (§3.3) and the overlapping 3x3/2 pools (§3.4).
fn check_alexnet(r: &FamilyReport) {
    // Krizhevsky et al. 2012 §3.3: b = a / (k + alpha sum a^2)^beta with k = 2,
    // beta = 0.75, so no channel keeps more than 2^-0.75 of its norm.
    assert_eq!(r.lrn.len(), 2);
    for l in &r.lrn {
        let kept: Vec<f64> = l.kept.iter().flatten().copied().collect();
        assert!(
            kept.len() > l.shape[0] / 2,
            "{}: {} live channels",
            l.node,
            kept.len()
        );
        assert!(kept
            .iter()
            .all(|&k| k > 0.0 && k <= 2f64.powf(-0.75) + 1e-9));
        assert_eq!(l.before.len(), l.shape[1] * l.shape[2]);
    }
    // §3.4: three 3x3 max pools of stride 2; neighbouring windows share a column.
    assert_eq!(r.pools.len(), 3);
    for p in &r.pools {
        assert!(p.overlapping && p.kernel == [3, 3] && p.stride == [2, 2]);
        assert_eq!(&p.windows[..2], &[[0, 0, 2, 2], [0, 2, 2, 4]]);
    }
}
