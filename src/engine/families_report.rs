//! Every family view's numbers for the loaded model after the last pass, in one report: what
//! `convscope classify --families --json` prints and what the tests compare between engines.

use super::families::{ActivationShare, BatchNormStats, Heads, ResidualBlock};
use super::families_alexnet::{LrnMaps, PoolWindows};
use super::{Engine, EngineError};
use serde::Serialize;

/// How many windows of each overlapping pool the report lists (rows and columns).
pub const POOL_WINDOWS: usize = 3;

#[derive(Debug, Serialize)]
pub struct FamilyReport {
    pub heads: Heads,
    pub residual: Vec<ResidualBlock>,
    pub batchnorm: Vec<BatchNormStats>,
    pub activations: Vec<ActivationShare>,
    /// Each LRN node with its input's busiest channel.
    pub lrn: Vec<LrnMaps>,
    pub pools: Vec<PoolWindows>,
}

impl Engine {
    /// Every family view's numbers after the last pass.
    pub async fn family_report(&self) -> Result<FamilyReport, EngineError> {
        let nodes = self.family_nodes()?;
        let mut batchnorm = Vec::new();
        for node in &nodes.batchnorm {
            batchnorm.push(self.batchnorm_stats(node).await?);
        }
        let mut lrn = Vec::new();
        for node in &nodes.lrn {
            lrn.push(self.lrn_maps(node, None).await?);
        }
        let pools = nodes
            .overlapping_pools
            .iter()
            .map(|node| self.pool_windows(node, POOL_WINDOWS, POOL_WINDOWS))
            .collect::<Result<_, _>>()?;
        Ok(FamilyReport {
            heads: self.output_heads().await?,
            residual: self.residual_blocks().await?,
            batchnorm,
            activations: self.activation_shares().await?,
            lrn,
            pools,
        })
    }
}
