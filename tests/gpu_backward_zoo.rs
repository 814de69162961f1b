//! The whole-network GPU backward pass against the CPU reference's, in the three modes, on
//! EfficientNet-Lite0 with its real weights and on ResNet-18 (torchvision's layout) with
//! seeded weights, seeded one-hot at the top class's logit. Two checks: every node's
//! gradient equals the reference layer's backward fed the GPU's own forward values and the
//! GPU's gradients at its consumers (the kernel tolerance, no drift); and the gradient at
//! the input equals the reference's whole pass (scaled by the map's largest value, as
//! rounding compounds with depth).

mod common;

use common::{assert_close, gpu, random_input};
use convscope::cpu::backward::{backward, layer_backward, Mode};
use convscope::cpu::{self, top_k};
use convscope::gpu::{BackwardPlan, Plan, PlanOptions};
use convscope::model::{Layer, Network};
use convscope::tensor::Tensor;
use convscope::weights::{load_safetensors, Weights};
use convscope::zoo;
use std::path::PathBuf;

fn check(net: &Network, weights: &Weights, input: &Tensor) {
    let Some(ctx) = gpu() else { return };
    let (h, w) = (input.shape[1], input.shape[2]);
    let reference = cpu::forward(net, weights, input).expect("cpu reference");
    let out = net.output();
    let class = top_k(&reference[out].data, 1)[0].0;
    let mut seed = vec![0.0f32; reference[out].len()];
    seed[class] = 1.0;
    let plan = pollster::block_on(Plan::new(ctx, net, weights, h, w, PlanOptions::default()))
        .unwrap_or_else(|e| panic!("{}: {e}", net.name));
    plan.forward(ctx, input).unwrap();
    let ids: Vec<usize> = (0..net.nodes.len()).collect();
    let forward = pollster::block_on(plan.read_many(ctx, &ids)).unwrap();
    let mut back = pollster::block_on(BackwardPlan::new(ctx, &plan, weights)).unwrap();
    for mode in [Mode::Gradient, Mode::Guided, Mode::Deconvnet] {
        back.run(ctx, &plan, out, &seed, mode, 0).unwrap();
        let grads = pollster::block_on(back.read_many(ctx, &plan, &ids)).unwrap();
        every_node_matches(net, weights, &forward, &grads, mode);
        let seed64: Vec<f64> = seed.iter().map(|&v| v as f64).collect();
        let want = backward(net, weights, &reference, out, seed64, mode).unwrap();
        let want: Vec<f32> = want[0]
            .as_ref()
            .unwrap()
            .iter()
            .map(|&v| v as f32)
            .collect();
        let got = &grads[0].as_ref().expect("the input is reached").data;
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            scale > 0.0,
            "{} {mode:?}: a zero gradient proves nothing",
            net.name
        );
        for (i, (g, c)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - c).abs() <= 2e-3 * scale + 1e-3 * c.abs(),
                "{} {mode:?} d/d input {i}: gpu {g} cpu {c} scale {scale}",
                net.name
            );
        }
    }
}

/// Each node's gradient is the sum, over its consumers the pass reached, of the reference
/// layer's backward on the GPU's forward values and the GPU's gradient at the consumer.
/// Activations are handed their output as their input: the fused kernels store only the
/// output, and a rectifier's mask reads the same from either (y > 0 iff x > 0).
fn every_node_matches(
    net: &Network,
    weights: &Weights,
    forward: &[Tensor],
    grads: &[Option<Tensor>],
    mode: Mode,
) {
    let mut expected: Vec<Option<Vec<f64>>> = vec![None; net.nodes.len()];
    for (id, node) in net.nodes.iter().enumerate().skip(1).rev() {
        let Some(dy) = &grads[id] else { continue };
        let dy: Vec<f64> = dy.data.iter().map(|&v| v as f64).collect();
        let inputs: Vec<&Tensor> = match node.layer {
            Layer::Activation(_) => vec![&forward[id]],
            _ => node.inputs.iter().map(|&i| &forward[i]).collect(),
        };
        let dxs = layer_backward(
            &node.name,
            &node.layer,
            weights,
            &inputs,
            &forward[id],
            &dy,
            mode,
        )
        .unwrap();
        for (&i, dx) in node.inputs.iter().zip(dxs) {
            match &mut expected[i] {
                Some(acc) => acc.iter_mut().zip(&dx).for_each(|(a, d)| *a += d),
                empty => *empty = Some(dx),
            }
        }
    }
    for (id, node) in net.nodes.iter().enumerate() {
        let Some(want) = &expected[id] else { continue };
        let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
        let got = grads[id]
            .as_ref()
            .expect("a node with a reached consumer is reached");
        assert_close(
            &format!("{} {mode:?} d/d {}", net.name, node.name),
            &got.data,
            &want,
        );
    }
}

#[test]
fn efficientnet_lite0_real_weights_backward_matches_the_reference() {
    let net = zoo::build("efficientnet_lite0").unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/weights/efficientnet_lite0.safetensors");
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run ./scripts/setup.sh first", path.display()));
    let weights = load_safetensors(&bytes, &net).unwrap();
    // Preprocessed values lie in about [-1, 1]; 96 x 96 keeps lavapipe quick.
    let input = random_input(3, 96, 96, 5);
    check(&net, &weights, &input);
}

#[test]
fn resnet18_seeded_weights_backward_matches_the_reference() {
    let net = zoo::build("resnet18").unwrap();
    let mut weights = Weights::random(&net, 42);
    let input = random_input(3, 64, 64, 1);
    cpu::calibrate_batchnorm(&net, &mut weights, &input).expect("cpu reference");
    check(&net, &weights, &input);
}
