//! The one readback path: copy to a staging buffer, `map_async` feeding a oneshot channel,
//! await it. Natively the device is polled until the map completes; on the web the browser
//! completes it and the await yields to the event loop.

use super::{GpuContext, GpuError};

/// Read `bytes` bytes from the start of `buffer` as f32 values.
pub async fn read_f32(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
) -> Result<Vec<f32>, GpuError> {
    let raw = read_bytes(ctx, buffer, bytes).await?;
    Ok(bytemuck::cast_slice(&raw).to_vec())
}

/// Read `bytes` bytes from the start of `buffer`.
pub async fn read_bytes(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
) -> Result<Vec<u8>, GpuError> {
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    let (tx, rx) = futures_channel::oneshot::channel();
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, move |result| {
            let _ = tx.send(result);
        });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    rx.await
        .map_err(|_| GpuError::Readback("the device was lost before the read finished".into()))?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let data = staging
        .slice(..)
        .get_mapped_range()
        .map_err(|e| GpuError::Readback(e.to_string()))?
        .to_vec();
    staging.unmap();
    Ok(data)
}
