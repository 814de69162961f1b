//! Dispatch records, made once at plan time, and their encoding into compute passes (with
//! the texture copies some need first, and per-node timestamps).

use super::x_texture::{X_ROW_BYTES, X_TEXTURE_WIDTH};

/// One recorded dispatch: everything bound, ready to encode.
pub struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub workgroups: [u32; 3],
    /// A copy into a texture the dispatch reads, made just before it (outside any pass).
    pub copy_before: Option<TextureCopy>,
}

/// The first `bytes` bytes of `buffer`, copied into `texture` as texels in rows of
/// X_TEXTURE_WIDTH.
pub struct TextureCopy {
    pub buffer: wgpu::Buffer,
    pub texture: wgpu::Texture,
    /// A multiple of 16.
    pub bytes: u64,
}

impl TextureCopy {
    /// Encode the copy: the whole rows, then what is left as part of one more row.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        let texels = (self.bytes / 16) as u32;
        let (rows, rest) = (texels / X_TEXTURE_WIDTH, texels % X_TEXTURE_WIDTH);
        let mut copy = |row: u32, width: u32, height: u32| {
            encoder.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: &self.buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: row as u64 * X_ROW_BYTES,
                        bytes_per_row: Some(X_ROW_BYTES as u32),
                        rows_per_image: None,
                    },
                },
                wgpu::TexelCopyTextureInfo {
                    texture: &self.texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d { x: 0, y: row, z: 0 },
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
            );
        };
        if rows > 0 {
            copy(0, X_TEXTURE_WIDTH, rows);
        }
        if rest > 0 {
            copy(rows, rest, 1);
        }
    }
}

/// Encode `dispatches` as compute passes, with a new pass after each texture copy a dispatch
/// needs first. With `timestamps` (a query set and an index), the first pass writes the start
/// time at the index and the last pass the end time at the next.
pub fn encode<'d>(
    encoder: &mut wgpu::CommandEncoder,
    label: &str,
    dispatches: impl Iterator<Item = &'d Dispatch>,
    timestamps: Option<(&wgpu::QuerySet, u32)>,
) {
    // Runs of dispatches, each but the first after a copy.
    let mut runs: Vec<Vec<&Dispatch>> = vec![Vec::new()];
    for d in dispatches {
        if d.copy_before.is_some() {
            runs.push(Vec::new());
        }
        runs.last_mut().expect("runs starts non-empty").push(d);
    }
    let last = runs.len() - 1;
    for (i, run) in runs.iter().enumerate() {
        if let Some(copy) = run.first().and_then(|d| d.copy_before.as_ref()) {
            copy.encode(encoder);
        }
        let timestamp_writes =
            timestamps.map(|(query_set, first)| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: (i == 0).then_some(first),
                end_of_pass_write_index: (i == last).then_some(first + 1),
            });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes,
        });
        for d in run {
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            let [x, y, z] = d.workgroups;
            pass.dispatch_workgroups(x, y, z);
        }
    }
}
