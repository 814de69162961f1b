//! `bench --explain`: the backward pass beside the forward pass, per node and in total, and
//! the occlusion grid. On the CPU: the f64 reference's forward and its backward (guided
//! backprop of the top class), the fast CPU engine's forward, and the default occlusion grid
//! on the fast engine; then, where an adapter is found, the GPU's backward beside its forward
//! and the occlusion grid batched on the GPU (`bench_explain_gpu.rs`).

use super::bench_explain_gpu::gpu_backward_times;
use super::{model, parse_size, CliError};
use convscope::cpu::backward::{Backward, Mode};
use convscope::cpu::Stepper;
use convscope::engine::{random_weights, Quiet};
use convscope::explain::{score_node, Explainer, Occlusion, OcclusionSettings};
use convscope::fastcpu::FastPlan;
use convscope::tensor::Tensor;
use std::time::Instant;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// `bench --explain` on model `name` at `input` (`HxW`, default the model's), seeded random
/// weights as the other benches.
pub fn bench_explain(name: &str, input: Option<&str>) -> Result<(), CliError> {
    let net = model(name)?;
    let (h, w) = match input {
        Some(s) => parse_size(s)?,
        None => net.default_input,
    };
    let entry = convscope::zoo::entry(name).expect("model() found it");
    let (weights, _) = pollster::block_on(random_weights(entry, &net, &mut Quiet))?;
    let c = net.input_channels();
    let image = Tensor::new(
        vec![c, h, w],
        (0..c * h * w)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect(),
    );
    let n = net.nodes.len();
    let mut forward_ms = vec![0.0; n];
    let mut stepper = Stepper::new(&net, &weights, &image)?;
    while let Some(id) = stepper.next_node() {
        let t = Instant::now();
        stepper.step(&weights)?;
        forward_ms[id] += ms(t);
    }
    let e = Explainer::from_outputs(&net, &weights, stepper.into_outputs());
    let class = e.top_class();
    let (scores, sign) = score_node(&net);
    let mut seed = vec![0.0; e.outputs()[scores].len()];
    seed[class] = sign;
    let mut backward_ms = vec![0.0; n];
    let mut pass = Backward::new(&net, &weights, e.outputs(), scores, seed, Mode::Guided)?;
    while let Some(id) = pass.next_node() {
        let t = Instant::now();
        pass.step()?;
        backward_ms[id] += ms(t);
    }
    let fast = |e| CliError::Fast(Box::new(e));
    let mut plan = FastPlan::new(&net, &weights, h, w).map_err(fast)?;
    plan.forward(&image).map_err(fast)?;
    let t = Instant::now();
    plan.forward(&image).map_err(fast)?;
    let fast_ms = ms(t);
    println!("{name} at {h}x{w}, seeded random weights; guided backprop of class {class}");
    println!(
        "{:<34} {:<16} {:>12} {:>12} {:>8}",
        "node", "kind", "ref fwd ms", "ref bwd ms", "bwd/fwd"
    );
    for (id, node) in net.nodes.iter().enumerate() {
        let (f, b) = (forward_ms[id], backward_ms[id]);
        println!(
            "{:<34} {:<16} {:>12.3} {:>12.3} {:>8}",
            node.name,
            node.layer.kind(),
            f,
            b,
            if f > 0.0 {
                format!("{:.2}", b / f)
            } else {
                "-".into()
            }
        );
    }
    let (f, b): (f64, f64) = (forward_ms.iter().sum(), backward_ms.iter().sum());
    println!(
        "total: reference forward {f:.1} ms, reference backward {b:.1} ms ({:.2}x)",
        b / f
    );
    println!("fast CPU engine forward (steady): {fast_ms:.1} ms");
    let t = Instant::now();
    let occ = Occlusion::new(&net, &weights, &image, &OcclusionSettings::default())?;
    let maps = occ.run()?;
    let total = ms(t);
    let positions = maps.rows * maps.cols;
    println!(
        "occlusion: {positions} positions ({}x{}, patch {}, stride {}) on the fast CPU engine: {total:.0} ms, {:.1} ms a position",
        maps.rows,
        maps.cols,
        maps.patch,
        maps.stride,
        total / positions as f64
    );
    gpu_backward_times(&net, &weights, &image, scores, class, sign as f32).map(|_| ())
}
