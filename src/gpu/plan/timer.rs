//! Per-node GPU time: two timestamps per node (the start and end of its compute passes),
//! resolved after the forward pass and read back on request.

use crate::gpu::context::GpuContext;
use crate::gpu::error::GpuError;
use crate::gpu::readback::read_bytes;
use crate::model::NodeId;

pub struct Timer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

impl Timer {
    /// Room for `nodes` nodes (as many as one query set holds), or `None` when the adapter
    /// has no timestamp queries.
    pub fn new(ctx: &GpuContext, nodes: usize) -> Option<Timer> {
        ctx.timestamps.then(|| {
            let count = (2 * nodes).min(wgpu::QUERY_SET_MAX_QUERIES as usize) as u32;
            Timer {
                queries: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("node timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count,
                }),
                resolve: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("node timestamps"),
                    size: count as u64 * 8,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                }),
                period: ctx.queue.get_timestamp_period() as f64,
            }
        })
    }

    /// The query set and the index of node `id`'s start timestamp (its end is the next), if
    /// the set has room for it.
    pub fn slots(&self, id: NodeId) -> Option<(&wgpu::QuerySet, u32)> {
        let first = 2 * id as u32;
        (first + 1 < self.queries.count()).then_some((&self.queries, first))
    }

    /// Copy the timestamps into the buffer [`Timer::node_ms`] reads.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let count = self.queries.count();
        encoder.resolve_query_set(&self.queries, 0..count, &self.resolve, 0);
    }

    /// Milliseconds each of `nodes` nodes took in the last forward pass; 0 for those that did
    /// not `ran` and those without room.
    pub async fn node_ms(
        &self,
        ctx: &GpuContext,
        nodes: usize,
        ran: impl Fn(NodeId) -> bool,
    ) -> Result<Vec<f64>, GpuError> {
        let raw = read_bytes(ctx, &self.resolve, self.queries.count() as u64 * 8).await?;
        let ticks: &[u64] = bytemuck::cast_slice(&raw);
        let times = (0..nodes)
            .map(|id| {
                let (a, b) = (2 * id, 2 * id + 1);
                if !ran(id) || b >= ticks.len() {
                    0.0
                } else {
                    ticks[b].saturating_sub(ticks[a]) as f64 * self.period / 1e6
                }
            })
            .collect();
        Ok(times)
    }
}
