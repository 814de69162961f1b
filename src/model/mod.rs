//! The network description: layer kinds, the graph, and shape inference. Knows nothing of GPU or web.

mod fusion;
mod layer;
mod network;
mod shape;
mod softmax;
mod window;

pub use fusion::{consumers, fusions, Fusion};
pub use layer::*;
pub use network::*;
pub use shape::*;
pub use softmax::{log_softmax, softmax, ScoreRule};
pub use window::*;
