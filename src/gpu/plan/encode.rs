//! Recording dispatches into a command encoder, with the texture copies some need first.

use crate::gpu::lower::Dispatch;

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
