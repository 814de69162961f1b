//! `transfer`: a new head for EfficientNet-Lite0 trained on a Fashion-MNIST subset (transfer
//! learning's third way), against the same head on a random-weight EfficientNet-Lite0's
//! features; with `--train last`, the last convolution, its BatchNorm and the head retrained
//! too (the second way). Features are computed once and cached under `.cache/transfer/`,
//! keyed by model, weights, node and images.

use super::classify::shipped_weights;
use super::train::data;
use super::transfer_last::{retrain_last, BLOCK_NODE};
use super::CliError;
use convscope::engine::transfer::{source_name, FEATURE_NODE, TRANSFER_MODEL};
use convscope::engine::{Engine, Quiet, RANDOM_SEED};
use convscope::train::{
    train_head, Accuracy, Dataset, Features, Head, HeadConfig, FASHION_MNIST_CLASSES,
};
use convscope::weights::decode_f32;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `convscope transfer` retrains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Retrain {
    /// A new dense head on the frozen pooled features.
    Head,
    /// The last 1x1 convolution and its BatchNorm as well as the head.
    Last,
}

/// `convscope transfer`'s options.
#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// Training images per Fashion-MNIST class (the first ones of each class).
    #[arg(long, default_value_t = 100)]
    pub per_class: usize,
    /// Test images (the first ones of the test set).
    #[arg(long, default_value_t = 1000)]
    pub test: usize,
    /// `head`: only a new head; `last`: the last convolution and BatchNorm too.
    #[arg(long, value_enum, default_value_t = Retrain::Head)]
    pub train: Retrain,
    /// Where to write the head trained on the real weights' features (safetensors).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The feature cache (default: .cache/transfer in the source tree).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

/// The first `per_class` images of each class, in data-set order.
fn first_per_class(data: &Dataset, per_class: usize) -> Vec<usize> {
    let mut taken = vec![0; data.classes];
    (0..data.len())
        .filter(|&i| {
            let c = data.labels[i] as usize;
            taken[c] += 1;
            taken[c] <= per_class
        })
        .collect()
}

/// Image `i` of `data` as a greyscale picture (the model's preprocessing makes it RGB).
fn picture(data: &Dataset, i: usize) -> image::DynamicImage {
    let img =
        image::GrayImage::from_raw(data.cols as u32, data.rows as u32, data.image(i).to_vec())
            .expect("a data set image fills its rows x cols");
    image::DynamicImage::ImageLuma8(img)
}

/// Which weights, which node and which images: the cache file's name.
fn cache_path(dir: &Path, weights: &str, node: &str, data: &Dataset, indices: &[usize]) -> PathBuf {
    let mut h = Sha256::new();
    for &i in indices {
        h.update(data.image(i));
        h.update([data.labels[i]]);
    }
    let images = format!("{:x}", h.finalize());
    let node = node.trim_start_matches('_').replace('.', "-");
    dir.join(format!(
        "{TRANSFER_MODEL}-{weights}-{node}-{}.safetensors",
        &images[..16]
    ))
}

/// The loaded model's outputs at `nodes` for the images `indices`, from the cache or
/// computed (and cached).
fn features(
    engine: &Engine,
    paths: &[PathBuf],
    nodes: &[&str],
    data: &Dataset,
    indices: &[usize],
) -> Result<Vec<Features>, CliError> {
    let read = |p: &PathBuf| -> Option<Features> {
        let bytes = std::fs::read(p).ok()?;
        let file = safetensors::SafeTensors::deserialize(&bytes).ok()?;
        let t = file.tensor("features").ok()?;
        let (n, dim) = (t.shape()[0], t.shape()[1]);
        (n == indices.len()).then(|| Features {
            dim,
            data: decode_f32(t.data()),
        })
    };
    if let Some(cached) = paths.iter().map(read).collect::<Option<Vec<_>>>() {
        println!(
            "  {} images: features from the cache ({})",
            indices.len(),
            paths[0].display()
        );
        return Ok(cached);
    }
    let start = Instant::now();
    let mut out: Vec<Features> = nodes.iter().map(|_| Features::new(0)).collect();
    for (k, &i) in indices.iter().enumerate() {
        let values =
            pollster::block_on(engine.node_features(&picture(data, i), nodes, &mut Quiet))?;
        for (f, v) in out.iter_mut().zip(values) {
            f.dim = v.len();
            f.data.extend_from_slice(&v);
        }
        if (k + 1) % 250 == 0 {
            println!(
                "  features {}/{} ({:.0} s)",
                k + 1,
                indices.len(),
                start.elapsed().as_secs_f32()
            );
        }
    }
    println!(
        "  {} images: features computed on {} in {:.1} s",
        indices.len(),
        engine.backend().name(),
        start.elapsed().as_secs_f32()
    );
    for (f, p) in out.iter().zip(paths) {
        write_cache(p, f)?;
    }
    Ok(out)
}

fn write_cache(path: &Path, f: &Features) -> Result<(), CliError> {
    let io = |e: &dyn std::fmt::Display| CliError::Io(path.display().to_string(), e.to_string());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    }
    let tensor = convscope::tensor::Tensor::new(vec![f.len(), f.dim], f.data.clone());
    let bytes =
        convscope::weights::save_safetensors([("features", &tensor)]).map_err(|e| io(&e))?;
    std::fs::write(path, bytes).map_err(|e| io(&e))
}

/// Accuracy of `predicted` against the labels of `indices`.
fn accuracy(data: &Dataset, indices: &[usize], predicted: &[usize]) -> Accuracy {
    let mut acc = Accuracy {
        correct: 0,
        total: indices.len(),
        per_class: vec![[0, 0]; data.classes],
    };
    for (&i, &p) in indices.iter().zip(predicted) {
        let label = data.labels[i] as usize;
        let hit = (p == label) as usize;
        acc.correct += hit;
        acc.per_class[label][0] += hit;
        acc.per_class[label][1] += 1;
    }
    acc
}

/// The features at `nodes` of the training and the test images, from the cache in
/// `args.cache` (or computed and cached there), for the weights called `tag`.
fn cached_features(
    engine: &Engine,
    args: &TransferArgs,
    tag: &str,
    nodes: &[&str],
    (train_set, train_idx, test_set, test_idx): (&Dataset, &[usize], &Dataset, &[usize]),
) -> Result<(Vec<Features>, Vec<Features>), CliError> {
    let dir = args
        .cache
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/transfer"));
    let paths = |data, idx: &[usize]| -> Vec<PathBuf> {
        nodes
            .iter()
            .map(|n| cache_path(&dir, tag, n, data, idx))
            .collect()
    };
    let train_x = features(
        engine,
        &paths(train_set, train_idx),
        nodes,
        train_set,
        train_idx,
    )?;
    let test_x = features(
        engine,
        &paths(test_set, test_idx),
        nodes,
        test_set,
        test_idx,
    )?;
    Ok((train_x, test_x))
}

/// One network's result: the head and its test accuracy.
struct Outcome {
    head: Head,
    accuracy: Accuracy,
}

/// Loads EfficientNet-Lite0 with `weights` (random when `None`), gets the features, trains
/// and tests a head (and with `last` the last layers too).
fn run_one(
    engine: &Engine,
    args: &TransferArgs,
    tag: &str,
    weights: Option<&[u8]>,
    sets: (&Dataset, &[usize], &Dataset, &[usize]),
) -> Result<Outcome, CliError> {
    let (train_set, train_idx, test_set, test_idx) = sets;
    let report = pollster::block_on(engine.load_model(TRANSFER_MODEL, weights, &mut Quiet))?;
    println!("{TRANSFER_MODEL} with {}:", report.weights);
    let nodes: Vec<&str> = match args.train {
        Retrain::Head => vec![FEATURE_NODE],
        Retrain::Last => vec![FEATURE_NODE, BLOCK_NODE],
    };
    let (train_x, test_x) = cached_features(engine, args, tag, &nodes, sets)?;
    let labels: Vec<usize> = train_idx
        .iter()
        .map(|&i| train_set.labels[i] as usize)
        .collect();
    let classes = FASHION_MNIST_CLASSES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let source = source_name(TRANSFER_MODEL, weights.is_some());
    let start = Instant::now();
    let (head, report) = train_head(
        &source,
        &train_x[0],
        &labels,
        classes,
        &HeadConfig::default(),
    )
    .map_err(|e| CliError::Train(e.to_string()))?;
    let seconds = start.elapsed().as_secs_f32();
    let predicted = head
        .predict_all(&test_x[0])
        .map_err(|e| CliError::Train(e.to_string()))?;
    let tested = accuracy(test_set, test_idx, &predicted);
    println!(
        "  new head: trained in {seconds:.2} s (train accuracy {:.2}%), test accuracy {tested}",
        100.0 * report.train_accuracy
    );
    if args.train == Retrain::Last {
        let last = retrain_last(
            engine,
            head.classes.len(),
            &train_x[0],
            (&train_x[1], &labels),
            &test_x[1],
        )?;
        let acc = accuracy(test_set, test_idx, &last.predicted);
        let losses: Vec<String> = last.losses.iter().map(|l| format!("{l:.3}")).collect();
        println!(
            "  last conv + BatchNorm + head retrained in {:.1} s (loss per epoch {}): test accuracy {acc}",
            last.seconds,
            losses.join(", ")
        );
    }
    Ok(Outcome {
        head,
        accuracy: tested,
    })
}

pub fn transfer(args: TransferArgs) -> Result<(), CliError> {
    if args.per_class == 0 || args.test == 0 {
        return Err(CliError::BadArgument(
            "--per-class and --test must be at least 1".into(),
        ));
    }
    let (train_set, test_set) = data()?;
    let train_idx = first_per_class(&train_set, args.per_class);
    let test_idx: Vec<usize> = (0..args.test.min(test_set.len())).collect();
    let path = shipped_weights(TRANSFER_MODEL);
    let bytes = std::fs::read(&path).map_err(|e| {
        CliError::Io(
            path.display().to_string(),
            format!("{e} (run ./scripts/setup.sh, which makes it)"),
        )
    })?;
    let digest = format!("{:x}", Sha256::digest(&bytes));
    let engine = pollster::block_on(Engine::auto());
    println!(
        "transfer learning to Fashion-MNIST: {} training images ({} a class), {} test images; {}",
        train_idx.len(),
        args.per_class,
        test_idx.len(),
        engine.backend_reason()
    );
    let sets = (&train_set, &train_idx[..], &test_set, &test_idx[..]);
    let trained = run_one(
        &engine,
        &args,
        &format!("sha256-{}", &digest[..16]),
        Some(&bytes),
        sets,
    )?;
    let random = run_one(
        &engine,
        &args,
        &format!("random-seed{RANDOM_SEED}"),
        None,
        sets,
    )?;
    println!(
        "test accuracy of a new head: {:.2}% on trained features, {:.2}% on random-weight features (chance: 10%)",
        100.0 * trained.accuracy.fraction(),
        100.0 * random.accuracy.fraction()
    );
    if let Some(out) = &args.out {
        let bytes = trained
            .head
            .to_safetensors()
            .map_err(|e| CliError::Train(e.to_string()))?;
        std::fs::write(out, bytes)
            .map_err(|e| CliError::Io(out.display().to_string(), e.to_string()))?;
        println!("wrote the head (trained features) to {}", out.display());
    }
    Ok(())
}
