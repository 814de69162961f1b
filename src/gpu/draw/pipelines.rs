//! The drawing's two pipelines, made once per device: the range pass (featuremap_range.wgsl,
//! two compute entry points) and the tile painter (featuremap.wgsl, a render pipeline).

use wgpu::BufferBindingType::{Storage, Uniform};
use wgpu::ShaderStages as S;

/// The texture format the tiles are drawn in (a canvas accepts it everywhere; not sRGB, so
/// the colormap's bytes arrive unchanged).
pub const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// featuremap_range.wgsl: `channels` finds each channel's range, `layer` the layer's.
/// Binds the node's buffer (read), the stats (written) and its params.
pub struct RangePipelines {
    pub layout: wgpu::BindGroupLayout,
    pub channels: wgpu::ComputePipeline,
    pub layer: wgpu::ComputePipeline,
}

impl RangePipelines {
    pub fn new(device: &wgpu::Device) -> RangePipelines {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("featuremap_range"),
            source: wgpu::ShaderSource::Wgsl(
                include_str!("../../../shaders/featuremap_range.wgsl").into(),
            ),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("featuremap_range"),
            entries: &[
                layout_entry(0, S::COMPUTE, Storage { read_only: true }),
                layout_entry(1, S::COMPUTE, Storage { read_only: false }),
                layout_entry(2, S::COMPUTE, Uniform),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("featuremap_range"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let compute = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let (channels, layer) = (compute("channels"), compute("layer"));
        RangePipelines {
            layout,
            channels,
            layer,
        }
    }
}

/// featuremap.wgsl: one full-screen triangle painting every tile into a [`TARGET_FORMAT`]
/// target. Binds the node's buffer, the stats, the tile order and the colormap (all read)
/// and its params.
pub struct TilePipeline {
    pub layout: wgpu::BindGroupLayout,
    pub render: wgpu::RenderPipeline,
}

impl TilePipeline {
    pub fn new(device: &wgpu::Device) -> TilePipeline {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("featuremap"),
            source: wgpu::ShaderSource::Wgsl(
                include_str!("../../../shaders/featuremap.wgsl").into(),
            ),
        });
        let read = Storage { read_only: true };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("featuremap"),
            entries: &[
                layout_entry(0, S::FRAGMENT, read),
                layout_entry(1, S::FRAGMENT, read),
                layout_entry(2, S::FRAGMENT, read),
                layout_entry(3, S::FRAGMENT, read),
                layout_entry(4, S::FRAGMENT, Uniform),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("featuremap"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let render = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("featuremap"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vertex"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
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
        TilePipeline { layout, render }
    }
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
