//! Checking tensors against a network's `Layer::tensors()`, by one rule (every tensor a layer
//! owns is there with its documented shape) applied to files, where every problem is collected
//! so one run tells a person everything to fix, and to weights in memory, which every
//! computation checks before it starts.

use super::Weights;
use crate::model::{Layer, Network};
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};
use std::fmt;
use thiserror::Error;

/// Tensors a file may carry that no layer owns: torchvision's BatchNorm saves its training
/// step counter `num_batches_tracked`, which inference does not use.
pub fn is_ignored(name: &str) -> bool {
    name.ends_with(".num_batches_tracked")
}

/// One thing wrong with one tensor of a network's weights, in a file or in memory.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TensorProblem {
    /// The model needs the tensor; the weights do not have it.
    #[error("missing tensor `{tensor}` (expected {})", Dims(expected))]
    Missing {
        tensor: String,
        expected: Vec<usize>,
    },
    /// The file has a tensor no layer of the model owns.
    #[error(
        "unexpected tensor `{tensor}` ({}): no layer of the model owns it",
        Dims(shape)
    )]
    Unexpected { tensor: String, shape: Vec<usize> },
    /// The file stores the tensor in another element type than F32.
    #[error("tensor `{tensor}` is {found}; convert it to F32")]
    WrongDtype { tensor: String, found: String },
    /// The tensor exists but has another shape.
    #[error(
        "tensor `{tensor}` has shape {}, the model expects {}",
        Dims(found),
        Dims(expected)
    )]
    ShapeMismatch {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// The name is given twice.
    #[error("tensor `{tensor}` appears twice")]
    Duplicate { tensor: String },
    /// A tensor in memory whose values do not fill its shape (`Tensor`'s fields are public).
    #[error("tensor `{tensor}`: {len} values do not fill shape {}", Dims(shape))]
    Length {
        tensor: String,
        shape: Vec<usize>,
        len: usize,
    },
}

impl TensorProblem {
    /// The tensor this problem is about.
    pub fn tensor(&self) -> &str {
        match self {
            TensorProblem::Missing { tensor, .. }
            | TensorProblem::Unexpected { tensor, .. }
            | TensorProblem::WrongDtype { tensor, .. }
            | TensorProblem::ShapeMismatch { tensor, .. }
            | TensorProblem::Duplicate { tensor }
            | TensorProblem::Length { tensor, .. } => tensor,
        }
    }
}

/// `[32, 3, 3, 3]` as `32x3x3x3`, a scalar as `scalar`.
struct Dims<'a>(&'a [usize]);

impl fmt::Display for Dims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "scalar");
        }
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        write!(f, "{}", dims.join("x"))
    }
}

/// Every problem, one a line, for `WeightsError::Mismatch`.
pub(crate) fn list_problems(model: &str, problems: &[TensorProblem]) -> String {
    let mut s = format!(
        "the weights do not fit model `{model}` ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  - ");
        s.push_str(&p.to_string());
    }
    s
}

/// A tensor as found in a file.
pub struct FoundTensor<'a> {
    pub name: &'a str,
    /// safetensors dtype name (`F32`, `F16`, ...).
    pub dtype: &'a str,
    pub shape: &'a [usize],
}

/// Full names (`{node.name}.{spec.name}`) and shapes of every tensor `net` needs, in model order.
pub fn expected_tensors(net: &Network) -> Vec<(String, Vec<usize>)> {
    net.nodes
        .iter()
        .flat_map(|node| {
            node.layer
                .tensors()
                .into_iter()
                .map(move |spec| (format!("{}.{}", node.name, spec.name), spec.shape))
        })
        .collect()
}

/// Every problem of `found` against `net`: unexpected, wrong dtype, wrong shape and duplicate
/// tensors in file order, then missing ones in model order. Empty means the file fits.
pub fn check_tensors<'a>(
    net: &Network,
    found: impl IntoIterator<Item = FoundTensor<'a>>,
) -> Vec<TensorProblem> {
    let expected = expected_tensors(net);
    let shapes: HashMap<&str, &[usize]> = expected
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for t in found {
        let tensor = t.name.to_string();
        if !seen.insert(t.name) {
            problems.push(TensorProblem::Duplicate { tensor });
            continue;
        }
        let Some(&want) = shapes.get(t.name) else {
            if !is_ignored(t.name) {
                let shape = t.shape.to_vec();
                problems.push(TensorProblem::Unexpected { tensor, shape });
            }
            continue;
        };
        if t.dtype != "F32" {
            let found = t.dtype.to_string();
            problems.push(TensorProblem::WrongDtype {
                tensor: tensor.clone(),
                found,
            });
        }
        problems.extend(owned_problem(&tensor, want, Some(t.shape)));
    }
    for (name, shape) in &expected {
        if !seen.contains(name.as_str()) {
            problems.extend(owned_problem(name, shape, None));
        }
    }
    problems
}

/// The one rule for a tensor a layer owns, wherever it is looked for: it must be found
/// (`found` is its shape) with the shape the layer documents.
fn owned_problem(
    tensor: &str,
    expected: &[usize],
    found: Option<&[usize]>,
) -> Option<TensorProblem> {
    match found {
        None => Some(TensorProblem::Missing {
            tensor: tensor.into(),
            expected: expected.to_vec(),
        }),
        Some(found) if found != expected => Some(TensorProblem::ShapeMismatch {
            tensor: tensor.into(),
            expected: expected.to_vec(),
            found: found.to_vec(),
        }),
        Some(_) => None,
    }
}

/// A tensor in memory whose values do not fill its shape (or whose shape overflows).
pub(crate) fn length_problem(tensor: &str, t: &Tensor) -> Option<TensorProblem> {
    let needed = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    (needed != Some(t.data.len())).then(|| TensorProblem::Length {
        tensor: tensor.into(),
        shape: t.shape.clone(),
        len: t.data.len(),
    })
}

/// Every tensor `layer` owns must be in `weights` under `node`, with its documented shape
/// and as many values as that shape holds: the check before any computation on weights in
/// memory (the CPU reference, BatchNorm calibration, the trainer, saving). Returns the first
/// problem; extra tensors are allowed (a layer is checked against a whole network's weights).
pub fn check_layer_weights(
    node: &str,
    layer: &Layer,
    weights: &Weights,
) -> Result<(), TensorProblem> {
    for spec in layer.tensors() {
        let tensor = format!("{node}.{}", spec.name);
        let found = weights.tensors.get(&tensor);
        if let Some(p) = owned_problem(&tensor, &spec.shape, found.map(|t| &t.shape[..])) {
            return Err(p);
        }
        if let Some(p) = found.and_then(|t| length_problem(&tensor, t)) {
            return Err(p);
        }
    }
    Ok(())
}

/// [`check_layer_weights`] for every node of `net`, in graph order.
pub fn check_weights(net: &Network, weights: &Weights) -> Result<(), TensorProblem> {
    for node in &net.nodes {
        check_layer_weights(&node.name, &node.layer, weights)?;
    }
    Ok(())
}
