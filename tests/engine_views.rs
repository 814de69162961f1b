//! The engine's entry points for the page's explanation views, on the last classified input:
//! heat maps (gradient, guided, Grad-CAM, guided Grad-CAM), a unit's projection and its box,
//! occlusion's three maps and the top-9 gallery over the inputs seen. Each is checked against
//! the methods called directly (`convscope::explain`) on the same input and weights, and the
//! pictures against the stated rules (bilinear upsampling against PyTorch's, constant maps).

use convscope::engine::explain::{ExplainRequest, Method};
use convscope::engine::views::HeatMethod;
use convscope::engine::{model_weights, Backend, Engine, EngineError, Quiet};
use convscope::explain::picture::{heat_rgba, hot, upsample_bilinear, Normalise};
use convscope::explain::{Explainer, Occlusion, OcclusionSettings, Top9, Unit};
use convscope::model::Network;
use convscope::weights::Weights;
use convscope::zoo;
use pollster::block_on;

const MODEL: &str = "lenet5_modern";

fn photo(name: &str) -> image::DynamicImage {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/photos")
        .join(name);
    image::open(&p).unwrap_or_else(|e| panic!("{}: {e} (run ./scripts/setup.sh)", p.display()))
}

/// A CPU engine with MODEL's seeded random weights, and the same network and weights.
fn engine() -> (Engine, Network, Weights) {
    let engine = block_on(Engine::new(Backend::Cpu));
    block_on(engine.load_model(MODEL, None, &mut Quiet)).unwrap();
    let entry = zoo::entry(MODEL).unwrap();
    let net = (entry.build)();
    let weights = block_on(model_weights(entry, &net, None, &mut Quiet))
        .unwrap()
        .weights;
    (engine, net, weights)
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-4 * y.abs(),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn bilinear_upsampling_matches_pytorch_align_corners_false() {
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4),
    // mode='bilinear', align_corners=False)
    let expected = [
        0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
    ];
    assert_eq!(
        upsample_bilinear(&[0.0, 1.0, 2.0, 3.0], (2, 2), (4, 4)),
        expected
    );
    // Same size: unchanged.
    let map = [0.5, -1.0, 2.0, 7.0, 3.0, 1.0];
    assert_eq!(upsample_bilinear(&map, (2, 3), (2, 3)), map);
}

#[test]
fn constant_maps_are_drawn_without_nan_or_blanks() {
    // Range: a constant map sits at the colormap's middle; Magnitude: all zero is no heat.
    let mid = hot(0.5).map(|v| (v * 255.0).round() as u8);
    let rgba = heat_rgba(&[0.25; 6], Normalise::Range);
    assert!(
        rgba.chunks(4).all(|p| p[..3] == mid && p[3] == 255),
        "{rgba:?}"
    );
    assert!(heat_rgba(&[0.0; 4], Normalise::Magnitude)
        .chunks(4)
        .all(|p| p == [0, 0, 0, 255]));
    let broken = heat_rgba(&[f32::NAN, 1.0, f32::INFINITY], Normalise::Range);
    assert_eq!(broken.len(), 12);
}

#[test]
fn views_need_a_classified_input() {
    let (engine, _, _) = engine();
    let e = block_on(engine.heatmap(HeatMethod::Gradient, None, None, &mut Quiet)).unwrap_err();
    assert!(matches!(e, EngineError::NothingRun), "{e}");
    let e = block_on(engine.gallery("conv1", 0, &mut Quiet)).unwrap_err();
    assert!(e.to_string().contains("no images"), "{e}");
}

#[test]
fn heat_maps_equal_the_methods_on_the_same_input() {
    let (engine, net, weights) = engine();
    let image = photo("coffee.png");
    block_on(engine.classify(&image, &mut Quiet)).unwrap();
    let input = block_on(engine.explain(
        &image,
        Method::Gradient,
        &ExplainRequest::default(),
        &mut Quiet,
    ))
    .unwrap()
    .input;
    let e = Explainer::new(&net, &weights, &input).unwrap();
    let class = e.top_class();
    let (h, w) = (input.shape[1], input.shape[2]);
    for (method, mode) in [
        (
            HeatMethod::Gradient,
            convscope::cpu::backward::Mode::Gradient,
        ),
        (HeatMethod::Guided, convscope::cpu::backward::Mode::Guided),
    ] {
        let map = block_on(engine.heatmap(method, None, None, &mut Quiet)).unwrap();
        assert_eq!(map.class, class);
        assert_eq!(map.backend, "reference");
        close(
            &map.values,
            &e.saliency(class, mode).unwrap().data,
            method.name(),
        );
        assert_eq!(map.rgba.len(), 4 * h * w);
    }
    // Grad-CAM at the default node: the last with extent before the scores (pool2, 5x5).
    let cam = block_on(engine.heatmap(HeatMethod::GradCam, None, None, &mut Quiet)).unwrap();
    assert_eq!(cam.node.as_deref(), Some("pool2"));
    let reference = e.grad_cam(net.find("pool2").unwrap(), class).unwrap();
    assert_eq!(cam.shape, [reference.h, reference.w]);
    let expected: Vec<f32> = reference.map.iter().map(|&v| v as f32).collect();
    close(&cam.values, &expected, "gradcam");
    // Guided Grad-CAM at conv2: guided backprop times the upsampled map.
    let gg = block_on(engine.heatmap(HeatMethod::GuidedGradCam, None, Some("conv2"), &mut Quiet))
        .unwrap();
    let cam2 = e.grad_cam(net.find("conv2").unwrap(), class).unwrap();
    let cam2: Vec<f32> = cam2.map.iter().map(|&v| v as f32).collect();
    let up = upsample_bilinear(&cam2, (10, 10), (h, w));
    let guided = e
        .saliency(class, convscope::cpu::backward::Mode::Guided)
        .unwrap();
    let expected: Vec<f32> = guided
        .data
        .iter()
        .enumerate()
        .map(|(i, g)| g * up[i % (h * w)])
        .collect();
    close(&gg.values, &expected, "guided gradcam");
    assert!(!gg.range.constant && gg.range.max > 0.0, "{:?}", gg.range);
    assert!(gg.rgba.iter().any(|&b| b != gg.rgba[0]), "a blank picture");
}

#[test]
fn a_units_projection_and_its_box() {
    let (engine, net, weights) = engine();
    let image = photo("coffee.png");
    block_on(engine.classify(&image, &mut Quiet)).unwrap();
    let p = block_on(engine.project_unit("conv2", 3, (4, 6), &mut Quiet)).unwrap();
    let input = block_on(engine.explain(
        &image,
        Method::Gradient,
        &ExplainRequest::default(),
        &mut Quiet,
    ))
    .unwrap()
    .input;
    let e = Explainer::new(&net, &weights, &input).unwrap();
    let unit = Unit {
        node: net.find("conv2").unwrap(),
        channel: 3,
        y: 4,
        x: 6,
    };
    close(&p.values, &e.deconvnet(unit).unwrap().data, "projection");
    // conv2's field: 14 px, jump 2, starting at -2 (conv1 5x5 pads 2; pool1 2/2; conv2 5x5).
    assert_eq!((p.height, p.width), (14, 14));
    assert_eq!((p.top, p.left), (4 * 2 - 2, 6 * 2 - 2));
    assert_eq!(p.patch_rgba.len(), 4 * 14 * 14);
    assert_eq!(p.projection_rgba.len(), 4 * 14 * 14);
    // The projection is zero outside the box.
    let (h, w) = (input.shape[1], input.shape[2]);
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let inside = (p.top..p.top + 14).contains(&y) && (p.left..p.left + 14).contains(&x);
            if !inside {
                assert_eq!(p.values[(y * w as i64 + x) as usize], 0.0, "({y},{x})");
            }
        }
    }
    let e = block_on(engine.project_unit("conv2", 99, (0, 0), &mut Quiet)).unwrap_err();
    assert!(e.to_string().contains("channel 99 does not exist"), "{e}");
}

#[test]
fn occlusion_view_equals_the_method_and_a_flat_input_gives_constant_maps() {
    let (engine, net, weights) = engine();
    let image = photo("coffee.png");
    block_on(engine.classify(&image, &mut Quiet)).unwrap();
    let request = ExplainRequest {
        patch: Some(6),
        stride: Some(4),
        ..Default::default()
    };
    let v = block_on(engine.occlusion_view(&request, &mut Quiet)).unwrap();
    let input = block_on(engine.explain(
        &image,
        Method::Gradient,
        &ExplainRequest::default(),
        &mut Quiet,
    ))
    .unwrap()
    .input;
    let settings = OcclusionSettings {
        patch: Some(6),
        stride: Some(4),
        ..Default::default()
    };
    let maps = Occlusion::new(&net, &weights, &input, &settings)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!((v.rows, v.cols), (6, 6));
    assert_eq!(v.probability, maps.probability);
    assert_eq!(v.activation, maps.activation);
    assert_eq!(
        v.top_class,
        maps.top_class.iter().map(|&c| c as u32).collect::<Vec<_>>()
    );
    assert_eq!(v.node, "pool2");
    assert_eq!(v.rgba.len(), 3 * 4 * 36);
    assert_eq!(v.top_classes.iter().map(|s| s.count).sum::<usize>(), 36);
    // A black input is already what the occluder writes (0 after normalisation): nothing
    // changes, so every map is constant, and drawn at the colormap's middle.
    let black = image::DynamicImage::new_rgb8(28, 28);
    block_on(engine.classify(&black, &mut Quiet)).unwrap();
    let v = block_on(engine.occlusion_view(&ExplainRequest::default(), &mut Quiet)).unwrap();
    assert!(v.probability_range.constant && v.activation_range.constant);
    assert!(v.probability_range.min.is_finite());
    let mid = hot(0.5).map(|x| (x * 255.0).round() as u8);
    let n = v.rows * v.cols;
    assert!(v.rgba[..4 * n].chunks(4).all(|p| p[..3] == mid));
}

#[test]
fn the_gallery_ranks_the_inputs_seen() {
    let (engine, net, weights) = engine();
    let photos = ["coffee.png", "chelsea.png", "astronaut.png", "coffee.png"];
    for name in photos {
        block_on(engine.classify(&photo(name), &mut Quiet)).unwrap();
    }
    // coffee.png twice is one input.
    assert_eq!(engine.dataset_len(), 3);
    let mut rgba = vec![0u8; 28 * 28 * 4];
    for (i, px) in rgba.chunks_mut(4).enumerate() {
        px.copy_from_slice(&[(i % 251) as u8, 0, 0, 255]);
    }
    assert_eq!(engine.dataset_add_rgba(28, 28, rgba).unwrap(), 4);
    let g = block_on(engine.gallery("conv2", 5, &mut Quiet)).unwrap();
    assert_eq!(g.inputs, 4);
    assert_eq!(g.entries.len(), 4, "fewer than nine inputs: all of them");
    let entry = zoo::entry(MODEL).unwrap();
    let mut search = Top9::new(
        &net,
        &weights,
        net.find("conv2").unwrap(),
        &[5],
        entry.preprocess.output_size(),
    )
    .unwrap();
    let mut inputs: Vec<_> = photos[..3]
        .iter()
        .map(|n| entry.preprocess.apply(&photo(n)))
        .collect();
    let grey = image::RgbaImage::from_fn(28, 28, |x, y| {
        image::Rgba([((y * 28 + x) % 251) as u8, 0, 0, 255])
    });
    inputs.push(
        entry
            .preprocess
            .apply(&image::DynamicImage::ImageRgba8(grey)),
    );
    for x in &inputs {
        search.add(x).unwrap();
    }
    for (got, &(value, image, y, x)) in g.entries.iter().zip(search.ranking(0)) {
        assert_eq!((got.image, got.y, got.x), (image, y, x));
        assert!(
            (got.value - value).abs() <= 1e-5,
            "{} vs {value}",
            got.value
        );
    }
    assert_eq!(g.patches.len(), 4 * 4 * g.height * g.width);
    assert_eq!(g.projections.len(), g.patches.len());
    assert_eq!(g.projection_backend, "reference");
}
