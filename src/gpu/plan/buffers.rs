//! A plan's buffers: each node's output, and those every node shares (the im2col scratch
//! buffer and the X texture, each sized for the largest kernel chosen to use it).

use crate::gpu::context::GpuContext;
use crate::gpu::error::GpuError;
use crate::gpu::options::Choice;
use crate::gpu::x_texture::{X_ROW_BYTES, X_TEXTURE_WIDTH};
use crate::model::{Layer, Network, Shape};

/// The buffers every node shares.
pub struct Shared {
    /// Bound where a kernel's optional input (a missing bias) is absent.
    pub empty: wgpu::Buffer,
    /// Where im2col.wgsl unfolds a convolution's input; `None` when no kernel needs it.
    pub scratch: Option<wgpu::Buffer>,
    /// The X texture and its view; `None` when no kernel reads it.
    pub x_texture: Option<(wgpu::Texture, wgpu::TextureView)>,
}

impl Shared {
    /// The shared buffers for nodes of `net` running on `choices`.
    pub fn new(ctx: &GpuContext, net: &Network, shapes: &[Shape], choices: &[Choice]) -> Shared {
        // Every node that has inputs: its kernel, its (first) input's shape and its own.
        let kernels: Vec<(Choice, Shape, Shape)> = (net.nodes.iter().enumerate().skip(1))
            .map(|(id, node)| (choices[id], shapes[node.inputs[0]], shapes[id]))
            .collect();
        Self::for_kernels(ctx, &kernels)
    }

    /// The shared buffers for `kernels`, each a choice with its input and output shapes.
    pub fn for_kernels(ctx: &GpuContext, kernels: &[(Choice, Shape, Shape)]) -> Shared {
        let empty = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("absent input"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // The most any kernel needs.
        let largest = |need: &dyn Fn(&Choice, Shape, Shape) -> Option<u64>| {
            kernels.iter().filter_map(|(c, s, o)| need(c, *s, *o)).max()
        };
        let scratch = largest(&|c, s, o| c.scratch_bytes(s, o)).map(|size| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("im2col"),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        });
        let x_texture =
            largest(&|c, s, o| c.x_texture_bytes(s, o)).map(|size| x_texture(ctx, size));
        Shared {
            empty,
            scratch,
            x_texture,
        }
    }
}

/// The X texture, whole rows holding at least `bytes`, and its view.
fn x_texture(ctx: &GpuContext, bytes: u64) -> (wgpu::Texture, wgpu::TextureView) {
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("matrix product input"),
        size: wgpu::Extent3d {
            width: X_TEXTURE_WIDTH,
            height: bytes.div_ceil(X_ROW_BYTES) as u32,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
    (texture, view)
}

/// Each node's output buffer, at most `limit` bytes; flatten and dropout share their input's.
pub fn node_outputs(
    ctx: &GpuContext,
    net: &Network,
    shapes: &[Shape],
    limit: u64,
) -> Result<Vec<wgpu::Buffer>, GpuError> {
    let mut buffers: Vec<wgpu::Buffer> = Vec::with_capacity(net.nodes.len());
    for (node, shape) in net.nodes.iter().zip(shapes) {
        if let Layer::Flatten | Layer::Dropout(_) = node.layer {
            buffers.push(buffers[node.inputs[0]].clone());
            continue;
        }
        // A multiple of 16 bytes, so kernels may bind any output as vec4s.
        let bytes = (shape.len() as u64 * 4).max(4).div_ceil(16) * 16;
        if bytes > limit {
            return Err(GpuError::TooLarge {
                tensor: format!("output of `{}` ({shape})", node.name),
                bytes,
                limit,
            });
        }
        buffers.push(ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&node.name),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
    }
    Ok(buffers)
}
