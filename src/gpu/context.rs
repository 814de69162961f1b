//! The GPU device: found once by the caller and passed in to everything that computes.

use super::error::GpuError;
use super::pipelines::Pipelines;
use std::sync::Mutex;

/// A device, its queue, and what the adapter can do.
pub struct GpuContext {
    /// The instance the adapter came from (for surfaces on the page's canvases); `None` when
    /// the caller brought its own adapter.
    pub instance: Option<wgpu::Instance>,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Whether per-node timestamps can be taken (the `timestamp-query` feature).
    pub timestamps: bool,
    /// The subgroup size, when the adapter has subgroups of one fixed size that a multiple
    /// of 4 (conv_pointwise.wgsl shares weight fetches across them).
    pub subgroup: Option<u32>,
    /// Compiled pipelines, shared by every plan on this device.
    pub pipelines: Mutex<Pipelines>,
}

impl GpuContext {
    /// Find an adapter and open a device with the adapter's real limits (WebGPU's defaults
    /// cap a storage binding at 128 MiB; VGG's fc6 alone is 411 MB).
    pub async fn new() -> Result<GpuContext, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let mut ctx = Self::from_adapter(&adapter).await?;
        ctx.instance = Some(instance);
        Ok(ctx)
    }

    /// Open a device on `adapter`.
    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<GpuContext, GpuError> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        // Native only: browsers want `enable subgroups;` in the shader, which naga refuses,
        // and the sharing pays off where weight fetches are dear (software adapters).
        let (min, max) = (info.subgroup_min_size, info.subgroup_max_size);
        let subgroup = (cfg!(not(target_arch = "wasm32"))
            && adapter.features().contains(wgpu::Features::SUBGROUP)
            && min == max
            && min.is_multiple_of(4)
            && (4..=64).contains(&min))
        .then_some(min);
        let mut required_features = wgpu::Features::empty();
        if timestamps {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        if subgroup.is_some() {
            required_features |= wgpu::Features::SUBGROUP;
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("convscope"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoDevice(e.to_string()))?;
        Ok(GpuContext {
            instance: None,
            device,
            queue,
            info,
            limits,
            timestamps,
            subgroup,
            pipelines: Mutex::new(Pipelines::new()),
        })
    }

    /// One line naming the adapter: `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)`.
    /// Browsers do not tell the adapter's name; then the line starts with "unnamed adapter".
    pub fn describe(&self) -> String {
        let name = match self.info.name.trim() {
            "" => "unnamed adapter",
            name => name,
        };
        format!(
            "{name} ({:?}, {:?})",
            self.info.backend, self.info.device_type
        )
    }

    /// The largest buffer one storage binding may hold.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}
