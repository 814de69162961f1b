//! The loaded model as the page's teaching views ask for it: how a node's numbers are
//! computed, and the network's diagram with some modules folded.

use super::{Engine, EngineError};
use crate::analysis::diagram::{default_folded, diagram, Diagram};
use crate::analysis::{derivation, Derivation};

impl Engine {
    /// How each of node `node`'s numbers comes about, at the loaded model's input size.
    pub fn derivation(&self, node: &str) -> Result<Derivation, EngineError> {
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        Ok(derivation(&model.net, &model.analysis, id))
    }

    /// The loaded model's diagram with the groups named in `folded` folded, or, without a
    /// list, as first shown (a big network folded into its stages).
    pub fn diagram(&self, folded: Option<&[String]>) -> Result<Diagram, EngineError> {
        let model = self.model()?;
        let first = default_folded(&model.net);
        Ok(diagram(
            &model.net,
            &model.analysis,
            folded.unwrap_or(&first),
        ))
    }
}
