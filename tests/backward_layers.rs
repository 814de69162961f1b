//! The CPU reference's backward pass, layer kind by layer kind, against central finite
//! differences of the reference's forward pass, on small random shapes including awkward ones
//! (stride > kernel, groups, dilation, asymmetric padding, channels not divisible by 4).
//!
//! The loss is `L(x) = sum_j dy_j y_j(x)` with a random `dy`, so `dL/dx` is what
//! `layer_backward` returns. Differences are taken in f64 over outputs the reference stores
//! in f32 (its sums run in f64); steps are powers of two, so `x +- eps` is exact, and outputs
//! a perturbation does not reach cancel exactly.

use convscope::cpu::backward::{layer_backward, Mode};
use convscope::cpu::layer_forward;
use convscope::model::{
    Activation, AdaptiveAvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Layer, Lrn, Padding,
    PartialConv2d, Pool2d, Rbf, Subsample,
};
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};

const EPS: f32 = 1.0 / 64.0;

/// Uniform `[-1, 1)` values of every tensor `layer` owns (running variances in `[0.5, 1.5)`).
fn weights_for(layer: &Layer, rng: &mut StdRng) -> Weights {
    let mut w = Weights::default();
    for spec in layer.tensors() {
        let (lo, hi) = if spec.name == "running_var" {
            (0.5, 1.5)
        } else {
            (-1.0, 1.0)
        };
        let data = (0..spec.len()).map(|_| rng.random_range(lo..hi)).collect();
        w.tensors
            .insert(format!("l.{}", spec.name), Tensor::new(spec.shape, data));
    }
    w
}

/// Values in `[-1, 1)` at least 0.1 from zero (clear of a rectifier's kink by more than `EPS`).
fn away_from_zero(shape: &[usize], rng: &mut StdRng) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n)
        .map(|_| {
            let v: f32 = rng.random_range(0.1..1.0);
            if rng.random_bool(0.5) {
                v
            } else {
                -v
            }
        })
        .collect();
    Tensor::new(shape.to_vec(), data)
}

/// Distinct values 0.05 apart in random order: no window of a max pooling holds a tie
/// within `EPS`, so its switches do not move under the perturbation.
fn distinct(shape: &[usize], rng: &mut StdRng) -> Tensor {
    let n: usize = shape.iter().product();
    let mut data: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - 1.0).collect();
    data.shuffle(rng);
    Tensor::new(shape.to_vec(), data)
}

/// `layer_backward` in gradient mode equals central differences for every input element.
#[track_caller]
fn check(layer: Layer, inputs: &[Tensor], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let weights = weights_for(&layer, &mut rng);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let y = layer_forward("l", &layer, &weights, &refs).expect("forward runs");
    let dy: Vec<f64> = (0..y.len()).map(|_| rng.random_range(-1.0..1.0)).collect();
    let dx = layer_backward("l", &layer, &weights, &refs, &y, &dy, Mode::Gradient)
        .expect("backward runs");
    assert_eq!(
        dx.len(),
        inputs.len(),
        "{}: one gradient per input",
        layer.kind()
    );
    let loss = |xs: &[Tensor]| -> Vec<f32> {
        let refs: Vec<&Tensor> = xs.iter().collect();
        layer_forward("l", &layer, &weights, &refs).unwrap().data
    };
    let scale = dx.iter().flatten().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (k, input) in inputs.iter().enumerate() {
        assert_eq!(
            dx[k].len(),
            input.len(),
            "{}: gradient length",
            layer.kind()
        );
        for (i, &got) in dx[k].iter().enumerate() {
            let mut plus = inputs.to_vec();
            plus[k].data[i] += EPS;
            let mut minus = inputs.to_vec();
            minus[k].data[i] -= EPS;
            let (yp, ym) = (loss(&plus), loss(&minus));
            let fd: f64 = (0..y.len())
                .map(|j| dy[j] * (yp[j] as f64 - ym[j] as f64))
                .sum::<f64>()
                / (2.0 * EPS as f64);
            assert!(
                (fd - got).abs() <= 2e-4 * scale + 2e-3 * fd.abs(),
                "{} input {k} element {i}: backward {got}, finite difference {fd} (scale {scale})",
                layer.kind()
            );
        }
    }
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

#[test]
fn conv_stride_larger_than_kernel() {
    let x = away_from_zero(&[3, 7, 8], &mut rng(1));
    check(Layer::Conv2d(Conv2d::new(3, 5, 2).stride(3)), &[x], 11);
}

#[test]
fn conv_groups_dilation_asymmetric_padding() {
    let mut c = Conv2d::new(4, 6, 3).groups(2).dilation(2);
    c.padding = Padding::Explicit {
        top: 1,
        bottom: 0,
        left: 2,
        right: 1,
    };
    c.stride = (2, 1);
    let x = away_from_zero(&[4, 8, 7], &mut rng(2));
    check(Layer::Conv2d(c), &[x], 12);
}

#[test]
fn conv_depthwise_same_stride_2_no_bias() {
    let x = away_from_zero(&[5, 6, 7], &mut rng(3));
    let c = Conv2d::new(5, 5, 3).groups(5).same().stride(2).no_bias();
    check(Layer::Conv2d(c), &[x], 13);
}

#[test]
fn conv_non_square_kernel_odd_channels() {
    let mut c = Conv2d::new(5, 3, 3).pad(1);
    c.kernel = (3, 2);
    let x = away_from_zero(&[5, 4, 5], &mut rng(4));
    check(Layer::Conv2d(c), &[x], 14);
}

#[test]
fn partial_conv() {
    let p = PartialConv2d {
        in_channels: 3,
        table: vec![vec![0, 1], vec![1, 2], vec![0, 1, 2], vec![2]],
        kernel: 3,
    };
    let x = away_from_zero(&[3, 6, 5], &mut rng(5));
    check(Layer::PartialConv2d(p), &[x], 15);
}

#[test]
fn subsample_with_a_remainder() {
    let s = Subsample {
        channels: 3,
        window: 2,
    };
    let x = away_from_zero(&[3, 5, 6], &mut rng(6));
    check(Layer::Subsample(s), &[x], 16);
}

#[test]
fn max_pool_overlapping_padded_ceil() {
    let x = distinct(&[3, 7, 6], &mut rng(7));
    check(Layer::MaxPool2d(Pool2d::new(3, 2).pad(1).ceil()), &[x], 17);
}

#[test]
fn max_pool_stride_larger_than_window() {
    let x = distinct(&[2, 7, 8], &mut rng(8));
    check(Layer::MaxPool2d(Pool2d::new(2, 3)), &[x], 18);
}

#[test]
fn max_pool_first_index_wins_a_tie() {
    let p = Pool2d::new(2, 2);
    let x = Tensor::new(vec![1, 2, 2], vec![3.0, 3.0, 1.0, 3.0]);
    let y = layer_forward(
        "l",
        &Layer::MaxPool2d(p.clone()),
        &Weights::default(),
        &[&x],
    )
    .unwrap();
    let dx = layer_backward(
        "l",
        &Layer::MaxPool2d(p),
        &Weights::default(),
        &[&x],
        &y,
        &[1.0],
        Mode::Gradient,
    )
    .unwrap();
    assert_eq!(dx[0], [1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn avg_pool_counting_padding_and_not() {
    for (include, seed) in [(true, 19), (false, 20)] {
        let mut p = Pool2d::new(3, 2).pad(1).ceil();
        p.count_include_pad = include;
        let x = away_from_zero(&[3, 6, 7], &mut rng(seed));
        check(Layer::AvgPool2d(p), &[x], seed);
    }
}

#[test]
fn adaptive_and_global_average_pooling() {
    let x = away_from_zero(&[3, 5, 7], &mut rng(21));
    let a = AdaptiveAvgPool2d { output: (3, 2) };
    check(Layer::AdaptiveAvgPool2d(a), std::slice::from_ref(&x), 21);
    check(Layer::GlobalAvgPool, &[x], 22);
}

#[test]
fn batch_norm_as_a_per_channel_scale() {
    let b = BatchNorm {
        channels: 5,
        eps: 1e-3,
    };
    let x = away_from_zero(&[5, 3, 4], &mut rng(23));
    check(Layer::BatchNorm(b), &[x], 23);
}

#[test]
fn lrn_odd_and_even_windows() {
    // alpha large enough that the normalisation's own gradient matters.
    for (size, seed) in [(5, 24), (4, 25)] {
        let l = Lrn {
            size,
            alpha: 0.5,
            beta: 0.75,
            k: 2.0,
        };
        let x = away_from_zero(&[7, 3, 3], &mut rng(seed));
        check(Layer::Lrn(l), &[x], seed);
    }
}

#[test]
fn activations_by_their_derivatives() {
    use Activation::*;
    let leaky = LeakyRelu { alpha: 0.2 };
    for (i, a) in [Relu, Relu6, Sigmoid, Tanh, ScaledTanh, leaky]
        .into_iter()
        .enumerate()
    {
        // Scaled by 8 so ReLU6's upper kink is crossed; none lies within EPS of a value.
        let mut x = away_from_zero(&[3, 4, 5], &mut rng(30 + i as u64));
        x.data.iter_mut().for_each(|v| *v *= 8.0);
        x.data
            .iter_mut()
            .filter(|v| (v.abs() - 6.0).abs() < 0.1)
            .for_each(|v| *v += 0.5);
        check(Layer::Activation(a), &[x], 30 + i as u64);
    }
}

#[test]
fn dense_rbf_softmax_flatten_dropout() {
    let x = away_from_zero(&[7, 1, 1], &mut rng(40));
    check(Layer::Dense(Dense::new(7, 5)), std::slice::from_ref(&x), 40);
    let r = Rbf {
        in_features: 7,
        outputs: 3,
    };
    check(Layer::Rbf(r), std::slice::from_ref(&x), 41);
    check(Layer::Softmax, &[x], 42);
    let x = away_from_zero(&[3, 2, 3], &mut rng(43));
    check(Layer::Flatten, std::slice::from_ref(&x), 43);
    check(Layer::Dropout(Dropout { p: 0.5 }), &[x], 44);
}

#[test]
fn add_copies_and_concat_splits() {
    let mut r = rng(50);
    let xs = [
        away_from_zero(&[3, 4, 5], &mut r),
        away_from_zero(&[3, 4, 5], &mut r),
        away_from_zero(&[3, 4, 5], &mut r),
    ];
    check(Layer::Add, &xs, 50);
    let xs = [
        away_from_zero(&[2, 3, 4], &mut r),
        away_from_zero(&[3, 3, 4], &mut r),
    ];
    check(Layer::Concat, &xs, 51);
}

#[test]
fn rectifier_modes_gradient_guided_deconvnet() {
    // x and g of every sign; ReLU6 also closed above 6.
    let x = [-1.0f32, -1.0, 2.0, 2.0, 7.0, 7.0];
    let g = [0.5f64, -0.5, 0.5, -0.5, 0.5, -0.5];
    let run = |a, mode| convscope::cpu::backward::activation_backward(a, mode, &x, &g);
    assert_eq!(
        run(Activation::Relu, Mode::Gradient),
        [0.0, 0.0, 0.5, -0.5, 0.5, -0.5]
    );
    assert_eq!(
        run(Activation::Relu, Mode::Guided),
        [0.0, 0.0, 0.5, 0.0, 0.5, 0.0]
    );
    assert_eq!(
        run(Activation::Relu, Mode::Deconvnet),
        [0.5, 0.0, 0.5, 0.0, 0.5, 0.0]
    );
    assert_eq!(
        run(Activation::Relu6, Mode::Gradient),
        [0.0, 0.0, 0.5, -0.5, 0.0, 0.0]
    );
    assert_eq!(
        run(Activation::Relu6, Mode::Guided),
        [0.0, 0.0, 0.5, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        run(Activation::Relu6, Mode::Deconvnet),
        [0.5, 0.0, 0.5, 0.0, 0.5, 0.0]
    );
    // Leaky ReLU (alpha 0.25): slope alpha where x <= 0 in gradient mode; guided keeps that
    // only where g > 0; deconvnet applies the leaky ReLU to g, whatever x.
    let leaky = Activation::LeakyRelu { alpha: 0.25 };
    assert_eq!(
        run(leaky, Mode::Gradient),
        [0.125, -0.125, 0.5, -0.5, 0.5, -0.5]
    );
    assert_eq!(run(leaky, Mode::Guided), [0.125, 0.0, 0.5, 0.0, 0.5, 0.0]);
    assert_eq!(
        run(leaky, Mode::Deconvnet),
        [0.5, -0.125, 0.5, -0.125, 0.5, -0.125]
    );
    // Smooth activations have no switch: every mode is the derivative.
    let t = run(Activation::Tanh, Mode::Gradient);
    assert_eq!(run(Activation::Tanh, Mode::Guided), t);
    assert_eq!(run(Activation::Tanh, Mode::Deconvnet), t);
}

#[test]
fn a_gradient_of_the_wrong_length_is_refused() {
    let x = away_from_zero(&[1, 2, 2], &mut rng(60));
    let layer = Layer::Activation(Activation::Relu);
    let w = Weights::default();
    let y = layer_forward("l", &layer, &w, &[&x]).unwrap();
    let err = layer_backward("l", &layer, &w, &[&x], &y, &[1.0; 3], Mode::Gradient).unwrap_err();
    assert!(
        err.to_string().contains("has 3 values, its output has 4"),
        "{err}"
    );
}
