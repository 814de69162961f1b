//! Weights from any file convscope reads, told apart by their first bytes: safetensors, or a
//! PyTorch checkpoint (zip or legacy) whose state dict is checked against the network by the
//! same rule as safetensors (`validate::check_tensors`).

use super::torch::{TorchCheckpoint, TorchFormat};
use super::validate::{check_tensors, expected_tensors, FoundTensor, TensorProblem};
use super::{load_safetensors, Weights, WeightsError};
use crate::model::Network;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The tensors of a checkpoint that `net` takes, and what was done to fit them.
#[derive(Debug)]
pub struct TorchFit {
    /// Indices into `TorchCheckpoint::tensors` of the tensors the network owns.
    pub keep: Vec<usize>,
    /// Where the state dict was found, prefixes removed, modules ignored, said plainly.
    pub notes: Vec<String>,
}

/// Checks `checkpoint`'s state dict against `net` without decoding any values: every tensor
/// the network owns must be there with its shape and a floating-point type. Whole modules
/// the network does not have (torchvision's GoogLeNet checkpoints carry the auxiliary
/// classifiers `aux1`, `aux2`, which inference drops) are ignored and named in the notes,
/// but only when nothing else is wrong; otherwise every problem is reported.
pub fn check_torch(checkpoint: &TorchCheckpoint, net: &Network) -> Result<TorchFit, WeightsError> {
    let found = checkpoint.tensors.iter().map(|t| FoundTensor {
        name: &t.name,
        dtype: t.dtype,
        shape: &t.shape,
    });
    let problems = check_tensors(net, found);
    let roots: HashSet<&str> = net.nodes.iter().map(|n| root(&n.name)).collect();
    let foreign = |p: &TensorProblem| matches!(p, TensorProblem::Unexpected { tensor, .. } if !roots.contains(root(tensor)));
    if problems.iter().any(|p| !foreign(p)) {
        return Err(WeightsError::Mismatch {
            model: net.name.clone(),
            problems,
        });
    }
    let mut notes = checkpoint.notes.clone();
    let mut ignored: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &problems {
        *ignored.entry(root(p.tensor())).or_default() += 1;
    }
    if !ignored.is_empty() {
        let list: Vec<String> = ignored
            .iter()
            .map(|(m, n)| format!("`{m}` ({n} tensors)"))
            .collect();
        notes.push(format!(
            "ignored modules the model does not have: {}",
            list.join(", ")
        ));
    }
    let expected: BTreeSet<String> = expected_tensors(net).into_iter().map(|(n, _)| n).collect();
    let mut keep: Vec<usize> = (0..checkpoint.tensors.len())
        .filter(|&i| expected.contains(&checkpoint.tensors[i].name))
        .collect();
    keep.sort_by(|&a, &b| checkpoint.tensors[a].name.cmp(&checkpoint.tensors[b].name));
    Ok(TorchFit { keep, notes })
}

/// The first part of a dotted name: `aux1` of `aux1.conv.bn.weight`.
fn root(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// The weights of `net` from `bytes` in any format convscope reads (safetensors, or a
/// PyTorch checkpoint), checked against the network, and notes on how a checkpoint's state
/// dict was found (empty for safetensors).
pub fn load_weights(bytes: &[u8], net: &Network) -> Result<(Weights, Vec<String>), WeightsError> {
    if TorchFormat::sniff(bytes).is_none() {
        return Ok((load_safetensors(bytes, net)?, Vec::new()));
    }
    let checkpoint = TorchCheckpoint::read(bytes)?;
    let fit = check_torch(&checkpoint, net)?;
    let mut tensors = BTreeMap::new();
    for &i in &fit.keep {
        tensors.insert(checkpoint.tensors[i].name.clone(), checkpoint.decode(i)?);
    }
    Ok((Weights { tensors }, fit.notes))
}
