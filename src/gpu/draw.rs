//! Feature maps drawn from a node's GPU buffer without reading its values back: a compute
//! pass finds each channel's range (and the layer's), a render pass paints every channel as a
//! colormapped tile of a grid into a texture (a canvas on the page). [`draw_tiles`] is the CPU
//! twin that paints the same RGBA grid from a tensor; [`ranges`] its range twin.
//!
//! These two shaders are not in the kernel table: one is a render pipeline and the other has
//! two entry points; neither is part of a forward pass.

use super::context::GpuContext;
use super::error::GpuError;
use super::readback::read_f32;
use crate::model::Shape;
use crate::tensor::Tensor;
use bytemuck::{Pod, Zeroable};
use serde::Serialize;

/// The texture format the tiles are drawn in (a canvas accepts it everywhere; not sRGB, so
/// the colormap's bytes arrive unchanged).
pub const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Transparent pixels between neighbouring tiles.
pub const TILE_GAP: u32 = 3;

/// How values map onto the colormap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// Each tile maps its own channel's min..max.
    Channel,
    /// Every tile maps the layer's min..max.
    Layer,
}

/// Where each tile of the grid lies, in pixels of the target. Tile `slot` is at column
/// `slot % cols`, row `slot / cols`, its top-left at `(col * (tile_w + gap), row * (tile_h +
/// gap))`; pixel `(ix, iy)` inside it shows unit `(iy * h / tile_h, ix * w / tile_w)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TileLayout {
    /// The node's output shape.
    pub c: u32,
    pub h: u32,
    pub w: u32,
    /// Tiles drawn (channels listed in the draw's order).
    pub tiles: u32,
    pub cols: u32,
    pub rows: u32,
    pub tile_w: u32,
    pub tile_h: u32,
    pub gap: u32,
    /// Size of the whole grid.
    pub width: u32,
    pub height: u32,
}

impl TileLayout {
    /// `tiles` tiles of a `shape` node, the longer side of each `tile_px` pixels, as many
    /// columns as fit in `max_width` (at least one).
    pub fn new(shape: Shape, tiles: usize, tile_px: u32, max_width: u32) -> TileLayout {
        let (h, w) = (shape.h.max(1) as u32, shape.w.max(1) as u32);
        let side = tile_px.max(1);
        let scale = side as f64 / h.max(w) as f64;
        let tile_w = ((w as f64 * scale).round() as u32).max(1);
        let tile_h = ((h as f64 * scale).round() as u32).max(1);
        let tiles = tiles.max(1) as u32;
        let gap = TILE_GAP;
        let cols = ((max_width + gap) / (tile_w + gap)).clamp(1, tiles);
        let rows = tiles.div_ceil(cols);
        TileLayout {
            c: shape.c as u32,
            h,
            w,
            tiles,
            cols,
            rows,
            tile_w,
            tile_h,
            gap,
            width: cols * (tile_w + gap) - gap,
            height: rows * (tile_h + gap) - gap,
        }
    }
}

/// Each channel's `[min, max, mean]` of a `[c, h, w]` tensor (the CPU twin of the range pass).
pub fn ranges(t: &Tensor) -> Vec<[f32; 3]> {
    let c = t.shape[0];
    let n = t.data.len() / c.max(1);
    t.data
        .chunks(n.max(1))
        .take(c)
        .map(|plane| {
            let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f32);
            for &v in plane {
                lo = lo.min(v);
                hi = hi.max(v);
                sum += v;
            }
            [lo, hi, sum / n as f32]
        })
        .collect()
}

/// The colormap index of `v` in `[lo, hi]`: the rounding the shader uses.
fn colormap_index(v: f32, lo: f32, hi: f32) -> usize {
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    ((v - lo) * scale + 0.5).floor().clamp(0.0, 255.0) as usize
}

/// The CPU twin of the GPU drawing: the RGBA pixels (`layout.width x layout.height`, row by
/// row) of the tiles of `t`, tile `slot` showing channel `order[slot]`; `colormap` is 256 RGB
/// triples, low to high.
pub fn draw_tiles(
    t: &Tensor,
    layout: &TileLayout,
    norm: Norm,
    order: &[u32],
    colormap: &[[u8; 3]; 256],
) -> Vec<u8> {
    let l = layout;
    let stats = ranges(t);
    let layer = stats.iter().fold([f32::MAX, -f32::MAX], |[lo, hi], s| {
        [lo.min(s[0]), hi.max(s[1])]
    });
    let (h, w) = (l.h as usize, l.w as usize);
    let mut rgba = vec![0u8; (l.width * l.height * 4) as usize];
    for py in 0..l.height {
        for px in 0..l.width {
            let (col, row) = (px / (l.tile_w + l.gap), py / (l.tile_h + l.gap));
            let (ix, iy) = (px % (l.tile_w + l.gap), py % (l.tile_h + l.gap));
            let slot = row * l.cols + col;
            if ix >= l.tile_w || iy >= l.tile_h || slot >= l.tiles {
                continue;
            }
            let ch = order[slot as usize] as usize;
            let (x, y) = (
                (ix * l.w / l.tile_w) as usize,
                (iy * l.h / l.tile_h) as usize,
            );
            let v = t.data[(ch * h + y) * w + x];
            let [lo, hi] = match norm {
                Norm::Channel => [stats[ch][0], stats[ch][1]],
                Norm::Layer => layer,
            };
            let [r, g, b] = colormap[colormap_index(v, lo, hi)];
            let i = 4 * (py * l.width + px) as usize;
            rgba[i..i + 4].copy_from_slice(&[r, g, b, 255]);
        }
    }
    rgba
}

/// `featuremap_range.wgsl`'s params.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct RangeParams {
    c: u32,
    hw: u32,
    _pad: [u32; 2],
}

/// `featuremap.wgsl`'s params.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct DrawParams {
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
    range_layout: wgpu::BindGroupLayout,
    channels: wgpu::ComputePipeline,
    layer: wgpu::ComputePipeline,
    draw_layout: wgpu::BindGroupLayout,
    render: wgpu::RenderPipeline,
}

fn layout_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    ty: wgpu::BufferBindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
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

impl FeatureMapDrawer {
    pub fn new(device: &wgpu::Device) -> FeatureMapDrawer {
        use wgpu::BufferBindingType::{Storage, Uniform};
        use wgpu::ShaderStages as S;
        let range_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("featuremap_range"),
            source: wgpu::ShaderSource::Wgsl(
                include_str!("../../shaders/featuremap_range.wgsl").into(),
            ),
        });
        let range_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("featuremap_range"),
            entries: &[
                layout_entry(0, S::COMPUTE, Storage { read_only: true }),
                layout_entry(1, S::COMPUTE, Storage { read_only: false }),
                layout_entry(2, S::COMPUTE, Uniform),
            ],
        });
        let range_pipeline_layout =
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("featuremap_range"),
                bind_group_layouts: &[Some(&range_layout)],
                immediate_size: 0,
            });
        let compute = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&range_pipeline_layout),
                module: &range_module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let (channels, layer) = (compute("channels"), compute("layer"));
        let draw_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("featuremap"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/featuremap.wgsl").into()),
        });
        let read = Storage { read_only: true };
        let draw_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("featuremap"),
            entries: &[
                layout_entry(0, S::FRAGMENT, read),
                layout_entry(1, S::FRAGMENT, read),
                layout_entry(2, S::FRAGMENT, read),
                layout_entry(3, S::FRAGMENT, read),
                layout_entry(4, S::FRAGMENT, Uniform),
            ],
        });
        let draw_pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("featuremap"),
            bind_group_layouts: &[Some(&draw_layout)],
            immediate_size: 0,
        });
        let render = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("featuremap"),
            layout: Some(&draw_pipeline_layout),
            vertex: wgpu::VertexState {
                module: &draw_module,
                entry_point: Some("vertex"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &draw_module,
                entry_point: Some("fragment"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: TARGET_FORMAT,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        FeatureMapDrawer {
            range_layout,
            channels,
            layer,
            draw_layout,
            render,
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
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("feature-map ranges"),
            layout: &self.range_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: stats.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: params.as_entire_binding(),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("feature-map ranges"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &bind_group, &[]);
        pass.set_pipeline(&self.channels);
        pass.dispatch_workgroups(shape.c as u32, 1, 1);
        pass.set_pipeline(&self.layer);
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
    /// [`TARGET_FORMAT`] texture of at least `spec.layout`'s size. Submits the work.
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
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("feature maps"),
            layout: &self.draw_layout,
            entries: &[buffer, &stats, &order, &colormap, &params]
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect::<Vec<_>>(),
        });
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
            pass.set_pipeline(&self.render);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        ctx.queue.submit([encoder.finish()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_multiples_of_16_bytes() {
        assert_eq!(std::mem::size_of::<RangeParams>(), 16);
        assert_eq!(std::mem::size_of::<DrawParams>(), 48);
    }

    #[test]
    fn layout_fits_the_width_and_keeps_the_aspect() {
        let l = TileLayout::new(Shape::new(10, 7, 9), 10, 72, 300);
        assert_eq!((l.tile_w, l.tile_h), (72, 56));
        assert_eq!((l.cols, l.rows), (4, 3));
        assert_eq!((l.width, l.height), (4 * 75 - 3, 3 * 59 - 3));
        let one = TileLayout::new(Shape::new(1, 5, 5), 1, 320, 10);
        assert_eq!((one.cols, one.width, one.height), (1, 320, 320));
    }
}
