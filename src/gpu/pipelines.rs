//! Pipelines cached by variant (kernel + override constants), with explicit bind group
//! layouts: every shader reads its inputs at bindings 0..n, writes its output at n and
//! takes its uniform params at n + 1.

use super::kernels::{Kernel, Variant};
use std::collections::HashMap;

pub struct Pipelines {
    modules: HashMap<Kernel, wgpu::ShaderModule>,
    layouts: HashMap<Kernel, wgpu::BindGroupLayout>,
    pipelines: HashMap<Variant, wgpu::ComputePipeline>,
}

impl Pipelines {
    pub fn new() -> Self {
        Pipelines {
            modules: HashMap::new(),
            layouts: HashMap::new(),
            pipelines: HashMap::new(),
        }
    }

    /// The bind group layout of `kernel`.
    pub fn layout(&mut self, device: &wgpu::Device, kernel: Kernel) -> &wgpu::BindGroupLayout {
        self.layouts.entry(kernel).or_insert_with(|| {
            let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            };
            let reads = kernel.reads();
            let texture = |binding: u32| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: false },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            };
            let mut entries: Vec<_> = (0..reads)
                .map(|b| {
                    if kernel.texture_read(b) {
                        texture(b)
                    } else {
                        storage(b, true)
                    }
                })
                .collect();
            entries.push(storage(reads, false));
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: reads + 1,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(kernel.name()),
                entries: &entries,
            })
        })
    }

    /// The pipeline for `variant`, compiled on first use.
    // The one unsafe call in the crate: shader modules without runtime bounds checks (below).
    #[allow(unsafe_code)]
    pub fn get(&mut self, device: &wgpu::Device, variant: &Variant) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.get(variant) {
            return p.clone();
        }
        let kernel = variant.kernel;
        let layout = self.layout(device, kernel).clone();
        let module = self
            .modules
            .entry(kernel)
            .or_insert_with(|| {
                let desc = wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.name()),
                    source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
                };
                // SAFETY: the shaders are convscope's own, each tested against the CPU
                // reference; every index they compute is guarded by the output size or
                // clamped (conv_gemm.wgsl, conv_pointwise.wgsl, im2col.wgsl, depthwise.wgsl),
                // and every divisor is a size that shape inference
                // has already checked to be non-zero. Without naga's per-access bounds checks
                // the software adapters run the tiled kernels faster (see BENCHMARKS.md). On the web the
                // browser keeps its own checks whatever is asked here.
                unsafe {
                    device
                        .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
                }
            })
            .clone();
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.name()),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let constants: Vec<(&str, f64)> = variant
            .overrides
            .iter()
            .map(|&(name, value)| (name, value as f64))
            .collect();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.name()),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        self.pipelines.insert(variant.clone(), pipeline.clone());
        pipeline
    }
}

impl Pipelines {
    /// Forget every compiled module and pipeline: after a validation error a cached entry
    /// may be invalid, and reusing it would fail silently.
    pub fn clear(&mut self) {
        self.modules.clear();
        self.pipelines.clear();
    }
}

impl Default for Pipelines {
    fn default() -> Self {
        Self::new()
    }
}
