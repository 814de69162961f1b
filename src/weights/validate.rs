//! Checking a file's tensors against a network's `Layer::tensors()`: every problem is
//! collected, each naming its tensor, so one run tells a person everything to fix.

use crate::model::Network;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Tensors a file may carry that no layer owns: torchvision's BatchNorm saves its training
/// step counter `num_batches_tracked`, which inference does not use.
pub fn is_ignored(name: &str) -> bool {
    name.ends_with(".num_batches_tracked")
}

/// One thing wrong with one tensor of a weights file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorProblem {
    /// The model needs the tensor; the file does not have it.
    Missing {
        tensor: String,
        expected: Vec<usize>,
    },
    /// The file has a tensor no layer of the model owns.
    Unexpected { tensor: String, shape: Vec<usize> },
    /// The file stores the tensor in another element type than F32.
    WrongDtype { tensor: String, found: String },
    /// The tensor exists but has another shape.
    ShapeMismatch {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// The file has the name twice.
    Duplicate { tensor: String },
}

impl TensorProblem {
    /// The tensor this problem is about.
    pub fn tensor(&self) -> &str {
        match self {
            TensorProblem::Missing { tensor, .. }
            | TensorProblem::Unexpected { tensor, .. }
            | TensorProblem::WrongDtype { tensor, .. }
            | TensorProblem::ShapeMismatch { tensor, .. }
            | TensorProblem::Duplicate { tensor } => tensor,
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

impl fmt::Display for TensorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorProblem::Missing { tensor, expected } => {
                write!(f, "missing tensor `{tensor}` (expected {})", Dims(expected))
            }
            TensorProblem::Unexpected { tensor, shape } => write!(
                f,
                "unexpected tensor `{tensor}` ({}): no layer of the model owns it",
                Dims(shape)
            ),
            TensorProblem::WrongDtype { tensor, found } => {
                write!(f, "tensor `{tensor}` is {found}; convert it to F32")
            }
            TensorProblem::ShapeMismatch {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "tensor `{tensor}` has shape {}, the model expects {}",
                Dims(found),
                Dims(expected)
            ),
            TensorProblem::Duplicate { tensor } => write!(f, "tensor `{tensor}` appears twice"),
        }
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
        if t.shape != want {
            problems.push(TensorProblem::ShapeMismatch {
                tensor,
                expected: want.to_vec(),
                found: t.shape.to_vec(),
            });
        }
    }
    for (name, shape) in &expected {
        if !seen.contains(name.as_str()) {
            problems.push(TensorProblem::Missing {
                tensor: name.clone(),
                expected: shape.clone(),
            });
        }
    }
    problems
}
