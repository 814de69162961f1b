//! Weights: seeded starting values, safetensors round trips, and every validation failure
//! naming its tensor. The legacy torch reader is tested in tests/weights_torch.rs.

use convscope::model::{Layer, Network};
use convscope::tensor::Tensor;
use convscope::weights::{
    check_safetensors, decode_f32, load_safetensors, save_safetensors, Init, RandomWeights,
    TensorProblem, Weights, WeightsError,
};
use convscope::zoo;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

fn model(name: &str) -> Network {
    zoo::build(name).unwrap_or_else(|| panic!("zoo has no `{name}`"))
}

/// One tensor of a safetensors file: name, dtype, shape, little-endian bytes.
type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

/// A safetensors file written by the crate itself, so tests can use any dtype.
fn raw_file(entries: &[Entry]) -> Vec<u8> {
    let views = entries
        .iter()
        .map(|(n, d, s, b)| (n, TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, None).unwrap()
}

fn entries(w: &Weights) -> Vec<Entry> {
    let bytes = |d: &[f32]| d.iter().flat_map(|x| x.to_le_bytes()).collect();
    let entry =
        |(n, t): (&String, &Tensor)| (n.clone(), Dtype::F32, t.shape.clone(), bytes(&t.data));
    w.tensors.iter().map(entry).collect()
}

/// lenet5's random weights as raw entries, to be edited by a test.
fn lenet_entries() -> Vec<Entry> {
    entries(&Weights::random(&model("lenet5"), 7))
}

fn truncated(needed: u128, found: usize, tensor: Option<&str>) -> WeightsError {
    let tensor = tensor.map(String::from);
    WeightsError::Truncated {
        needed,
        found,
        tensor,
    }
}

fn problems(result: Result<Weights, WeightsError>) -> Vec<TensorProblem> {
    match result {
        Err(WeightsError::Mismatch { problems, .. }) => problems,
        other => panic!("expected a tensor mismatch, got {other:?}"),
    }
}

#[test]
fn lenet5_random_weights_round_trip() {
    let net = model("lenet5");
    let w = Weights::random(&net, 1);
    let bytes = save_safetensors(&w.tensors).unwrap();
    assert_eq!(load_safetensors(&bytes, &net).unwrap(), w);
}

/// The page makes random weights a million values at a time; the steps must not change them.
#[test]
fn random_weights_made_in_small_steps_equal_those_made_at_once() {
    let net = model("lenet5_modern");
    let mut maker = RandomWeights::new(&net, 7);
    let mut steps = 0;
    let mut last = 0.0;
    while !maker.step(1000) {
        steps += 1;
        assert!(maker.progress() > last && maker.progress() < 1.0);
        last = maker.progress();
    }
    assert_eq!(maker.progress(), 1.0);
    assert_eq!(
        steps,
        61_706 / 1000,
        "one step per 1000 of the 61,706 values"
    );
    assert_eq!(maker.finish(), Weights::random(&net, 7));
}

/// The trainer's starting weights come from the same drawing code as the page's, in steps or
/// at once, and stay within the bounds the scheme states (LeNet-5 has no ReLU: 1 / fan_in).
#[test]
fn training_weights_share_the_stepwise_initialiser() {
    let net = model("lenet5");
    let init = Init::training(&net);
    assert_eq!(init, Init::Training { relu: false });
    let mut maker = RandomWeights::with_init(&net, 3, init);
    while !maker.step(777) {}
    let stepped = maker.finish();
    assert_eq!(stepped, convscope::train::init_weights(&net, 3));
    // C3's first output map reads 3 input maps: 75 weights within +-sqrt(3 / 75).
    let c3 = &stepped.get("c3", "weight").data[..75];
    assert!(c3.iter().all(|v| v.abs() < 0.2) && c3.iter().any(|v| v.abs() > 0.15));
    assert!(stepped.get("c3", "bias").data.iter().all(|&b| b == 0.0));
    let codes = &stepped.get("output", "weight").data;
    assert!(codes.iter().all(|&v| v == 1.0 || v == -1.0));
}

/// The page checks a file at once and decodes it in pieces; the pieces make the same weights.
#[test]
fn checked_layouts_decode_to_the_loaded_weights() {
    let net = model("lenet5");
    let weights = Weights::random(&net, 3);
    let bytes = save_safetensors(&weights.tensors).unwrap();
    let layouts = check_safetensors(&bytes, &net).unwrap();
    assert_eq!(layouts.len(), weights.tensors.len());
    for t in &layouts {
        let data: Vec<f32> = bytes[t.bytes.clone()]
            .chunks(8)
            .flat_map(decode_f32)
            .collect();
        assert_eq!(Tensor::new(t.shape.clone(), data), weights.tensors[&t.name]);
    }
    assert_eq!(load_safetensors(&bytes, &net).unwrap(), weights);
    let other = model("lenet5_modern");
    assert!(matches!(
        check_safetensors(&bytes, &other),
        Err(WeightsError::Mismatch { .. })
    ));
}

#[test]
fn resnet18_torchvision_layout_with_num_batches_tracked_loads() {
    let net = model("resnet18");
    let w = Weights::random(&net, 2);
    let mut entries = entries(&w);
    // torchvision's state_dict() carries an int64 step counter beside every BatchNorm
    for bn in net
        .nodes
        .iter()
        .filter(|n| matches!(n.layer, Layer::BatchNorm(_)))
    {
        let name = format!("{}.num_batches_tracked", bn.name);
        entries.push((name, Dtype::I64, vec![], 9i64.to_le_bytes().to_vec()));
    }
    assert!(entries.len() > w.tensors.len() + 10);
    assert_eq!(load_safetensors(&raw_file(&entries), &net).unwrap(), w);
}

#[test]
fn truncated_file_names_the_cut_tensor() {
    let net = model("lenet5");
    let bytes = raw_file(&lenet_entries());
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let last = meta
        .tensors()
        .into_iter()
        .max_by_key(|(_, i)| i.data_offsets.1)
        .unwrap()
        .0;
    let cut = |len: usize| load_safetensors(&bytes[..len], &net).unwrap_err();
    let len = bytes.len();
    assert_eq!(cut(len - 3), truncated(len as u128, len - 3, Some(&last)));
    assert_eq!(cut(5), truncated(8, 5, None));
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(
        cut(header_end - 1),
        truncated(header_end as u128, header_end - 1, None)
    );
    // every cut inside the header, then every 997th byte: an error, never a panic
    for len in (0..header_end + 64).chain((header_end..bytes.len()).step_by(997)) {
        assert!(
            load_safetensors(&bytes[..len], &net).is_err(),
            "cut at {len} loaded"
        );
    }
}

/// lenet5's file with its JSON header edited by `edit`; the data is left as it was.
fn with_edited_header(
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Vec<u8> {
    let bytes = raw_file(&lenet_entries());
    let n = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..n]).unwrap();
    edit(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(&bytes[n..]);
    out
}

#[test]
fn header_lying_about_sizes_or_offsets_names_the_tensor() {
    let net = model("lenet5");
    // a shape whose bytes exceed the tensor's byte range
    let file = with_edited_header(|h| h["c1.weight"]["shape"] = serde_json::json!([6, 1, 5, 6]));
    let err = load_safetensors(&file, &net).unwrap_err();
    assert_eq!(
        err,
        WeightsError::SizeMismatch {
            tensor: "c1.weight".into(),
            range_bytes: 600,
            needed_bytes: 720
        }
    );
    assert!(err.to_string().contains("c1.weight"));
    // a start offset that leaves a gap after the previous tensor
    let file = with_edited_header(|h| {
        let o = &mut h["c1.weight"]["data_offsets"];
        *o = serde_json::json!([o[0].as_u64().unwrap() + 4, o[1].as_u64().unwrap() + 4]);
    });
    assert_eq!(
        load_safetensors(&file, &net).unwrap_err(),
        WeightsError::BadOffsets {
            tensor: "c1.weight".into()
        }
    );
    // the last tensor claims more data than the file has (shape and offsets agree)
    let mut last = String::new();
    let file = with_edited_header(|h| {
        let (name, info) = h
            .iter_mut()
            .max_by_key(|(_, v)| v["data_offsets"][1].as_u64())
            .unwrap();
        last = name.clone();
        let (start, end) = (
            info["data_offsets"][0].as_u64().unwrap(),
            info["data_offsets"][1].as_u64().unwrap(),
        );
        let numel = (end - start) / 4 + 1000;
        info["shape"] = serde_json::json!([numel]);
        info["data_offsets"] = serde_json::json!([start, start + 4 * numel]);
    });
    let err = load_safetensors(&file, &net).unwrap_err();
    assert!(
        matches!(&err, WeightsError::Truncated { tensor: Some(t), .. } if *t == last),
        "{err:?}"
    );
    // a header length field pointing past the end, and one absurdly large
    let mut file = raw_file(&lenet_entries());
    let len = file.len() as u64;
    file[..8].copy_from_slice(&len.to_le_bytes());
    assert!(matches!(
        load_safetensors(&file, &net),
        Err(WeightsError::Truncated { tensor: None, .. })
    ));
    file[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_eq!(
        load_safetensors(&file, &net).unwrap_err(),
        WeightsError::HeaderTooLarge { declared: 1 << 40 }
    );
}

#[test]
fn f16_and_f64_tensors_are_reported_by_name() {
    let mut entries = lenet_entries();
    for (name, dtype, shape, data) in entries.iter_mut() {
        let n: usize = shape.iter().product();
        match name.as_str() {
            "c1.bias" => (*dtype, *data) = (Dtype::F16, vec![0; 2 * n]),
            "f6.weight" => (*dtype, *data) = (Dtype::F64, vec![0; 8 * n]),
            _ => {}
        }
    }
    let found = problems(load_safetensors(&raw_file(&entries), &model("lenet5")));
    assert_eq!(
        found,
        vec![
            TensorProblem::WrongDtype {
                tensor: "c1.bias".into(),
                found: "F16".into()
            },
            TensorProblem::WrongDtype {
                tensor: "f6.weight".into(),
                found: "F64".into()
            },
        ]
    );
}

#[test]
fn missing_unexpected_and_misshapen_tensors_are_all_reported() {
    let net = model("lenet5");
    let mut entries = lenet_entries();
    entries.retain(|e| e.0 != "c5.bias");
    entries.push(("c9.weight".into(), Dtype::F32, vec![2], vec![0; 8]));
    let f6 = entries.iter_mut().find(|e| e.0 == "f6.bias").unwrap();
    (f6.2, f6.3) = (vec![85], vec![0; 4 * 85]);
    let err = load_safetensors(&raw_file(&entries), &net).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        problems(Err(err)),
        vec![
            TensorProblem::Unexpected {
                tensor: "c9.weight".into(),
                shape: vec![2]
            },
            TensorProblem::ShapeMismatch {
                tensor: "f6.bias".into(),
                expected: vec![84],
                found: vec![85]
            },
            TensorProblem::Missing {
                tensor: "c5.bias".into(),
                expected: vec![120]
            },
        ]
    );
    for name in ["c9.weight", "f6.bias", "c5.bias", "lenet5", "3 problems"] {
        assert!(text.contains(name), "`{name}` not in: {text}");
    }
}

#[test]
fn torchvision_layout_files_load_into_every_torchvision_family() {
    // A state_dict saved from torchvision (names `features.0.weight`, `layer1.0.conv1.weight`,
    // `inception3a.branch2.0.conv.weight`, ...) loads without renaming. The files are
    // generated here in that layout from the model description.
    for name in [
        "alexnet",
        "vgg11",
        "vgg16_bn",
        "resnet50",
        "googlenet_torchvision",
    ] {
        let net = model(name);
        let w = Weights::random(&net, 5);
        let torchvision_names = [
            "features.0.weight",
            "classifier.6.bias",
            "layer1.0.conv1.weight",
            "layer4.2.bn3.running_var",
            "inception3a.branch2.0.conv.weight",
            "fc.weight",
        ];
        assert!(
            torchvision_names.iter().any(|t| w.tensors.contains_key(*t)),
            "{name} does not use torchvision's names"
        );
        let bytes = save_safetensors(&w.tensors).unwrap();
        assert_eq!(load_safetensors(&bytes, &net).unwrap(), w, "{name}");
    }
}
