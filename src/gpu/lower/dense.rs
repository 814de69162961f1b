//! Lowering a dense layer: weights in a texture and one invocation a row where they fit,
//! else rows split over as many storage buffers as the binding limit needs.

use super::*;

impl Lowering<'_> {
    /// A dense layer, its weight rows split over as many buffers as the binding limit needs.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dense(
        &self,
        name: &str,
        inputs: usize,
        outputs: usize,
        has_bias: bool,
        input: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let weight = self.weights.get(name, "weight");
        let row_bytes = inputs as u64 * 4;
        let limit = self.limit;
        if row_bytes > limit {
            return Err(GpuError::TooLarge {
                tensor: format!("{name}.weight (one row)"),
                bytes: row_bytes,
                limit,
            });
        }
        let bias = if has_bias {
            self.tensor(name, "bias")?
        } else {
            self.empty.clone()
        };
        if let Some((texture, view)) = self.x_texture {
            if dense_x_bytes(inputs, outputs, &self.ctx.limits, limit)
                .is_some_and(|bytes| bytes <= self.texture_bytes())
            {
                // dense_texture.wgsl: rows of whole texels, zero-padded.
                let in4 = inputs.div_ceil(4);
                let mut t = vec![0.0f32; outputs * in4 * 4];
                for (o, row) in weight.data.chunks(inputs).enumerate() {
                    t[o * in4 * 4..o * in4 * 4 + inputs].copy_from_slice(row);
                }
                let w = self.texture(&format!("{name}.weight (rows)"), &t, in4, outputs);
                let params = DenseParams {
                    in_features: inputs as u32,
                    rows: outputs as u32,
                    row_offset: 0,
                    has_bias: has_bias as u32,
                };
                let reads = vec![
                    wgpu::BindingResource::TextureView(view),
                    wgpu::BindingResource::TextureView(&w),
                    bias.as_entire_binding(),
                ];
                let variant = Variant::plain(Kernel::DenseTexture);
                let workgroups = grid(outputs, 64);
                let mut d = self.dispatch_with(name, variant, reads, out, &params, workgroups);
                d.copy_before = Some(TextureCopy {
                    buffer: input.clone(),
                    texture: texture.clone(),
                    bytes: in4 as u64 * 16,
                });
                return Ok(vec![d]);
            }
        }
        let rows_per_chunk = ((limit / row_bytes) as usize).min(outputs).max(1);
        let mut dispatches = Vec::new();
        for start in (0..outputs).step_by(rows_per_chunk) {
            let rows = rows_per_chunk.min(outputs - start);
            let data = &weight.data[start * inputs..(start + rows) * inputs];
            let label = format!("{name}.weight[{start}..{}]", start + rows);
            let w = self.storage(&label, bytemuck::cast_slice(data))?;
            let params = DenseParams {
                in_features: inputs as u32,
                rows: rows as u32,
                row_offset: start as u32,
                has_bias: has_bias as u32,
            };
            dispatches.push(self.dispatch(
                name,
                Variant::plain(Kernel::Dense),
                &[input, &w, &bias],
                out,
                &params,
                grid(rows, 1),
            ));
        }
        Ok(dispatches)
    }
}
