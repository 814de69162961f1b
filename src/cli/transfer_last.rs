//! `transfer --train last`: the loaded EfficientNet-Lite0's last 1x1 convolution, its
//! BatchNorm and a head retrained on the cached outputs of the block before them.

use super::CliError;
use convscope::engine::transfer::FEATURE_NODE;
use convscope::engine::Engine;
use convscope::model::Shape;
use convscope::train::{tail, Features, TailConfig};
use std::time::Instant;

/// The node before the last 1x1 convolution (`_conv_head`): what `--train last` starts from.
pub const BLOCK_NODE: &str = "_blocks.15._bn2";

/// The retrained tail's predictions on the test set, and how long training took.
pub struct LastResult {
    pub predicted: Vec<usize>,
    pub seconds: f32,
    pub losses: Vec<f32>,
}

/// Retrains the last layers with a new head of `classes` outputs on `block` (the outputs of
/// [`BLOCK_NODE`]; `pooled`, the pooled features of the same images) with `labels`, and
/// predicts `test_block`.
pub fn retrain_last(
    engine: &Engine,
    classes: usize,
    pooled: &Features,
    (block, labels): (&Features, &[usize]),
    test_block: &Features,
) -> Result<LastResult, CliError> {
    let (net, weights) = engine.network_and_weights()?;
    let shapes = net.infer_shapes(224, 224)?;
    let input: Shape = shapes[net.find(BLOCK_NODE).expect("EfficientNet-Lite0 has it")];
    let train = |e: convscope::train::TrainError| CliError::Train(e.to_string());
    let mut t = tail(
        &net,
        &weights,
        (BLOCK_NODE, FEATURE_NODE),
        input,
        classes,
        pooled,
    )
    .map_err(train)?;
    let start = Instant::now();
    let losses = t
        .train(block, labels, &TailConfig::default())
        .map_err(train)?;
    let seconds = start.elapsed().as_secs_f32();
    let predicted = t.predict(test_block).map_err(train)?;
    Ok(LastResult {
        predicted,
        seconds,
        losses,
    })
}
