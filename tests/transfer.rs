//! Transfer learning: the new head's loss gradient against finite differences, training that
//! separates a separable set (and does so the same way twice), a saved head that reloads with
//! bit-identical predictions, the messages bad head files get, and the page's flow (examples
//! from images through EfficientNet-Lite0's pooled features, a head, its guesses) natively.

use convscope::engine::transfer::{TeachError, Teacher, FEATURE_DIM, FEATURE_NODE, TRANSFER_MODEL};
use convscope::engine::{Backend, Engine, Quiet};
use convscope::tensor::Tensor;
use convscope::train::{
    gradients, head_network, train_head, Batch, Features, Head, HeadConfig, HeadError, Mode,
};
use convscope::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

fn asset(path: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(path);
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/setup.sh",
        p.display()
    );
    p
}

/// `n` points a class around `k` well-separated centres in `dim` dimensions, with an offset
/// and scale far from zero mean and unit variance (as ReLU6 features are).
fn blobs(k: usize, n: usize, dim: usize, seed: u64) -> (Features, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..k)
        .map(|_| (0..dim).map(|_| rng.random_range(0.0..4.0)).collect())
        .collect();
    let (mut x, mut labels) = (Features::new(dim), Vec::new());
    for i in 0..k * n {
        let c = i % k;
        let row: Vec<f32> = centres[c]
            .iter()
            .map(|m| 3.0 + 5.0 * (m + rng.random_range(-0.6..0.6)))
            .collect();
        x.push(&row);
        labels.push(c);
    }
    (x, labels)
}

fn names(k: usize) -> Vec<String> {
    (0..k).map(|c| format!("class {c}")).collect()
}

fn head_weights(dim: usize, k: usize, rng: &mut StdRng) -> Weights {
    let mut tensors = BTreeMap::new();
    let mut random = |len| (0..len).map(|_| rng.random_range(-0.5..0.5)).collect();
    tensors.insert(
        "head.weight".into(),
        Tensor::new(vec![k, dim], random(k * dim)),
    );
    tensors.insert("head.bias".into(), Tensor::new(vec![k], random(k)));
    Weights { tensors }
}

#[test]
fn head_loss_gradient_matches_finite_differences() {
    let (dim, k, n) = (6, 3, 5);
    let mut rng = StdRng::seed_from_u64(7);
    let net = head_network(dim, k);
    let weights = head_weights(dim, k, &mut rng);
    let mut batch = Batch::zeros(n, convscope::model::Shape::new(dim, 1, 1));
    batch
        .data
        .iter_mut()
        .for_each(|v| *v = rng.random_range(-2.0..2.0));
    let labels: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
    let loss = |w: &Weights| {
        gradients(&net, w, &batch, &labels, Mode::Eval, 0.0)
            .unwrap()
            .loss
    };
    let analytic = gradients(&net, &weights, &batch, &labels, Mode::Eval, 0.0).unwrap();
    let h = 1e-2f32;
    for name in ["head.weight", "head.bias"] {
        let len = weights.tensors[name].data.len();
        for i in 0..len {
            let mut plus = weights.clone();
            plus.tensors.get_mut(name).unwrap().data[i] += h;
            let mut minus = weights.clone();
            minus.tensors.get_mut(name).unwrap().data[i] -= h;
            let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h as f64);
            let got = analytic.params.tensors[name].data[i] as f64;
            assert!(
                (got - numeric).abs() <= 1e-3 + 1e-2 * numeric.abs(),
                "{name}[{i}]: analytic {got}, finite differences {numeric}"
            );
        }
    }
}

#[test]
fn training_separates_a_separable_set_the_same_way_twice() {
    let (x, labels) = blobs(3, 20, 16, 1);
    let (held_out, held_labels) = blobs(3, 10, 16, 1);
    let cfg = HeadConfig::default();
    let (head, report) = train_head("blobs/x", &x, &labels, names(3), &cfg).unwrap();
    assert_eq!(report.train_accuracy, 1.0, "{report:?}");
    assert!(report.final_loss < 0.1, "{report:?}");
    let predicted = head.predict_all(&held_out).unwrap();
    assert_eq!(predicted, held_labels);
    let (again, _) = train_head("blobs/x", &x, &labels, names(3), &cfg).unwrap();
    assert_eq!(again, head, "the same seed must give the same head");
    let other = HeadConfig { seed: 1, ..cfg };
    let (shuffled, _) = train_head("blobs/x", &x, &labels, names(3), &other).unwrap();
    assert_ne!(shuffled.weights, head.weights, "the seed draws the order");
}

#[test]
fn a_saved_head_reloads_with_the_same_predictions_bit_for_bit() {
    let (x, labels) = blobs(4, 8, FEATURE_DIM, 3);
    let source = format!("{TRANSFER_MODEL}/{FEATURE_NODE}");
    let classes = vec![
        "mug".into(),
        "hand".into(),
        "cat".into(),
        "desk, wooden".into(),
    ];
    let (head, _) = train_head(&source, &x, &labels, classes, &HeadConfig::default()).unwrap();
    let bytes = head.to_safetensors().unwrap();
    assert_eq!(
        bytes,
        head.to_safetensors().unwrap(),
        "equal heads give equal bytes"
    );
    let loaded = Head::from_safetensors(&bytes, FEATURE_DIM, &source).unwrap();
    assert_eq!(loaded, head);
    let bits = |h: &Head| -> Vec<u32> {
        h.scores_all(&x)
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(&loaded), bits(&head));
}

/// A head file with `classes` in its metadata and a weight of `rows x dim`.
fn head_file(classes: &[&str], rows: usize, dim: usize) -> Vec<u8> {
    let meta = serde_json::json!({ "classes": classes, "features": "x/y" }).to_string();
    let weight = vec![0u8; rows * dim * 4];
    let bias = vec![0u8; rows * 4];
    let views = vec![
        (
            "head.weight",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![rows, dim], &weight)
                .unwrap(),
        ),
        (
            "head.bias",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![rows], &bias)
                .unwrap(),
        ),
    ];
    let metadata = HashMap::from([("convscope_transfer_head".to_string(), meta)]);
    safetensors::serialize(views, Some(metadata)).unwrap()
}

#[test]
fn bad_head_files_are_refused_with_a_message_that_says_why() {
    let load = |bytes: &[u8]| {
        Head::from_safetensors(bytes, FEATURE_DIM, "efficientnet_lite0/_avg_pooling").unwrap_err()
    };
    let png = std::fs::read(asset("photos/chelsea.png")).unwrap();
    assert!(
        matches!(load(&png), HeadError::NotSafetensors(_)),
        "{}",
        load(&png)
    );
    let weights = std::fs::read(asset("weights/lenet5.safetensors")).unwrap();
    let e = load(&weights);
    assert_eq!(e, HeadError::NoMetadata);
    assert!(e.to_string().contains("model picker"), "{e}");
    let e = load(&head_file(&["a", "b"], 2, 1000));
    assert!(
        matches!(
            e,
            HeadError::Features {
                found: 1000,
                expected: 1280,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("1000 features"), "{e}");
    let e = load(&head_file(&["a", "b", "c"], 2, FEATURE_DIM));
    assert_eq!(e, HeadError::ClassMismatch { named: 3, rows: 2 });
    let e = load(&head_file(&["alone"], 1, FEATURE_DIM));
    assert_eq!(e, HeadError::ClassCount { named: 1 });
    let good = head_file(&["a", "b"], 2, FEATURE_DIM);
    assert!(Head::from_safetensors(&good, FEATURE_DIM, "x/y").is_ok());
    let e = load(&good[..good.len() - 3]);
    assert!(
        e.to_string().contains("truncated") || e.to_string().contains("not safetensors"),
        "{e}"
    );
    let e = load(b"PK\x03\x04 a zip checkpoint, cut short");
    assert!(e.to_string().contains("not a transfer head"), "{e}");
}

#[test]
fn the_teacher_says_what_is_missing_before_training() {
    let mut t = Teacher::default();
    let cfg = HeadConfig::default();
    let now = || 0.0;
    let two = vec!["left".to_string(), "right".to_string()];
    assert!(matches!(
        t.train(&two[..1], &cfg, now),
        Err(TeachError::OneClass)
    ));
    t.add(0, &[1.0, 2.0], "m/n").unwrap();
    let e = t.train(&two, &cfg, now).unwrap_err();
    assert!(e.to_string().contains("\"right\" has no examples"), "{e}");
    let blank = vec!["left".to_string(), "  ".to_string()];
    assert!(matches!(
        t.train(&blank, &cfg, now),
        Err(TeachError::Unnamed { number: 2 })
    ));
    assert!(matches!(t.predict(&[1.0, 2.0]), Err(TeachError::NoHead)));
    assert!(matches!(
        t.add(5, &[1.0, 2.0], "m/n"),
        Err(TeachError::NoSuchClass { number: 6 })
    ));
    t.add(1, &[-1.0, 0.0], "m/n").unwrap();
    assert_eq!(&t.counts()[..2], [1, 1]);
    t.add(1, &[3.0, 3.0], "other/n").unwrap();
    assert_eq!(
        &t.counts()[..2],
        [0, 1],
        "examples of other features are dropped"
    );
}

/// A `size x size` image of colour `rgb` with seeded noise.
fn noisy(rgb: [u8; 3], seed: u64) -> image::DynamicImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let img = image::RgbImage::from_fn(96, 96, |_, _| {
        image::Rgb(rgb.map(|c| c.saturating_add(rng.random_range(0..40))))
    });
    image::DynamicImage::ImageRgb8(img)
}

#[test]
fn the_page_flow_names_two_taught_classes_right_on_the_cpu_engine() {
    let engine = pollster::block_on(Engine::new(Backend::Cpu));
    let net = convscope::zoo::build(TRANSFER_MODEL).unwrap();
    let shapes = net.infer_shapes(224, 224).unwrap();
    assert_eq!(shapes[net.find(FEATURE_NODE).unwrap()].c, FEATURE_DIM);
    let lenet = std::fs::read(asset("weights/lenet5.safetensors")).unwrap();
    pollster::block_on(engine.load_model("lenet5", Some(&lenet), &mut Quiet)).unwrap();
    let e =
        pollster::block_on(engine.pooled_features(&noisy([0, 0, 0], 0), &mut Quiet)).unwrap_err();
    assert!(
        e.to_string().contains("load efficientnet_lite0 first"),
        "{e}"
    );
    let bytes = std::fs::read(asset("weights/efficientnet_lite0.safetensors")).unwrap();
    pollster::block_on(engine.load_model(TRANSFER_MODEL, Some(&bytes), &mut Quiet)).unwrap();
    let features = |img| pollster::block_on(engine.pooled_features(&img, &mut Quiet)).unwrap();
    let mut teacher = Teacher::default();
    for seed in 0..3 {
        let (f, source) = features(noisy([200, 30, 30], seed));
        assert_eq!(source, "efficientnet_lite0/_avg_pooling");
        teacher.add(0, &f, &source).unwrap();
        let (f, source) = features(noisy([30, 60, 210], seed));
        teacher.add(1, &f, &source).unwrap();
    }
    let names = vec!["red".to_string(), "blue".to_string()];
    let taught = teacher
        .train(&names, &HeadConfig::default(), || 0.0)
        .unwrap();
    assert_eq!(taught.per_class, [3, 3]);
    assert_eq!(taught.report.train_accuracy, 1.0);
    let (red, _) = features(noisy([190, 40, 20], 99));
    let (blue, _) = features(noisy([20, 50, 220], 99));
    assert_eq!(teacher.predict(&red).unwrap().name, "red");
    assert_eq!(teacher.predict(&blue).unwrap().name, "blue");
    let saved = teacher.save().unwrap();
    let mut reloaded = Teacher::default();
    assert_eq!(reloaded.load(&saved).unwrap(), names);
    for f in [&red, &blue] {
        assert_eq!(reloaded.predict(f).unwrap(), teacher.predict(f).unwrap());
    }
}

#[test]
fn the_retrained_tail_computes_what_the_network_computes_and_learns() {
    use convscope::train::{forward_batch, tail, TailConfig};
    let net = convscope::zoo::build(TRANSFER_MODEL).unwrap();
    let weights = Weights::random(&net, 3);
    let (from, to) = ("_blocks.15._bn2", FEATURE_NODE);
    let mut rng = StdRng::seed_from_u64(5);
    let (n, size) = (6, 32);
    let mut input = Batch::zeros(n, convscope::model::Shape::new(3, size, size));
    input
        .data
        .iter_mut()
        .for_each(|v| *v = rng.random_range(-1.0..1.0));
    let outputs = forward_batch(&net, &weights, &input, Mode::Eval).unwrap();
    let (b, p) = (
        &outputs[net.find(from).unwrap()],
        &outputs[net.find(to).unwrap()],
    );
    let block = Features {
        dim: b.shape.len(),
        data: b.data.clone(),
    };
    let pooled = Features {
        dim: p.shape.len(),
        data: p.data.clone(),
    };
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let mut t = tail(&net, &weights, (from, to), b.shape, 2, &pooled).unwrap();
    assert_eq!(t.layers, ["_conv_head", "_bn1", "_relu1", "_avg_pooling"]);
    let tail_batch = Batch {
        n,
        shape: b.shape,
        data: block.data.clone(),
    };
    let tail_out = forward_batch(&t.net, &t.weights, &tail_batch, Mode::Eval).unwrap();
    let ours = &tail_out[t.net.find(to).unwrap()].data;
    for (x, y) in ours.iter().zip(&pooled.data) {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-4 * y.abs(),
            "tail {x} vs network {y}"
        );
    }
    let before = t.weights.get("_conv_head", "weight").clone();
    let cfg = TailConfig {
        epochs: 8,
        batch_size: 3,
        ..TailConfig::default()
    };
    let losses = t.train(&block, &labels, &cfg).unwrap();
    assert!(
        losses.last().unwrap() < &(0.5 * losses[0]),
        "losses {losses:?}"
    );
    assert_ne!(
        t.weights.get("_conv_head", "weight"),
        &before,
        "the last convolution is retrained"
    );
    assert_eq!(t.predict(&block).unwrap(), labels);
}
