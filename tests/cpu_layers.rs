//! The CPU reference, layer by layer, on small cases whose expected numbers are worked out by
//! hand in the comments. Whole graphs through `forward` are in tests/cpu_forward.rs.

use convscope::cpu::{layer_forward, top_k};
use convscope::model::{
    Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Lrn, Padding, PartialConv2d, Pool2d, Rbf,
    Subsample,
};
use convscope::tensor::Tensor;
use convscope::weights::Weights;

fn tensor(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::new(shape.to_vec(), data.to_vec())
}

/// `[c, h, w]` tensor whose values count up from `start` in row-major order.
fn counting(c: usize, h: usize, w: usize, start: f32) -> Tensor {
    let data = (0..c * h * w).map(|i| start + i as f32).collect();
    Tensor::new(vec![c, h, w], data)
}

/// Weights of the single node `l`: `(suffix, shape, data)`.
fn weights_of(entries: &[(&str, &[usize], &[f32])]) -> Weights {
    let mut w = Weights::default();
    for (suffix, shape, data) in entries {
        w.tensors.insert(format!("l.{suffix}"), tensor(shape, data));
    }
    w
}

fn run(layer: Layer, weights: &Weights, inputs: &[&Tensor]) -> Tensor {
    layer_forward("l", &layer, weights, inputs).expect("layer runs")
}

#[track_caller]
fn assert_close(actual: &Tensor, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape, shape, "shape");
    assert_eq!(actual.data.len(), expected.len());
    for (i, (&a, &e)) in actual.data.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-5 + 1e-5 * e.abs(),
            "element {i}: got {a}, expected {e}\n got {:?}",
            actual.data
        );
    }
}

#[test]
fn conv_stride_larger_than_kernel_skips_pixels() {
    // Input 5x5 holds 0..24 (v = 5y + x); a 2x2 all-ones kernel with stride 3 gives
    // (5 - 2) / 3 + 1 = 2 outputs per axis, windows at rows/cols {0,1} and {3,4}:
    // 0+1+5+6 = 12, 3+4+8+9 = 24, 15+16+20+21 = 72, 18+19+23+24 = 84; plus bias 0.5.
    let conv = Conv2d::new(1, 1, 2).stride(3);
    let w = weights_of(&[("weight", &[1, 1, 2, 2], &[1.0; 4]), ("bias", &[1], &[0.5])]);
    let y = run(Layer::Conv2d(conv), &w, &[&counting(1, 5, 5, 0.0)]);
    assert_close(&y, &[1, 2, 2], &[12.5, 24.5, 72.5, 84.5]);
}

#[test]
fn conv_same_stride_2_on_even_input_pads_bottom_right_only() {
    // Input 4x4 holds 1..16 (v = 4y + x + 1). 3x3 ones kernel, stride 2, SAME: out = ceil(4/2) = 2,
    // total padding (2-1)*2 + 3 - 4 = 1, all of it at the bottom / right (TensorFlow's rule).
    // Window (0,0): rows 0-2, cols 0-2: 6 + 18 + 30 = 54.
    // Window (0,1): rows 0-2, cols 2-3 (+ pad): 7 + 15 + 23 = 45.
    // Window (1,0): rows 2-3 (+ pad), cols 0-2: 30 + 42 = 72.
    // Window (1,1): rows 2-3, cols 2-3: 11 + 12 + 15 + 16 = 54.
    // (Symmetric padding of 1 would give 1 + 2 + 5 + 6 = 14 at (0,0).)
    let conv = Conv2d::new(1, 1, 3).stride(2).same().no_bias();
    let w = weights_of(&[("weight", &[1, 1, 3, 3], &[1.0; 9])]);
    let y = run(Layer::Conv2d(conv), &w, &[&counting(1, 4, 4, 1.0)]);
    assert_close(&y, &[1, 2, 2], &[54.0, 45.0, 72.0, 54.0]);
}

#[test]
fn conv_explicit_asymmetric_padding() {
    // Input 1x2 = [1, 2], 1x2 kernel [1, 10], padding left 2, right 0: padded row [0, 0, 1, 2],
    // windows [0,0] -> 0, [0,1] -> 10, [1,2] -> 1 + 20 = 21.
    let mut conv = Conv2d::new(1, 1, 1).no_bias();
    conv.kernel = (1, 2);
    conv.padding = Padding::Explicit {
        top: 0,
        bottom: 0,
        left: 2,
        right: 0,
    };
    let w = weights_of(&[("weight", &[1, 1, 1, 2], &[1.0, 10.0])]);
    let y = run(Layer::Conv2d(conv), &w, &[&tensor(&[1, 1, 2], &[1.0, 2.0])]);
    assert_close(&y, &[1, 1, 3], &[0.0, 10.0, 21.0]);
}

#[test]
fn conv_dilation_spreads_the_kernel() {
    // Input 5x5 holds v = 5y + x. 2x2 kernel [1, 2; 3, 4] with dilation 2 spans 3x3, so 3x3 outputs:
    // out = 1 v(y,x) + 2 v(y,x+2) + 3 v(y+2,x) + 4 v(y+2,x+2) = 10 (5y + x) + 2*2 + 3*10 + 4*12
    //     = 50y + 10x + 82.
    let conv = Conv2d::new(1, 1, 2).dilation(2).no_bias();
    let w = weights_of(&[("weight", &[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0])]);
    let y = run(Layer::Conv2d(conv), &w, &[&counting(1, 5, 5, 0.0)]);
    let expected = [82.0, 92.0, 102.0, 132.0, 142.0, 152.0, 182.0, 192.0, 202.0];
    assert_close(&y, &[1, 3, 3], &expected);
}

#[test]
fn conv_same_with_dilation_pads_for_the_dilated_window() {
    // Input 3x3 holds 1..9. 3x3 ones kernel, dilation 2 (span 5), SAME stride 1: padding 2 per side,
    // so out(y,x) sums v at rows {y-2, y, y+2} x cols {x-2, x, x+2} inside the image:
    // corners 1+3+7+9 = 20, edges e.g. (0,1): 2+8 = 10, centre 5.
    // (Padding for the undilated 3x3 window, 1 per side, would give 5 at (0,0).)
    let conv = Conv2d::new(1, 1, 3).dilation(2).same().no_bias();
    let w = weights_of(&[("weight", &[1, 1, 3, 3], &[1.0; 9])]);
    let y = run(Layer::Conv2d(conv), &w, &[&counting(1, 3, 3, 1.0)]);
    let expected = [20.0, 10.0, 20.0, 10.0, 5.0, 10.0, 20.0, 10.0, 20.0];
    assert_close(&y, &[1, 3, 3], &expected);
}

#[test]
fn conv_groups_2_keeps_the_halves_apart() {
    // Input 4 channels of 1x2: [1,2], [3,4], [5,6], [7,8]. 1x1 conv 4 -> 2 with groups 2:
    // out 0 reads channels 0,1 with weights [1, 10]: [1 + 30, 2 + 40] + 0.5 = [31.5, 42.5];
    // out 1 reads channels 2,3 with [100, 1000]: [500 + 7000, 600 + 8000] - 0.5 = [7499.5, 8599.5].
    let conv = Conv2d::new(4, 2, 1).groups(2);
    let w = weights_of(&[
        ("weight", &[2, 2, 1, 1], &[1.0, 10.0, 100.0, 1000.0]),
        ("bias", &[2], &[0.5, -0.5]),
    ]);
    let y = run(Layer::Conv2d(conv), &w, &[&counting(4, 1, 2, 1.0)]);
    assert_close(&y, &[2, 1, 2], &[31.5, 42.5, 7499.5, 8599.5]);
}

#[test]
fn conv_depthwise_filters_each_channel_alone() {
    // Channel 0 holds v = 3y + x (0..8), channel 1 all ones; 2x2 kernels, groups = channels = 2.
    // Kernel 0 [1, 0; 0, 1]: v(y,x) + v(y+1,x+1) = 6y + 2x + 4 -> [4, 6, 10, 12].
    // Kernel 1 all 0.25 over ones -> 1 everywhere.
    let conv = Conv2d::new(2, 2, 2).groups(2).no_bias();
    assert_eq!(Layer::Conv2d(conv.clone()).kind(), "conv_depthwise");
    let w = weights_of(&[(
        "weight",
        &[2, 1, 2, 2],
        &[1.0, 0.0, 0.0, 1.0, 0.25, 0.25, 0.25, 0.25],
    )]);
    let mut x = counting(1, 3, 3, 0.0).data;
    x.extend([1.0; 9]);
    let y = run(Layer::Conv2d(conv), &w, &[&tensor(&[2, 3, 3], &x)]);
    assert_close(&y, &[2, 2, 2], &[4.0, 6.0, 10.0, 12.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn partial_conv_follows_the_connection_table() {
    // Three 2x2 input maps [1..4], [10..40], [100..400]; table [[0, 2], [1]], kernel 2 -> 1x1 outputs.
    // Packed kernels: #0 = (out 0, in 0) picks the top-left, #1 = (out 0, in 2) the bottom-right,
    // #2 = (out 1, in 1) sums all.
    // out 0 = 1 + 400 + 0.5 = 401.5; out 1 = 10 + 20 + 30 + 40 + 1 = 101.
    let layer = Layer::PartialConv2d(PartialConv2d {
        in_channels: 3,
        table: vec![vec![0, 2], vec![1]],
        kernel: 2,
    });
    let w = weights_of(&[
        (
            "weight",
            &[3, 2, 2],
            &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        ),
        ("bias", &[2], &[0.5, 1.0]),
    ]);
    let x = tensor(
        &[3, 2, 2],
        &[1., 2., 3., 4., 10., 20., 30., 40., 100., 200., 300., 400.],
    );
    let y = run(layer, &w, &[&x]);
    assert_close(&y, &[2, 1, 1], &[401.5, 101.0]);
}

#[test]
fn subsample_scales_block_sums() {
    // Channel 0 holds v = 4y + x (0..15); 2x2 block sums 10, 18, 42, 50; coefficient 0.5, bias 1
    // -> 6, 10, 22, 26. Channel 1 is all ones: block sum 4, coefficient -1, bias 0 -> -4.
    let layer = Layer::Subsample(Subsample {
        channels: 2,
        window: 2,
    });
    let w = weights_of(&[("weight", &[2], &[0.5, -1.0]), ("bias", &[2], &[1.0, 0.0])]);
    let mut x = counting(1, 4, 4, 0.0).data;
    x.extend([1.0; 16]);
    let y = run(layer, &w, &[&tensor(&[2, 4, 4], &x)]);
    assert_close(
        &y,
        &[2, 2, 2],
        &[6.0, 10.0, 22.0, 26.0, -4.0, -4.0, -4.0, -4.0],
    );
}

#[test]
fn max_pool_pads_with_minus_infinity_and_ceil_mode_adds_a_window() {
    // Input 4x4 holds -(4y + x + 1), all negative so zero padding would win.
    // 3x3 window, stride 2, padding 1, ceil mode: ceil((4 + 2 - 3) / 2) + 1 = 3 outputs per axis
    // (floor mode gives 2); windows cover input rows {0,1}, {1,2,3}, {3}.
    // The maximum is the top-left-most pixel: -(4 r + c + 1) with r, c in {0, 1, 3}.
    let layer = Layer::MaxPool2d(Pool2d::new(3, 2).pad(1).ceil());
    let x = Tensor::new(vec![1, 4, 4], (0..16).map(|i| -(i as f32) - 1.0).collect());
    let y = run(layer, &Weights::default(), &[&x]);
    let expected = [-1.0, -2.0, -4.0, -5.0, -6.0, -8.0, -13.0, -14.0, -16.0];
    assert_close(&y, &[1, 3, 3], &expected);
}

/// Input 4x4 holding 1..16, 3x3 window, stride 2, padding 1, ceil mode: per axis the windows
/// cover padded positions [0,3), [2,5), [4,6) (the last clipped at the bottom padding), i.e.
/// input rows {0,1}, {1,2,3}, {3}. Window sums, from v = 4y + x + 1:
/// 14, 30, 12 / 57, 99, 36 / 27, 45, 16.
fn avg_pool_case(count_include_pad: bool) -> Tensor {
    let mut pool = Pool2d::new(3, 2).pad(1).ceil();
    pool.count_include_pad = count_include_pad;
    run(
        Layer::AvgPool2d(pool),
        &Weights::default(),
        &[&counting(1, 4, 4, 1.0)],
    )
}

#[test]
fn avg_pool_count_include_pad_counts_padding_but_not_ceil_overhang() {
    // Divisors per axis: 3, 3, 2 (the last window keeps its padded row but not the ceil-mode
    // overhang), as PyTorch's avg_pool2d: 9 9 6 / 9 9 6 / 6 6 4.
    let expected = [
        14.0 / 9.0,
        30.0 / 9.0,
        12.0 / 6.0,
        57.0 / 9.0,
        99.0 / 9.0,
        36.0 / 6.0,
        27.0 / 6.0,
        45.0 / 6.0,
        16.0 / 4.0,
    ];
    assert_close(&avg_pool_case(true), &[1, 3, 3], &expected);
}

#[test]
fn avg_pool_exclude_pad_divides_by_real_pixels() {
    // Real pixels per axis: 2, 3, 1, so divisors 4 6 2 / 6 9 3 / 2 3 1.
    let expected = [3.5, 5.0, 6.0, 9.5, 11.0, 12.0, 13.5, 15.0, 16.0];
    assert_close(&avg_pool_case(false), &[1, 3, 3], &expected);
}

#[test]
fn lrn_uses_alpha_as_written_in_the_paper() {
    // Channels a = [1, 2, 3] at one pixel, size 3, alpha 0.1, beta 2, k 1.
    // c0: window {0,1}, sum 5: 1 / (1 + 0.5)^2 = 1 / 2.25;  c1: {0,1,2}, sum 14: 2 / 2.4^2 = 2 / 5.76;
    // c2: {1,2}, sum 13: 3 / 2.3^2 = 3 / 5.29. (alpha / size would give 1 / (1 + 5/30)^2 at c0.)
    let layer = Layer::Lrn(Lrn {
        size: 3,
        alpha: 0.1,
        beta: 2.0,
        k: 1.0,
    });
    let y = run(layer, &Weights::default(), &[&counting(3, 1, 1, 1.0)]);
    assert_close(&y, &[3, 1, 1], &[1.0 / 2.25, 2.0 / 5.76, 3.0 / 5.29]);
}

#[test]
fn batch_norm_uses_running_statistics() {
    // eps 0.01 makes the standard deviations sqrt(3.99 + 0.01) = 2 and sqrt(0.24 + 0.01) = 0.5.
    // ch0 [1, 3]: (x - 1) / 2 * 2 + 0.5 = [0.5, 2.5]; ch1 [0, 4]: (x - 2) / 0.5 * 1 + 0 = [-4, 4].
    let layer = Layer::BatchNorm(BatchNorm {
        channels: 2,
        eps: 0.01,
    });
    let w = weights_of(&[
        ("weight", &[2], &[2.0, 1.0]),
        ("bias", &[2], &[0.5, 0.0]),
        ("running_mean", &[2], &[1.0, 2.0]),
        ("running_var", &[2], &[3.99, 0.24]),
    ]);
    let x = tensor(&[2, 1, 2], &[1.0, 3.0, 0.0, 4.0]);
    assert_close(&run(layer, &w, &[&x]), &[2, 1, 2], &[0.5, 2.5, -4.0, 4.0]);
}

#[test]
fn activations() {
    // Sigmoid and tanh values from their definitions (1 / (1 + e^-x), (e^x - e^-x) / (e^x + e^-x)),
    // evaluated in double precision. LeNet-5's 1.7159 tanh(2x/3) is built so that f(1) ~= 1
    // (LeCun et al. 1998, Appendix A); 1.7159 tanh(4/3) = 1.4929388, 1.7159 tanh(1/3) = 0.5516837.
    let x = tensor(&[6, 1, 1], &[-2.0, -1.0, 0.0, 0.5, 1.0, 7.0]);
    // Leaky ReLU: x for x > 0, alpha x otherwise (ONNX's LeakyRelu, alpha 0.01 by default).
    let cases: [(Activation, [f32; 6]); 7] = [
        (Activation::Relu, [0.0, 0.0, 0.0, 0.5, 1.0, 7.0]),
        (Activation::Relu6, [0.0, 0.0, 0.0, 0.5, 1.0, 6.0]),
        (
            Activation::LeakyRelu { alpha: 0.01 },
            [-0.02, -0.01, 0.0, 0.5, 1.0, 7.0],
        ),
        (
            Activation::LeakyRelu { alpha: 0.25 },
            [-0.5, -0.25, 0.0, 0.5, 1.0, 7.0],
        ),
        (
            Activation::Sigmoid,
            [0.1192029, 0.2689414, 0.5, 0.6224593, 0.7310586, 0.9990889],
        ),
        (
            Activation::Tanh,
            [-0.9640276, -0.7615942, 0.0, 0.4621172, 0.7615942, 0.9999983],
        ),
        (
            Activation::ScaledTanh,
            [-1.492939, -0.9999973, 0.0, 0.5516837, 0.9999973, 1.715597],
        ),
    ];
    for (act, expected) in cases {
        let y = run(Layer::Activation(act), &Weights::default(), &[&x]);
        assert_close(&y, &[6, 1, 1], &expected);
    }
}

#[test]
fn dropout_is_the_identity_and_flatten_keeps_channel_major_order() {
    let x = counting(2, 2, 3, 0.0);
    let y = run(
        Layer::Dropout(Dropout { p: 0.5 }),
        &Weights::default(),
        &[&x],
    );
    assert_eq!(y, x);
    let flat = run(Layer::Flatten, &Weights::default(), &[&x]);
    assert_eq!(flat.shape, vec![12, 1, 1]);
    assert_eq!(flat.data, x.data);
}

#[test]
fn dense_is_weight_rows_times_input() {
    // W = [[1, 2, 3], [-1, 0, 1]], x = [1, 1, 2], b = [0.5, -1]: [1 + 2 + 6 + 0.5, -1 + 2 - 1].
    let w = weights_of(&[
        ("weight", &[2, 3], &[1.0, 2.0, 3.0, -1.0, 0.0, 1.0]),
        ("bias", &[2], &[0.5, -1.0]),
    ]);
    let x = tensor(&[3, 1, 1], &[1.0, 1.0, 2.0]);
    let y = run(Layer::Dense(Dense::new(3, 2)), &w, &[&x]);
    assert_close(&y, &[2, 1, 1], &[9.5, 0.0]);
}

#[test]
fn rbf_is_squared_distance_to_each_prototype() {
    // x = [3, 4]; prototypes [0, 0] -> 9 + 16 = 25, [1, 2] -> 4 + 4 = 8.
    let layer = Layer::Rbf(Rbf {
        in_features: 2,
        outputs: 2,
    });
    let w = weights_of(&[("weight", &[2, 2], &[0.0, 0.0, 1.0, 2.0])]);
    let y = run(layer, &w, &[&tensor(&[2, 1, 1], &[3.0, 4.0])]);
    assert_close(&y, &[2, 1, 1], &[25.0, 8.0]);
}

#[test]
fn concat_stacks_channels_in_input_order() {
    let a = tensor(&[1, 1, 2], &[1.0, 2.0]);
    let b = tensor(&[2, 1, 2], &[3.0, 4.0, 5.0, 6.0]);
    let y = run(Layer::Concat, &Weights::default(), &[&a, &b]);
    assert_close(&y, &[3, 1, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn add_sums_every_input() {
    let a = tensor(&[1, 1, 2], &[1.0, 2.0]);
    let b = tensor(&[1, 1, 2], &[10.0, 20.0]);
    let c = tensor(&[1, 1, 2], &[-100.0, 0.5]);
    let y = run(Layer::Add, &Weights::default(), &[&a, &b, &c]);
    assert_close(&y, &[1, 1, 2], &[-89.0, 22.5]);
}

#[test]
fn global_avg_pool_means_each_channel() {
    // ch0 [1, 2, 3, 4] -> 2.5; ch1 [0, 0, 0, -8] -> -2.
    let x = tensor(&[2, 2, 2], &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, -8.0]);
    let y = run(Layer::GlobalAvgPool, &Weights::default(), &[&x]);
    assert_close(&y, &[2, 1, 1], &[2.5, -2.0]);
}

#[test]
fn softmax_sums_to_one_and_survives_large_logits() {
    // e^(x - 3) / (e^-2 + e^-1 + 1) for x = 1, 2, 3.
    let y = run(
        Layer::Softmax,
        &Weights::default(),
        &[&counting(3, 1, 1, 1.0)],
    );
    assert_close(&y, &[3, 1, 1], &[0.09003057, 0.2447285, 0.665241]);
    assert!((y.data.iter().sum::<f32>() - 1.0).abs() < 1e-6);

    // exp(1000) overflows f32 and f64; subtracting the maximum first gives [0.5, 0.5].
    let big = tensor(&[2, 1, 1], &[1000.0, 1000.0]);
    let y = run(Layer::Softmax, &Weights::default(), &[&big]);
    assert_close(&y, &[2, 1, 1], &[0.5, 0.5]);
}

#[test]
fn top_k_is_descending_and_stable_for_ties() {
    let logits = [0.1, 0.5, 0.5, -1.0, f32::NAN, 0.3];
    assert_eq!(top_k(&logits, 3), vec![(1, 0.5), (2, 0.5), (5, 0.3)]);
    let all = top_k(&logits, 10);
    assert_eq!(all.len(), 6);
    assert_eq!(all[4], (3, -1.0));
    assert!(all[5].1.is_nan(), "NaN ranks last");
    assert!(top_k(&logits, 0).is_empty());
}
