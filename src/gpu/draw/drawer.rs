//! Recording the drawing: the range passes over a node's buffer, then the tiles painted into
//! a target texture, with their params and bind groups made per draw.

use super::layout::{Norm, TileLayout};
use super::pipelines::{RangePipelines, TilePipeline};
use crate::gpu::context::GpuContext;
use crate::gpu::error::GpuError;
use crate::gpu::readback::read_f32;
use crate::model::Shape;
use bytemuck::{Pod, Zeroable};

/// `featuremap_range.wgsl`'s params.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(crate) struct RangeParams {
    c: u32,
    hw: u32,
    _pad: [u32; 2],
}

/// `featuremap.wgsl`'s params.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(crate) struct DrawParams {
    c: u32,
    h: u32,
    w: u32,
    tiles: u32,
    cols: u32,
    tile_w: u32,
    tile_h: u32,
    gap: u32,
    per_layer: u32,
    _pad: [u32; 3],
}

/// What to draw: the layout, the normalisation, the channel of each tile, the colormap.
pub struct DrawSpec<'a> {
    pub layout: TileLayout,
    pub norm: Norm,
    pub order: &'a [u32],
    pub colormap: &'a [[u8; 3]; 256],
}

/// The range and drawing pipelines, made once per device.
pub struct FeatureMapDrawer {
    ranges: RangePipelines,
    tiles: TilePipeline,
}

fn uniform(device: &wgpu::Device, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    storage_or_uniform(device, label, bytes, wgpu::BufferUsages::UNIFORM)
}

fn storage_or_uniform(
    device: &wgpu::Device,
    label: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (bytes.len() as u64).max(16).next_multiple_of(4),
        usage,
        mapped_at_creation: true,
    });
    buffer
        .slice(..)
        .get_mapped_range_mut()
        .expect("a buffer mapped at creation")
        .slice(..bytes.len())
        .copy_from_slice(bytes);
    buffer.unmap();
    buffer
}

/// A bind group of `buffers` at bindings 0, 1, ...
fn bind_all(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

impl FeatureMapDrawer {
    pub fn new(device: &wgpu::Device) -> FeatureMapDrawer {
        FeatureMapDrawer {
            ranges: RangePipelines::new(device),
            tiles: TilePipeline::new(device),
        }
    }

    /// Record the range passes over `buffer` (a `shape` node's output); returns the stats
    /// buffer they fill (see `featuremap_range.wgsl`).
    fn encode_ranges(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        shape: Shape,
    ) -> wgpu::Buffer {
        let stats = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("feature-map ranges"),
            size: 16 * (shape.c as u64 + 1),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let params = RangeParams {
            c: shape.c as u32,
            hw: (shape.h * shape.w) as u32,
            _pad: [0; 2],
        };
        let params = uniform(device, "feature-map ranges", bytemuck::bytes_of(&params));
        let layout = &self.ranges.layout;
        let bind_group = bind_all(
            device,
            "feature-map ranges",
            layout,
            &[buffer, &stats, &params],
        );
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("feature-map ranges"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &bind_group, &[]);
        pass.set_pipeline(&self.ranges.channels);
        pass.dispatch_workgroups(shape.c as u32, 1, 1);
        pass.set_pipeline(&self.ranges.layer);
        pass.dispatch_workgroups(1, 1, 1);
        drop(pass);
        stats
    }

    /// Each channel's `[min, max, mean]` of `buffer` (a `shape` node's output), computed on
    /// the GPU; only these `3 c` numbers are read back.
    pub async fn ranges(
        &self,
        ctx: &GpuContext,
        buffer: &wgpu::Buffer,
        shape: Shape,
    ) -> Result<Vec<[f32; 3]>, GpuError> {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("feature-map ranges"),
            });
        let stats = self.encode_ranges(&ctx.device, &mut encoder, buffer, shape);
        ctx.queue.submit([encoder.finish()]);
        let raw = read_f32(ctx, &stats, 16 * shape.c as u64).await?;
        Ok(raw.chunks(4).map(|s| [s[0], s[1], s[2]]).collect())
    }

    /// Draw the tiles of `buffer` (a `shape` node's output) into `target`, a view of a
    /// [`TARGET_FORMAT`](super::pipelines::TARGET_FORMAT) texture of at least
    /// `spec.layout`'s size. Submits the work.
    pub fn draw(
        &self,
        ctx: &GpuContext,
        buffer: &wgpu::Buffer,
        shape: Shape,
        target: &wgpu::TextureView,
        spec: &DrawSpec,
    ) {
        let device = &ctx.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("feature maps"),
        });
        let stats = self.encode_ranges(device, &mut encoder, buffer, shape);
        let bind_group = self.tile_bind_group(device, buffer, &stats, shape, spec);
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("feature maps"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&self.tiles.render);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        ctx.queue.submit([encoder.finish()]);
    }

    /// The tile painter's bindings: the node's buffer, its `stats`, the tile order, the
    /// packed colormap and the params.
    fn tile_bind_group(
        &self,
        device: &wgpu::Device,
        buffer: &wgpu::Buffer,
        stats: &wgpu::Buffer,
        shape: Shape,
        spec: &DrawSpec,
    ) -> wgpu::BindGroup {
        let l = spec.layout;
        let params = DrawParams {
            c: shape.c as u32,
            h: l.h,
            w: l.w,
            tiles: l.tiles.min(spec.order.len() as u32),
            cols: l.cols,
            tile_w: l.tile_w,
            tile_h: l.tile_h,
            gap: l.gap,
            per_layer: (spec.norm == Norm::Layer) as u32,
            _pad: [0; 3],
        };
        let packed: Vec<u32> = spec
            .colormap
            .iter()
            .map(|&[r, g, b]| u32::from_le_bytes([r, g, b, 255]))
            .collect();
        // Channels out of range would read past the node's buffer: clamp them.
        let order: Vec<u32> = spec
            .order
            .iter()
            .map(|&ch| ch.min(params.c.saturating_sub(1)))
            .collect();
        let storage = wgpu::BufferUsages::STORAGE;
        let order = storage_or_uniform(device, "tile order", bytemuck::cast_slice(&order), storage);
        let colormap =
            storage_or_uniform(device, "colormap", bytemuck::cast_slice(&packed), storage);
        let params = uniform(device, "feature maps", bytemuck::bytes_of(&params));
        let buffers = [buffer, stats, &order, &colormap, &params];
        bind_all(device, "feature maps", &self.tiles.layout, &buffers)
    }
}
