//! Weights files: safetensors round trips, every validation failure naming its tensor, the
//! legacy torch reader on hand-built fixtures (tests/fixtures/make_legacy_pth.py), and the
//! real EfficientNet-Lite0 file when CONVSCOPE_EFFNET_PTH points at it.

use convscope::model::{BatchNorm, Conv2d, Dense, Layer, Network};
use convscope::tensor::Tensor;
use convscope::weights::{
    check_safetensors, convert_legacy_torch, decode_f32, expected_tensors, load_safetensors,
    read_legacy_torch, save_safetensors, Init, LegacyTorchError, RandomWeights, TensorProblem,
    Weights, WeightsError, EFFICIENTNET_LITE0_PTH_SHA256,
};
use convscope::zoo;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

const TINY: &[u8] = include_bytes!("fixtures/legacy_tiny.pth");

fn model(name: &str) -> Network {
    zoo::build(name).unwrap_or_else(|| panic!("zoo has no `{name}`"))
}

/// The network `legacy_tiny.pth` was written for: conv 1->2 (2x2), BatchNorm, dense 8->3.
fn tiny_net() -> Network {
    let mut net = Network::new("tiny", 1, (3, 3));
    net.then("conv", Layer::Conv2d(Conv2d::new(1, 2, 2)));
    net.then(
        "bn",
        Layer::BatchNorm(BatchNorm {
            channels: 2,
            eps: 1e-5,
        }),
    );
    net.then("flatten", Layer::Flatten);
    net.then("fc", Layer::Dense(Dense::new(8, 3)));
    net
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

fn forbidden(module: &str, name: &str) -> LegacyTorchError {
    let (module, name) = (module.to_string(), name.to_string());
    LegacyTorchError::ForbiddenGlobal { module, name }
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
fn legacy_fixture_reads_in_file_order_with_strided_views() {
    let tensors = read_legacy_torch(TINY).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    // num_batches_tracked (int64) is skipped; everything else in file order
    let order = "conv.weight conv.bias bn.weight bn.bias bn.running_mean bn.running_var fc.weight";
    assert_eq!(
        names,
        format!("{order} fc.bias").split(' ').collect::<Vec<_>>()
    );
    let get = |name: &str| &tensors.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(get("conv.weight").shape, vec![2, 1, 2, 2]);
    assert_eq!(
        get("conv.weight").data,
        (0..8).map(|i| 0.5 * i as f32).collect::<Vec<_>>()
    );
    assert_eq!(get("bn.running_mean").data, vec![0.1, 0.2]);
    assert_eq!(get("bn.running_var").data, vec![1.5, 2.5]);
    // fc.weight is the transpose of a row-major 8x3 storage holding 0..24: w[i][j] = 3j + i
    let fc = get("fc.weight");
    assert_eq!(fc.shape, vec![3, 8]);
    for i in 0..3 {
        for j in 0..8 {
            assert_eq!(fc.data[i * 8 + j], (3 * j + i) as f32);
        }
    }
}

#[test]
fn legacy_fixture_converts_to_a_file_that_loads() {
    let net = tiny_net();
    let bytes = convert_legacy_torch(TINY, &net).unwrap();
    let w = load_safetensors(&bytes, &net).unwrap();
    for (name, t) in read_legacy_torch(TINY).unwrap() {
        assert_eq!(w.tensors[&name], t, "{name}");
    }
    // a wrong model is caught at conversion, naming tensors
    let err = convert_legacy_torch(TINY, &model("lenet5")).unwrap_err();
    let found = problems(Err(err));
    assert!(found.contains(&TensorProblem::Unexpected {
        tensor: "conv.weight".into(),
        shape: vec![2, 1, 2, 2]
    }));
    assert!(found.contains(&TensorProblem::Missing {
        tensor: "c1.weight".into(),
        expected: vec![6, 1, 5, 5]
    }));
}

#[test]
fn legacy_truncated_at_every_byte_is_an_error() {
    for len in 0..TINY.len() {
        let err = read_legacy_torch(&TINY[..len]).unwrap_err();
        assert!(
            matches!(err, LegacyTorchError::Truncated { .. }),
            "cut at {len}: {err:?}"
        );
    }
}

#[test]
fn legacy_single_byte_corruptions_never_panic() {
    let mut bytes = TINY.to_vec();
    for i in 0..bytes.len() {
        for v in [0x00, 0x7f, 0xff] {
            let old = std::mem::replace(&mut bytes[i], v);
            let _ = read_legacy_torch(&bytes);
            bytes[i] = old;
        }
    }
}

#[test]
fn legacy_bad_fixtures_give_typed_errors() {
    let read = |bytes: &[u8]| read_legacy_torch(bytes).unwrap_err();
    let f64 = read(include_bytes!("fixtures/legacy_f64.pth"));
    assert_eq!(
        f64,
        LegacyTorchError::UnsupportedDtype {
            tensor: "x".into(),
            storage: "DoubleStorage"
        }
    );
    let oob = read(include_bytes!("fixtures/legacy_out_of_bounds.pth"));
    assert!(
        matches!(&oob, LegacyTorchError::OutOfBounds { tensor, storage_len: 4, .. } if tensor == "y"),
        "{oob:?}"
    );
    let overflow = read(include_bytes!("fixtures/legacy_overflow.pth"));
    assert!(
        matches!(&overflow, LegacyTorchError::SizeOverflow { tensor, .. } if tensor == "y"),
        "{overflow:?}"
    );
    let huge = read(include_bytes!("fixtures/legacy_huge_storage.pth"));
    assert!(
        matches!(
            huge,
            LegacyTorchError::Truncated {
                what: "a storage's data",
                ..
            }
        ),
        "{huge:?}"
    );
    // a storage's data header disagreeing with its persistent id: the last storage ("1005", 3 floats)
    let mut lying = TINY.to_vec();
    let at = lying.len() - 8 - 12;
    lying[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        read(&lying),
        LegacyTorchError::StorageLength {
            key: "1005".into(),
            declared: 3,
            found: u64::MAX
        }
    );
    let mut trailing = TINY.to_vec();
    trailing.push(0);
    assert!(matches!(
        read(&trailing),
        LegacyTorchError::TrailingBytes { count: 1, .. }
    ));
}

/// The first three pickles of a legacy file: magic number, protocol 1001, empty sys info.
fn legacy_prefix() -> Vec<u8> {
    let mut p = vec![0x80, 2, 0x8a, 10];
    p.extend_from_slice(&0x1950a86a20f9469cfc6c_u128.to_le_bytes()[..10]);
    p.extend_from_slice(b".\x80\x02M\xe9\x03.\x80\x02}.");
    p
}

#[test]
fn legacy_reader_refuses_globals_outside_the_allow_list() {
    // the classic pickle exploit: os.system("echo pwned")
    let mut exploit = legacy_prefix();
    exploit.extend_from_slice(b"\x80\x02cos\nsystem\n(X\x0a\x00\x00\x00echo pwnedtR.");
    let err = read_legacy_torch(&exploit).unwrap_err();
    assert_eq!(err, forbidden("os", "system"));
    assert!(err.to_string().contains("os.system"));
    let mut bytes = TINY.to_vec();
    let at = TINY
        .windows(24)
        .position(|w| w == b"collections\nOrderedDict\n")
        .unwrap();
    bytes.splice(at..at + 24, b"builtins\neval\n".iter().copied());
    assert_eq!(
        read_legacy_torch(&bytes).unwrap_err(),
        forbidden("builtins", "eval")
    );
    // not a legacy file at all (a zip-format .pth starts with "PK")
    assert_eq!(
        read_legacy_torch(b"PK\x03\x04").unwrap_err(),
        LegacyTorchError::UnknownOpcode {
            opcode: b'P',
            offset: 0
        }
    );
    let mut not_magic = b"\x80\x02K\x01.".to_vec();
    not_magic.extend(&legacy_prefix()[15..]);
    assert_eq!(
        read_legacy_torch(&not_magic).unwrap_err(),
        LegacyTorchError::BadMagic
    );
}

#[test]
fn efficientnet_lite0_real_file_converts() {
    let Some(path) = std::env::var_os("CONVSCOPE_EFFNET_PTH") else {
        eprintln!("note: CONVSCOPE_EFFNET_PTH is unset; skipping the real EfficientNet-Lite0 file");
        return;
    };
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("CONVSCOPE_EFFNET_PTH={path:?} cannot be read: {e}"));
    let sha = std::process::Command::new("sha256sum")
        .arg(&path)
        .output()
        .expect("sha256sum runs");
    let sha = String::from_utf8_lossy(&sha.stdout);
    assert_eq!(
        sha.split_whitespace().next(),
        Some(EFFICIENTNET_LITE0_PTH_SHA256),
        "{path:?} is not the expected file"
    );
    let tensors = read_legacy_torch(&bytes).unwrap();
    // the tensor list recorded from the file (minus int64 num_batches_tracked counters)
    let listed = include_str!("fixtures/efficientnet_lite0_tensors.txt").lines();
    let listed = listed.filter(|l| !l.starts_with('#') && !l.ends_with(" scalar"));
    let shape = |dims: &str| {
        dims.split('x')
            .map(|d| d.parse().unwrap())
            .collect::<Vec<usize>>()
    };
    let listed = listed.map(|l| l.split_once(' ').unwrap());
    let listed: Vec<(&str, Vec<usize>)> = listed.map(|(n, d)| (n, shape(d))).collect();
    let read: Vec<(&str, Vec<usize>)> = tensors
        .iter()
        .map(|(n, t)| (n.as_str(), t.shape.clone()))
        .collect();
    assert_eq!(read, listed);
    let values: usize = tensors.iter().map(|(_, t)| t.len()).sum();
    assert!(tensors
        .iter()
        .all(|(_, t)| t.data.iter().all(|x| x.is_finite())));
    eprintln!("{} tensors, {values} values", tensors.len());
    let net = model("efficientnet_lite0");
    let st = convert_legacy_torch(&bytes, &net).unwrap_or_else(|e| panic!("{e}"));
    let w = load_safetensors(&st, &net).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.tensors.len(), expected_tensors(&net).len());
    for (name, t) in &tensors {
        assert_eq!(&w.tensors[name], t, "{name}");
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
