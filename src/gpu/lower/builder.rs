//! What every lowering function builds with: the device and the weights, uploads of
//! tensors, params and textures, and dispatches with their bind groups, made once at plan
//! time; and [`NodeIo`], the buffers and shapes a node reads and writes.

use crate::gpu::context::GpuContext;
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::kernels::Variant;
use crate::model::Shape;
use crate::weights::Weights;
use bytemuck::Pod;
use wgpu::util::DeviceExt;

/// Where one node's lowering reads and writes.
pub struct NodeIo<'a> {
    /// The node's name: its weights' prefix and its buffers' labels.
    pub name: &'a str,
    pub inputs: &'a [&'a wgpu::Buffer],
    pub in_shapes: &'a [Shape],
    pub output: &'a wgpu::Buffer,
    pub out_shape: Shape,
}

impl NodeIo<'_> {
    /// The first input's buffer (the only one, but for Concat and Add).
    pub fn input(&self) -> &wgpu::Buffer {
        self.inputs[0]
    }

    /// The first input's shape.
    pub fn in_shape(&self) -> Shape {
        self.in_shapes[0]
    }
}

/// Workgroups covering `threads` invocations of `size`, folded into 2-D past 65,535.
pub fn grid(threads: usize, size: usize) -> [u32; 3] {
    let groups = threads.div_ceil(size).max(1);
    let x = groups.min(65_535);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

/// The device, the weights and the buffers every node shares.
pub struct Lowering<'a> {
    pub ctx: &'a GpuContext,
    pub weights: &'a Weights,
    /// Largest tensor one binding may hold.
    pub limit: u64,
    /// Bound where a kernel's optional input (a missing bias) is absent.
    pub empty: &'a wgpu::Buffer,
    /// Where im2col.wgsl unfolds a convolution's input, shared by every convolution; made
    /// by the plan when a convolution's chosen kernel is im2col.
    pub scratch: Option<&'a wgpu::Buffer>,
    /// The X texture and its view, shared by every kernel that reads it; made by the plan
    /// when a node's chosen kernel does.
    pub x_texture: Option<(&'a wgpu::Texture, &'a wgpu::TextureView)>,
}

impl Lowering<'_> {
    /// The im2col scratch buffer.
    pub fn scratch(&self) -> &wgpu::Buffer {
        self.scratch
            .expect("the plan sizes the scratch buffer from the kernels it chose")
    }

    /// The X texture and its view.
    pub fn x_texture(&self) -> (&wgpu::Texture, &wgpu::TextureView) {
        self.x_texture
            .expect("the plan sizes the X texture from the kernels it chose")
    }

    /// A storage buffer holding `bytes`, if one binding may hold them.
    pub fn storage(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer, GpuError> {
        let limit = self.limit;
        if bytes.len() as u64 > limit {
            return Err(GpuError::TooLarge {
                tensor: label.to_string(),
                bytes: bytes.len() as u64,
                limit,
            });
        }
        Ok(self
            .ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE,
            }))
    }

    /// Upload the tensor `suffix` of `node`.
    pub fn tensor(&self, node: &str, suffix: &str) -> Result<wgpu::Buffer, GpuError> {
        let t = self.weights.get(node, suffix);
        self.storage(&format!("{node}.{suffix}"), bytemuck::cast_slice(&t.data))
    }

    /// A storage buffer holding `bias`, or the empty buffer without one.
    pub fn bias(&self, name: &str, bias: Option<&[f32]>) -> Result<wgpu::Buffer, GpuError> {
        match bias {
            Some(b) => self.storage(&format!("{name}.bias"), bytemuck::cast_slice(b)),
            None => Ok(self.empty.clone()),
        }
    }

    fn uniform<T: Pod>(&self, label: &str, params: &T) -> wgpu::Buffer {
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Upload `data`, `rows` rows of `width` vec4s, as an rgba32float texture.
    pub fn texture(
        &self,
        label: &str,
        data: &[f32],
        width: usize,
        rows: usize,
    ) -> wgpu::TextureView {
        let texture = self.ctx.device.create_texture_with_data(
            &self.ctx.queue,
            &wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width: width as u32,
                    height: rows as u32,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            bytemuck::cast_slice(data),
        );
        texture.create_view(&wgpu::TextureViewDescriptor::default())
    }

    /// A dispatch of `variant` reading the buffers `reads`, writing `output`.
    pub fn dispatch<T: Pod>(
        &self,
        label: &str,
        variant: Variant,
        reads: &[&wgpu::Buffer],
        output: &wgpu::Buffer,
        params: &T,
        workgroups: [u32; 3],
    ) -> Dispatch {
        let reads = reads.iter().map(|b| b.as_entire_binding()).collect();
        self.dispatch_with(label, variant, reads, output, params, workgroups)
    }

    /// [`Lowering::dispatch`] with any binding resources as reads (textures among them).
    pub fn dispatch_with<T: Pod>(
        &self,
        label: &str,
        variant: Variant,
        reads: Vec<wgpu::BindingResource>,
        output: &wgpu::Buffer,
        params: &T,
        workgroups: [u32; 3],
    ) -> Dispatch {
        let kernel = variant.kernel;
        debug_assert_eq!(reads.len() as u32, kernel.reads(), "{label}");
        let uniform = self.uniform(label, params);
        let mut pipelines = self.ctx.pipelines.lock().expect("pipeline cache poisoned");
        let pipeline = pipelines.get(&self.ctx.device, &variant);
        let layout = pipelines.layout(&self.ctx.device, kernel);
        let count = reads.len() as u32;
        let mut entries: Vec<wgpu::BindGroupEntry> = reads
            .into_iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: count,
            resource: output.as_entire_binding(),
        });
        entries.push(wgpu::BindGroupEntry {
            binding: count + 1,
            resource: uniform.as_entire_binding(),
        });
        let bind_group = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout,
                entries: &entries,
            });
        Dispatch {
            pipeline,
            bind_group,
            workgroups,
            copy_before: None,
        }
    }
}
