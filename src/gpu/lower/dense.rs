//! Dense layers: weights in a texture and one invocation a row where they fit
//! (dense_texture.wgsl), else rows split over as many storage buffers as the binding limit
//! needs (dense.wgsl).

use super::builder::{grid, Lowering, NodeIo};
use crate::gpu::dispatch::{Dispatch, TextureCopy};
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{Kernel, Variant};
use crate::gpu::params::DenseParams;
use crate::gpu::x_texture::dense_x_bytes;
use crate::model::Dense;

/// dense_texture.wgsl: the input from the X texture, weight rows of whole texels,
/// zero-padded, in a texture of their own.
pub fn texture(l: &Lowering, io: &NodeIo, d: &Dense) -> Result<Vec<Dispatch>, GpuError> {
    let (name, inputs, outputs) = (io.name, d.in_features, d.out_features);
    let weight = l.weights.get(name, "weight");
    let bias = bias(l, name, d)?;
    let in4 = inputs.div_ceil(4);
    let mut t = vec![0.0f32; outputs * in4 * 4];
    for (o, row) in weight.data.chunks(inputs).enumerate() {
        t[o * in4 * 4..o * in4 * 4 + inputs].copy_from_slice(row);
    }
    let w = l.texture(&format!("{name}.weight (rows)"), &t, in4, outputs);
    let params = DenseParams {
        in_features: inputs as u32,
        rows: outputs as u32,
        row_offset: 0,
        has_bias: d.bias as u32,
    };
    let (texture, view) = l.x_texture();
    let reads = vec![
        wgpu::BindingResource::TextureView(view),
        wgpu::BindingResource::TextureView(&w),
        bias.as_entire_binding(),
    ];
    let variant = Variant::plain(Kernel::DenseTexture);
    let workgroups = grid(outputs, 64);
    let mut dispatch = l.dispatch_with(name, variant, reads, io.output, &params, workgroups);
    dispatch.copy_before = Some(TextureCopy {
        buffer: io.input().clone(),
        texture: texture.clone(),
        bytes: dense_x_bytes(inputs),
    });
    Ok(vec![dispatch])
}

/// dense.wgsl: one dispatch per buffer of weight rows, each as many rows as one binding holds.
pub fn rows(l: &Lowering, io: &NodeIo, d: &Dense) -> Result<Vec<Dispatch>, GpuError> {
    let (name, inputs, outputs) = (io.name, d.in_features, d.out_features);
    let weight = l.weights.get(name, "weight");
    let row_bytes = inputs as u64 * 4;
    let limit = l.limit;
    if row_bytes > limit {
        return Err(GpuError::TooLarge {
            tensor: format!("{name}.weight (one row)"),
            bytes: row_bytes,
            limit,
        });
    }
    let bias = bias(l, name, d)?;
    let rows_per_chunk = ((limit / row_bytes) as usize).min(outputs).max(1);
    let mut dispatches = Vec::new();
    for start in (0..outputs).step_by(rows_per_chunk) {
        let rows = rows_per_chunk.min(outputs - start);
        let data = &weight.data[start * inputs..(start + rows) * inputs];
        let label = format!("{name}.weight[{start}..{}]", start + rows);
        let w = l.storage(&label, bytemuck::cast_slice(data))?;
        let params = DenseParams {
            in_features: inputs as u32,
            rows: rows as u32,
            row_offset: start as u32,
            has_bias: d.bias as u32,
        };
        dispatches.push(l.dispatch(
            name,
            Variant::plain(Kernel::Dense),
            &[io.input(), &w, &bias],
            io.output,
            &params,
            grid(rows, 1),
        ));
    }
    Ok(dispatches)
}

fn bias(l: &Lowering, name: &str, d: &Dense) -> Result<wgpu::Buffer, GpuError> {
    if d.bias {
        l.tensor(name, "bias")
    } else {
        Ok(l.empty.clone())
    }
}
