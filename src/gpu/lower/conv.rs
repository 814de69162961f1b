//! Lowering a convolution: which kernel runs it (matrix product, im2col then matrix
//! product, blocked implicit GEMM, depthwise, naive), its weights laid out for that kernel
//! with any following BatchNorm folded in, and its dispatches.

use super::*;

impl Lowering<'_> {
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &self,
        name: &str,
        c: &Conv2d,
        epilogue: Epilogue,
        input: &wgpu::Buffer,
        s: Shape,
        out: &wgpu::Buffer,
        o: Shape,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let pad = c.pads(s.h, s.w);
        let (weight, bias) = self.conv_weights(name, c, epilogue)?;
        let params = ConvParams {
            in_c: s.c as u32,
            in_h: s.h as u32,
            in_w: s.w as u32,
            out_c: o.c as u32,
            out_h: o.h as u32,
            out_w: o.w as u32,
            kh: c.kernel.0 as u32,
            kw: c.kernel.1 as u32,
            sh: c.stride.0 as u32,
            sw: c.stride.1 as u32,
            dh: c.dilation.0 as u32,
            dw: c.dilation.1 as u32,
            pad_t: pad[0] as u32,
            pad_l: pad[2] as u32,
            groups: c.groups as u32,
            has_bias: bias.is_some() as u32,
        };
        let act = activation_code(epilogue.activation);
        let plain = |variant: Variant, workgroups: [u32; 3]| {
            let w = self.storage(&format!("{name}.weight"), bytemuck::cast_slice(&weight))?;
            let b = match &bias {
                Some(b) => self.storage(&format!("{name}.bias"), bytemuck::cast_slice(b))?,
                None => self.empty.clone(),
            };
            let variant = Variant {
                overrides: vec![("ACT", act)],
                ..variant
            };
            let reads = [input, &w, &b];
            Ok(vec![
                self.dispatch(name, variant, &reads, out, &params, workgroups)
            ])
        };
        let pixels = o.h * o.w;
        match conv_kernel(
            self.conv,
            c,
            s,
            o,
            self.scratch_bytes(),
            self.texture_bytes(),
        ) {
            ConvKernel::Naive => plain(Variant::plain(Kernel::ConvNaive), grid(o.len(), 64)),
            // depthwise.wgsl: one invocation per 8 outputs of a row.
            kind @ (ConvKernel::Depthwise | ConvKernel::DepthwiseTexture) => {
                // depthwise.wgsl, depthwise_texture.wgsl: one invocation per 8 outputs of a
                // row.
                let taps = c.kernel.0 * c.kernel.1;
                let texels = taps.div_ceil(4);
                let mut t = vec![0.0f32; o.c * texels * 4];
                for oc in 0..o.c {
                    t[oc * texels * 4..oc * texels * 4 + taps]
                        .copy_from_slice(&weight[oc * taps..(oc + 1) * taps]);
                }
                let w = self.texture(&format!("{name}.weight (taps)"), &t, texels, o.c);
                let b = match &bias {
                    Some(b) => self.storage(&format!("{name}.bias"), bytemuck::cast_slice(b))?,
                    None => self.empty.clone(),
                };
                let mut overrides = vec![
                    ("ACT", act),
                    ("DW", c.dilation.1 as u32),
                    ("KH", c.kernel.0 as u32),
                    ("KW", c.kernel.1 as u32),
                ];
                let (variant, x) = if kind == ConvKernel::DepthwiseTexture {
                    let aligned = s.w.is_multiple_of(4);
                    overrides.insert(0, ("ALIGNED", aligned as u32));
                    let shift = if aligned { depthwise_shift(c, s) } else { 3 };
                    overrides.push(("SHIFT", shift as u32));
                    overrides.push(("SW", c.stride.1 as u32));
                    let (texture, view) = self
                        .x_texture
                        .expect("depthwise_texture is chosen only with an X texture");
                    let copy = TextureCopy {
                        buffer: input.clone(),
                        texture: texture.clone(),
                        bytes: depthwise_x_bytes(s),
                    };
                    let variant = Variant {
                        kernel: Kernel::DepthwiseTexture,
                        overrides,
                    };
                    (
                        variant,
                        (wgpu::BindingResource::TextureView(view), Some(copy)),
                    )
                } else {
                    overrides.push(("SW", c.stride.1 as u32));
                    let variant = Variant {
                        kernel: Kernel::Depthwise,
                        overrides,
                    };
                    (variant, (input.as_entire_binding(), None))
                };
                let threads = o.c * o.h * o.w.div_ceil(8);
                let reads = vec![
                    x.0,
                    wgpu::BindingResource::TextureView(&w),
                    b.as_entire_binding(),
                ];
                let mut dispatch =
                    self.dispatch_with(name, variant, reads, out, &params, grid(threads, 64));
                dispatch.copy_before = x.1;
                Ok(vec![dispatch])
            }
            ConvKernel::Gemm => {
                // conv_gemm.wgsl: 8 channels x 8 pixels per invocation.
                let (t, b, m_pad) = self.blocked_weights(c, &weight, bias.as_deref());
                let w = self.storage(
                    &format!("{name}.weight (blocked)"),
                    bytemuck::cast_slice(&t),
                )?;
                let b =
                    self.storage(&format!("{name}.bias (blocked)"), bytemuck::cast_slice(&b))?;
                let invocations = pixels.div_ceil(8);
                let wg = invocations.next_power_of_two().clamp(8, 64);
                let variant = Variant {
                    kernel: Kernel::ConvGemm,
                    overrides: vec![("ACT", act), ("CH4", 2), ("PX", 8), ("WG", wg as u32)],
                };
                let tiles = [
                    invocations.div_ceil(wg) as u32,
                    (m_pad / 8) as u32,
                    c.groups as u32,
                ];
                let reads = [input, &w, &b];
                Ok(vec![
                    self.dispatch(name, variant, &reads, out, &params, tiles)
                ])
            }
            kind @ (ConvKernel::Pointwise | ConvKernel::Im2col) => {
                let mut dispatches = Vec::new();
                let x = if kind == ConvKernel::Im2col {
                    let scratch = self
                        .scratch
                        .expect("im2col is chosen only with a scratch buffer");
                    let threads = s.c * c.kernel.0 * c.kernel.1 * pixels.div_ceil(4);
                    dispatches.push(self.dispatch(
                        &format!("{name} (im2col)"),
                        Variant::plain(Kernel::Im2col),
                        &[input],
                        scratch,
                        &params,
                        grid(threads, 64),
                    ));
                    scratch
                } else {
                    input
                };
                // conv_pointwise.wgsl: 16 channels x 4 pixels per invocation, weight rows
                // fetched ROUND at a time (shared across a subgroup where there are any).
                let (kernel, round) = match self.subgroup {
                    Some(size) => (Kernel::ConvPointwiseSubgroup, size / 4),
                    None => (Kernel::ConvPointwise, 1),
                };
                let (t, b, m_pad) = self.blocked_weights(c, &weight, bias.as_deref());
                let k = t.len() / m_pad / c.groups;
                let k_pad = k.div_ceil(round as usize) * round as usize;
                let mut padded = vec![0.0f32; c.groups * k_pad * m_pad];
                for g in 0..c.groups {
                    padded[g * k_pad * m_pad..(g * k_pad + k) * m_pad]
                        .copy_from_slice(&t[g * k * m_pad..(g + 1) * k * m_pad]);
                }
                let w = self.texture(
                    &format!("{name}.weight (blocked)"),
                    &padded,
                    m_pad / 4,
                    c.groups * k_pad,
                );
                let b =
                    self.storage(&format!("{name}.bias (blocked)"), bytemuck::cast_slice(&b))?;
                let invocations = pixels.div_ceil(4);
                let wg = invocations
                    .next_power_of_two()
                    .clamp(8, 64)
                    .max(round as usize * 4);
                let variant = Variant {
                    kernel,
                    overrides: vec![("ACT", act), ("ROUND", round), ("WG", wg as u32)],
                };
                let tiles = [
                    invocations.div_ceil(wg) as u32,
                    (m_pad / 16) as u32,
                    c.groups as u32,
                ];
                let (x_texture, x_view) = self
                    .x_texture
                    .expect("the matrix product is chosen only with an X texture");
                let reads = vec![
                    wgpu::BindingResource::TextureView(x_view),
                    wgpu::BindingResource::TextureView(&w),
                    b.as_entire_binding(),
                ];
                let mut product = self.dispatch_with(name, variant, reads, out, &params, tiles);
                product.copy_before = Some(TextureCopy {
                    buffer: x.clone(),
                    texture: x_texture.clone(),
                    bytes: im2col_bytes(c, s, o),
                });
                dispatches.push(product);
                Ok(dispatches)
            }
        }
    }

    fn scratch_bytes(&self) -> u64 {
        self.scratch.map_or(0, |b| b.size())
    }

    /// Weights transposed to `[groups, k per group, m_pad]` and the bias to `[groups, m_pad]`,
    /// `m_pad` the channels per group rounded up to 16 with zeros, so 4 output channels are
    /// one vec4 (`conv_gemm.wgsl`, `conv_pointwise.wgsl`).
    fn blocked_weights(
        &self,
        c: &Conv2d,
        weight: &[f32],
        bias: Option<&[f32]>,
    ) -> (Vec<f32>, Vec<f32>, usize) {
        let rows = c.out_channels / c.groups;
        let m_pad = rows.div_ceil(16) * 16;
        let k = weight.len() / c.out_channels;
        let mut t = vec![0.0f32; c.groups * k * m_pad];
        let mut b = vec![0.0f32; c.groups * m_pad];
        for g in 0..c.groups {
            for m in 0..rows {
                let oc = g * rows + m;
                for kk in 0..k {
                    t[(g * k + kk) * m_pad + m] = weight[oc * k + kk];
                }
                b[g * m_pad + m] = bias.map_or(0.0, |b| b[oc]);
            }
        }
        (t, b, m_pad)
    }

    /// A convolution's weights `[out_c, in_c / groups, kh, kw]` and bias, with the epilogue's
    /// BatchNorm folded in: `w * scale` and `b * scale + shift` per output channel, where
    /// `scale = gamma / sqrt(var + eps)` and `shift = beta - mean * scale`.
    fn conv_weights(
        &self,
        name: &str,
        c: &Conv2d,
        epilogue: Epilogue,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), GpuError> {
        let mut weight = self.weights.get(name, "weight").data.clone();
        let mut bias = c.bias.then(|| self.weights.get(name, "bias").data.clone());
        if let Some((bn_name, bn)) = epilogue.batchnorm {
            let get = |suffix| &self.weights.get(bn_name, suffix).data;
            let (gamma, beta) = (get("weight"), get("bias"));
            let (mean, var) = (get("running_mean"), get("running_var"));
            let per_channel = weight.len() / c.out_channels;
            let bias = bias.get_or_insert_with(|| vec![0.0; c.out_channels]);
            // In f64, so each folded value is rounded to f32 once.
            for oc in 0..c.out_channels {
                let scale = gamma[oc] as f64 / (var[oc] as f64 + bn.eps as f64).sqrt();
                weight[oc * per_channel..(oc + 1) * per_channel]
                    .iter_mut()
                    .for_each(|w| *w = (*w as f64 * scale) as f32);
                let folded = (bias[oc] as f64 - mean[oc] as f64) * scale + beta[oc] as f64;
                bias[oc] = folded as f32;
            }
        }
        Ok((weight, bias))
    }
}
