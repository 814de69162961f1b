//! ONNX import: the fixtures of `scripts/fixtures/make_onnx.py` (the zoo's classic layouts at
//! opsets 9, 12 and 17) give onnxruntime's outputs, saved when the fixtures were made, on the
//! CPU reference, the fast CPU engine and the GPU; the zoo's `lenet5_modern` exported with its
//! own tensor names imports as the zoo's network; bad files get clear messages.

mod common;

use common::{assert_close, gpu};
use convscope::analysis::analyze;
use convscope::cpu;
use convscope::fastcpu::FastPlan;
use convscope::gpu::{Plan, PlanOptions};
use convscope::import::{import_onnx, ImportError, OnnxImport};
use convscope::model::{Activation, Layer, Network};
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn import(name: &str) -> OnnxImport {
    let bytes = std::fs::read(fixture(&format!("{name}.onnx"))).unwrap();
    import_onnx(bytes, name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn import_error(bytes: Vec<u8>) -> ImportError {
    import_onnx(bytes, "bad").expect_err("the import should fail")
}

/// The input and onnxruntime's output saved beside a fixture.
fn reference(name: &str) -> (Tensor, Vec<f32>) {
    let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let shape: Vec<usize> = v["input_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    (Tensor::new(shape, floats("input")), floats("output"))
}

/// The network's main output on the CPU reference, the fast CPU engine and (where there is
/// an adapter) the GPU.
fn outputs(net: &Network, weights: &Weights, input: &Tensor) -> Vec<(&'static str, Vec<f32>)> {
    let out = net.output();
    let reference = cpu::forward(net, weights, input).unwrap()[out].data.clone();
    let (h, w) = (input.shape[1], input.shape[2]);
    let mut fast = FastPlan::new(net, weights, h, w).unwrap();
    fast.forward(input).unwrap();
    let mut all = vec![
        ("reference", reference),
        ("fast cpu", fast.read(out).unwrap().data),
    ];
    if let Some(ctx) = gpu() {
        let plan =
            pollster::block_on(Plan::new(ctx, net, weights, h, w, PlanOptions::default())).unwrap();
        plan.forward(ctx, input).unwrap();
        all.push(("gpu", pollster::block_on(plan.read(ctx, out)).unwrap().data));
    }
    all
}

const FAMILIES: [&str; 4] = [
    "alexnet_like",
    "googlenet_like",
    "resnet_like",
    "mobilenet_like",
];

#[test]
fn every_fixture_gives_onnxruntimes_output_on_every_engine() {
    for family in FAMILIES {
        for opset in [9, 12, 17] {
            let name = format!("{family}_op{opset}");
            let imported = import(&name);
            assert_eq!(imported.opset, opset);
            let (input, expected) = reference(&name);
            for (engine, got) in outputs(&imported.net, &imported.weights, &input) {
                assert_close(&format!("{name} on the {engine}"), &got, &expected);
            }
        }
    }
}

#[test]
fn the_layouts_become_convscopes_layers() {
    let kinds = |name: &str| -> Vec<&'static str> {
        import(name)
            .net
            .nodes
            .iter()
            .map(|n| n.layer.kind())
            .collect()
    };
    let alexnet = kinds("alexnet_like_op12");
    assert_eq!(alexnet.iter().filter(|k| **k == "lrn").count(), 2);
    assert_eq!(alexnet.iter().filter(|k| **k == "dense").count(), 2);
    assert!(alexnet.contains(&"dropout"));
    for opset in [9, 12, 17] {
        // make_onnx.py: LeakyRelu with alpha 0.2 after the first conv, with the default 0.01
        // after the first Gemm.
        let leaky: Vec<Activation> = import(&format!("alexnet_like_op{opset}"))
            .net
            .nodes
            .iter()
            .filter_map(|n| match n.layer {
                Layer::Activation(a @ Activation::LeakyRelu { .. }) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(
            leaky,
            [
                Activation::LeakyRelu { alpha: 0.2 },
                Activation::LeakyRelu { alpha: 0.01 }
            ],
            "opset {opset}"
        );
    }
    let googlenet = kinds("googlenet_like_op17");
    assert!(googlenet.contains(&"concat") && googlenet.contains(&"avgpool"));
    assert_eq!(googlenet.last(), Some(&"softmax"));
    let resnet = kinds("resnet_like_op9");
    assert_eq!(resnet.iter().filter(|k| **k == "add").count(), 2);
    assert!(resnet.contains(&"batchnorm") && resnet.contains(&"global_avgpool"));
    let mobilenet = import("mobilenet_like_op17");
    let m: Vec<&str> = mobilenet.net.nodes.iter().map(|n| n.layer.kind()).collect();
    assert!(m.contains(&"conv_depthwise") && m.contains(&"relu6"));
    // Sub and Div on the input have no convolution before them: two scale-and-shift layers.
    // The Mul after `project` folds into it, the Pad into `stem`, the Add into `classifier`.
    assert_eq!(m[1..3], ["batchnorm", "batchnorm"]);
    assert!(!m.contains(&"pad") && mobilenet.notes.iter().any(|n| n.contains("Pad folded")));
    let stem = mobilenet.net.find("stem").unwrap();
    let Layer::Conv2d(c) = &mobilenet.net.nodes[stem].layer else {
        panic!("stem is a conv")
    };
    assert_eq!(
        c.pads(33, 33),
        [0, 1, 1, 0],
        "the Pad's top 0, bottom 1, left 1, right 0"
    );
    assert!(mobilenet.weights.try_get("classifier", "bias").is_some());
}

#[test]
fn an_open_input_size_is_assumed_224_and_said_so() {
    let open = import("resnet_like_op17");
    assert_eq!(open.net.default_input, (224, 224));
    assert!(
        open.notes.iter().any(|n| n.contains("224 assumed")),
        "{:?}",
        open.notes
    );
    let fixed = import("resnet_like_op12");
    assert_eq!(fixed.net.default_input, (32, 32));
    assert!(fixed.notes.is_empty());
}

/// The zoo's `lenet5_modern`, exported by the fixture script with seeded weights under the
/// zoo's tensor names: the import is the zoo's network node for node, its summary is the
/// same, and the zoo network with the imported weights gives the same logits on every engine.
#[test]
fn an_exported_zoo_model_imports_as_the_zoo_network() {
    let imported = import("lenet5_modern");
    let zoo = convscope::zoo::build("lenet5_modern").unwrap();
    assert_eq!(imported.net.nodes, zoo.nodes);
    assert_eq!(imported.net.outputs, zoo.outputs);
    let (a, b) = (
        analyze(&imported.net, 28, 28).unwrap(),
        analyze(&zoo, 28, 28).unwrap(),
    );
    assert_eq!(a.totals, b.totals);
    for (x, y) in a.nodes.iter().zip(&b.nodes) {
        assert_eq!(
            (x.params, x.macs, x.flops, x.receptive_field),
            (y.params, y.macs, y.flops, y.receptive_field)
        );
    }
    let (input, expected) = reference("lenet5_modern");
    let zoo_out = outputs(&zoo, &imported.weights, &input);
    let imported_out = outputs(&imported.net, &imported.weights, &input);
    for ((engine, z), (_, i)) in zoo_out.iter().zip(&imported_out) {
        assert_close(&format!("lenet5_modern on the {engine}"), i, z);
        assert_close(
            &format!("lenet5_modern on the {engine} against onnxruntime"),
            z,
            &expected,
        );
    }
}

#[test]
fn bad_files_get_clear_messages() {
    let good = std::fs::read(fixture("alexnet_like_op12.onnx")).unwrap();
    assert_eq!(import_error(Vec::new()), ImportError::Empty);
    let truncated = import_error(good[..good.len() / 2].to_vec()).to_string();
    assert!(
        truncated.contains("truncated") || truncated.contains("no initializer"),
        "{truncated}"
    );
    let garbage: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let malformed = import_error(garbage).to_string();
    assert!(
        malformed.contains("not a readable ONNX model") || malformed.contains("the graph"),
        "{malformed}"
    );
    assert_eq!(
        import_error(b"PK\x03\x04rest of a zip".to_vec()),
        ImportError::Zip
    );
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();
    let elu = import_error(read("bad_elu.onnx")).to_string();
    assert!(
        elu.contains("Elu") && elu.contains("`elu`") && elu.contains("opset 12"),
        "{elu}"
    );
    let external = import_error(read("bad_external_data.onnx")).to_string();
    assert!(
        external.contains("conv.weight") && external.contains("weights.bin"),
        "{external}"
    );
    assert_eq!(
        import_error(read("bad_opset6.onnx")),
        ImportError::Opset { opset: 6 }
    );
}

#[test]
fn an_oversized_file_is_refused_before_it_is_read() {
    // Zeroed pages from the allocator: the size check comes first, so they are never touched.
    let huge = vec![0u8; convscope::import::MAX_IMPORT_BYTES + 1];
    let e = import_error(huge);
    assert!(matches!(e, ImportError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("limit"));
}

/// The recipes the tool's `--preprocess` and the page's menu name (values from the recipes'
/// definitions: Caffe's mean pixel 104/117/123 in BGR order, torchvision's ImageNet mean/std).
#[test]
fn the_preprocessing_recipes_prepare_a_red_pixel_as_their_frameworks_do() {
    use convscope::preprocess::Recipe;
    let red =
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(8, 8, image::Rgb([255, 0, 0])));
    let first = |recipe: Recipe| -> Vec<f32> {
        let t = recipe.for_side(4).apply(&red);
        assert_eq!(t.shape, vec![3, 4, 4]);
        (0..3).map(|c| t.data[c * 16]).collect()
    };
    assert_eq!(first(Recipe::Caffe), vec![-104.0, -117.0, 255.0 - 123.0]);
    assert_eq!(first(Recipe::None), vec![1.0, 0.0, 0.0]);
    assert_eq!(
        first(Recipe::EfficientNet),
        vec![1.0, -127.0 / 128.0, -127.0 / 128.0]
    );
    let tv = first(Recipe::Torchvision);
    assert!((tv[0] - (1.0 - 0.485) / 0.229).abs() < 1e-5 && (tv[1] + 0.456 / 0.224).abs() < 1e-5);
    assert_eq!(Recipe::parse("caffe"), Some(Recipe::Caffe));
    assert_eq!(Recipe::Torchvision.for_side(224).output_size(), (224, 224));
}

/// The engine loads an imported file as the page and the tool do: names from a labels
/// file, the preprocessing said in the notes, and the page's size limit enforced.
#[test]
fn the_engine_loads_an_onnx_file_with_its_options() {
    use convscope::engine::{Backend, Engine, EngineError, ImportOptions, Quiet};
    let engine = pollster::block_on(Engine::new(Backend::Cpu));
    let bytes = std::fs::read(fixture("googlenet_like_op12.onnx")).unwrap();
    let labels: Vec<String> = (0..10).map(|i| format!("label {i}")).collect();
    let options = ImportOptions {
        labels: Some(labels),
        ..ImportOptions::default()
    };
    let report =
        pollster::block_on(engine.load_onnx("g.onnx", bytes.clone(), options, &mut Quiet)).unwrap();
    assert!(
        report.trained
            && report
                .notes
                .iter()
                .any(|n| n.contains("torchvision (the default"))
    );
    assert_eq!(report.input, [3, 32, 32]);
    let photo = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/photos/coffee.png"
    ))
    .unwrap();
    let result = pollster::block_on(engine.classify(&photo, &mut Quiet)).unwrap();
    assert!(result.top5.iter().all(|p| p.name.starts_with("label ")));
    // The graph ends in a Softmax: its outputs are the probabilities.
    let total: f32 = result.top5.iter().map(|p| p.probability).sum();
    assert!(
        total <= 1.0 + 1e-5 && (result.top5[0].probability - result.top5[0].logit).abs() < 1e-6
    );
    let small = ImportOptions {
        max_bytes: Some(1000),
        ..ImportOptions::default()
    };
    let e = pollster::block_on(engine.load_onnx("g.onnx", bytes, small, &mut Quiet)).unwrap_err();
    assert!(
        matches!(e, EngineError::Import { .. }) && e.to_string().contains("limit"),
        "{e}"
    );
    assert_eq!(
        engine.network().unwrap().name,
        "g.onnx",
        "the failed load kept the loaded model"
    );
}

/// Found by the fuzz target (`fuzz/fuzz_targets/onnx.rs`): a Conv node with no outputs made
/// the import index past the end of its output list, and a Conv bias of the wrong length
/// reached `Tensor::new`'s assertion.
#[test]
fn fuzzed_files_are_errors_not_panics() {
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();
    let e = import_error(read("fuzz_node_without_outputs.onnx")).to_string();
    assert!(e.contains("no initializer or earlier node makes"), "{e}");
    let e = import_error(read("fuzz_conv_bias_length.onnx")).to_string();
    assert!(e.contains("bias values for"), "{e}");
}

/// Found by the fuzz target: 29 KB of protobuf groups nested inside one another (an unknown
/// field, skipped while decoding) overflowed the stack of the old decoder (protobuf 3.4.0's
/// unbounded `skip_group`, RUSTSEC-2024-0437); it is now a malformed file. Well-formed groups
/// nested 100 000 deep (field 99, start key 0x9b 0x06, end key 0x9c 0x06) stop at prost's
/// limit of 100 levels.
#[test]
fn deeply_nested_groups_are_an_error_not_a_stack_overflow() {
    let bytes = std::fs::read(fixture("fuzz_protobuf_group_recursion.onnx")).unwrap();
    let e = import_error(bytes);
    assert!(matches!(e, ImportError::Malformed { .. }), "{e:?}");
    let depth = 100_000;
    let mut nested = [0x9b, 0x06].repeat(depth);
    nested.extend([0x9c, 0x06].repeat(depth));
    let e = import_error(nested);
    assert!(matches!(e, ImportError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("recursion limit"), "{e}");
}
