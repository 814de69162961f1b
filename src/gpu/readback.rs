//! The one readback path: copy to a staging buffer, `map_async` feeding a oneshot channel,
//! await it. Natively the device is polled until the map completes; on the web the browser
//! completes it and the await yields to the event loop.

use super::context::GpuContext;
use super::error::GpuError;

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

/// The first `bytes` bytes of each of `parts`, read as f32 values in one copy and one map
/// (far cheaper than one read each).
pub async fn read_f32_many(
    ctx: &GpuContext,
    parts: &[(&wgpu::Buffer, u64)],
) -> Result<Vec<Vec<f32>>, GpuError> {
    let total: u64 = parts.iter().map(|&(_, bytes)| bytes).sum();
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read many"),
        size: total.max(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("read many"),
        });
    let mut offset = 0;
    for &(buffer, bytes) in parts {
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, offset, bytes);
        offset += bytes;
    }
    ctx.queue.submit([encoder.finish()]);
    let all = read_f32(ctx, &staging, total.max(4)).await?;
    let mut start = 0;
    let mut out = Vec::with_capacity(parts.len());
    for &(_, bytes) in parts {
        let len = (bytes / 4) as usize;
        out.push(all[start..start + len].to_vec());
        start += len;
    }
    Ok(out)
}
