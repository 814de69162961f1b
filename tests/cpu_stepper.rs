//! The CPU stepper: the one walk over the graph. Pieces of a convolution join to the whole
//! layer, stopping at a node gives exactly the outputs before it, the hook before a node sees
//! what that node will read, and bad inputs are refused before any work.

use convscope::cpu::{forward, CpuError, Stepper};
use convscope::model::{Activation, Conv2d, Layer, Network, Pool2d};
use convscope::tensor::Tensor;
use convscope::weights::Weights;

fn counting(c: usize, h: usize, w: usize, start: f32) -> Tensor {
    let data = (0..c * h * w).map(|i| start + i as f32 * 0.01).collect();
    Tensor::new(vec![c, h, w], data)
}

/// Conv (groups, stride, SAME, no bias) -> ReLU -> conv -> max pool.
fn small_net() -> Network {
    let mut net = Network::new("pieces", 4, (9, 7));
    net.then(
        "conv1",
        Layer::Conv2d(Conv2d::new(4, 6, 3).stride(2).same().groups(2).no_bias()),
    );
    net.then("relu1", Layer::Activation(Activation::Relu));
    net.then("conv2", Layer::Conv2d(Conv2d::new(6, 5, 3).pad(1)));
    net.then("pool", Layer::MaxPool2d(Pool2d::new(2, 2)));
    net
}

/// The page runs long convolutions a few output channels at a time; whatever the piece
/// size, the outputs are exactly those of one whole pass, and progress only grows.
#[test]
fn convolutions_in_pieces_join_to_the_whole_pass() {
    let net = small_net();
    let weights = Weights::random(&net, 5);
    let x = counting(4, 9, 7, -0.3);
    let whole = forward(&net, &weights, &x).unwrap();
    // conv1: 2 x 3 x 3 MACs per output value, 5 x 4 pixels: 360 MACs a channel.
    for macs in [1, 360, 1000, 1 << 30] {
        let mut stepper = Stepper::new(&net, &weights, &x).unwrap().in_pieces(macs);
        let (mut steps, mut last_progress) = (0, 0.0);
        while !stepper.done() {
            stepper.step(&weights).unwrap();
            let p = stepper.progress();
            assert!(
                p >= last_progress && p <= 1.0,
                "progress {p} after {last_progress}"
            );
            last_progress = p;
            steps += 1;
        }
        assert_eq!(last_progress, 1.0);
        if macs == 1 {
            // One channel a step: 6 + 1 + 5 + 1 steps.
            assert_eq!(steps, 13);
        }
        assert_eq!(stepper.into_outputs(), whole, "{macs} MACs a piece");
    }
}

#[test]
fn stopping_at_a_node_gives_the_outputs_up_to_it() {
    let net = small_net();
    let weights = Weights::random(&net, 6);
    let x = counting(4, 9, 7, 0.1);
    let whole = forward(&net, &weights, &x).unwrap();
    let relu = net.find("relu1").unwrap();
    let some = Stepper::new(&net, &weights, &x)
        .unwrap()
        .stop_at(relu)
        .run(&weights)
        .unwrap();
    assert_eq!(some.len(), relu + 1);
    assert_eq!(some[..], whole[..=relu]);
}

/// The hook runs once before each node with every earlier output, and what it does to the
/// weights is what the node then uses.
#[test]
fn the_hook_before_a_node_sees_its_inputs_and_may_change_its_weights() {
    let net = small_net();
    let mut weights = Weights::random(&net, 7);
    let x = counting(4, 9, 7, 0.2);
    let conv2 = net.find("conv2").unwrap();
    let mut seen = Vec::new();
    let outputs = Stepper::new(&net, &weights, &x)
        .unwrap()
        .in_pieces(100)
        .run_with(&mut weights, |id, w, outputs| {
            assert_eq!(
                outputs.len(),
                id,
                "the hook sees the outputs before node {id}"
            );
            seen.push(id);
            if id == conv2 {
                let bias = w.tensors.get_mut("conv2.bias").unwrap();
                bias.data.iter_mut().for_each(|b| *b = 1000.0);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, vec![1, 2, 3, 4]);
    assert_eq!(outputs, forward(&net, &weights, &x).unwrap());
    assert!(outputs[conv2].data.iter().all(|&v| v > 900.0));
}

#[test]
fn bad_inputs_and_weights_are_refused_before_any_work() {
    let net = small_net();
    let weights = Weights::random(&net, 8);
    let wrong = counting(3, 9, 7, 0.0);
    assert!(matches!(
        Stepper::new(&net, &weights, &wrong),
        Err(CpuError::InputShape { .. })
    ));
    let mut missing = weights.clone();
    missing.tensors.remove("conv2.bias");
    assert!(Stepper::new(&net, &missing, &counting(4, 9, 7, 0.0)).is_err());
    // Weights that lose a tensor between steps are caught before the node that needs it.
    let x = counting(4, 9, 7, 0.0);
    let mut stepper = Stepper::new(&net, &weights, &x).unwrap();
    stepper.step(&weights).unwrap();
    stepper.step(&missing).unwrap();
    assert!(stepper.step(&missing).is_err());
}
