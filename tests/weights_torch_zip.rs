//! The zip-format PyTorch checkpoint reader (`torch.save`'s default): small files written by
//! torch 1.13 (`scripts/fixtures/make_pth.py small tests/fixtures/pth`) read, nested,
//! prefixed, converted and fitted to a network; archives rebuilt here with one thing wrong
//! (a forbidden global, a missing or short record, big-endian data, corrupt bytes) give
//! typed errors; and a `.pth` where safetensors is expected is named as what it is.

use convscope::model::{BatchNorm, Conv2d, Dense, Layer, Network};
use convscope::tensor::Tensor;
use convscope::weights::{
    load_safetensors, load_weights, TensorProblem, TorchCheckpoint, TorchError, TorchFormat,
    WeightsError,
};
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

const TINY: &[u8] = include_bytes!("fixtures/pth/tiny.pth");

/// The network `tiny*.pth` were saved from: conv 1->2 (2x2), BatchNorm, dense 8->3.
fn tiny_net() -> Network {
    let mut net = Network::new("tiny", 1, (3, 3));
    net.then("conv", Layer::Conv2d(Conv2d::new(1, 2, 2)));
    let bn = BatchNorm {
        channels: 2,
        eps: 1e-5,
    };
    net.then("bn", Layer::BatchNorm(bn));
    net.then("flatten", Layer::Flatten);
    net.then("fc", Layer::Dense(Dense::new(8, 3)));
    net
}

fn tensors(bytes: &[u8]) -> Vec<(String, Tensor)> {
    TorchCheckpoint::read(bytes).unwrap().decode_all().unwrap()
}

/// The values `make_pth.py`'s `tiny_state` sets, in its order.
fn tiny_expected() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    // fc.weight is the transpose of a row-major 8x3 storage of 0..23: w[i][j] = 3j + i
    let fc: Vec<f32> = (0..24).map(|k| (3 * (k % 8) + k / 8) as f32).collect();
    vec![
        (
            "conv.weight",
            vec![2, 1, 2, 2],
            (0..8).map(|i| 0.5 * i as f32).collect(),
        ),
        ("conv.bias", vec![2], vec![0.25, -0.25]),
        ("bn.weight", vec![2], vec![1.0, 2.0]),
        ("bn.bias", vec![2], vec![0.0, 1.0]),
        // a view at offset 1 of the storage [9, 0.1, 0.2]
        ("bn.running_mean", vec![2], vec![0.1, 0.2]),
        ("bn.running_var", vec![2], vec![1.5, 2.5]),
        ("fc.weight", vec![3, 8], fc),
        ("fc.bias", vec![3], vec![1.0, 2.0, 3.0]),
    ]
}

#[test]
fn tiny_checkpoint_reads_in_file_order_with_strided_and_offset_views() {
    let checkpoint = TorchCheckpoint::read(TINY).unwrap();
    assert_eq!(checkpoint.format, TorchFormat::Zip);
    assert!(checkpoint.notes.is_empty(), "{:?}", checkpoint.notes);
    // the int64 counter is listed (as I64) but not decoded
    let counter = checkpoint
        .tensors
        .iter()
        .find(|t| t.name == "bn.num_batches_tracked");
    assert_eq!(counter.map(|t| (t.dtype, t.shape.len())), Some(("I64", 0)));
    let got = tensors(TINY);
    let want = tiny_expected();
    assert_eq!(got.len(), want.len());
    for ((name, t), (want_name, shape, data)) in got.iter().zip(&want) {
        assert_eq!((name.as_str(), &t.shape), (*want_name, shape));
        assert_eq!(&t.data, data, "{name}");
    }
}

#[test]
fn nested_and_prefixed_state_dicts_load_and_say_so() {
    let net = tiny_net();
    let (plain, notes) = load_weights(TINY, &net).unwrap();
    assert!(notes.is_empty());
    let nested = include_bytes!("fixtures/pth/tiny_state_dict.pth");
    let (w, notes) = load_weights(nested, &net).unwrap();
    assert_eq!(w, plain);
    assert_eq!(notes, vec!["the state dict under `state_dict`".to_string()]);
    let prefixed = include_bytes!("fixtures/pth/tiny_module.pth");
    let (w, notes) = load_weights(prefixed, &net).unwrap();
    assert_eq!(w, plain);
    assert_eq!(notes[0], "the state dict under `model`");
    assert!(notes[1].contains("`module.` prefix"), "{notes:?}");
    assert!(notes[1].contains("9 tensor names"), "{notes:?}");
}

#[test]
fn float16_and_float64_checkpoints_are_converted() {
    let f64 = tensors(include_bytes!("fixtures/pth/tiny_f64.pth"));
    let f16 = tensors(include_bytes!("fixtures/pth/tiny_f16.pth"));
    for (((name, exact), (_, wide)), (_, half)) in tensors(TINY).iter().zip(&f64).zip(&f16) {
        assert_eq!(exact, wide, "{name}: f32 -> f64 -> f32 is exact");
        // binary16 keeps 11 significant bits: relative error at most 2^-11
        for (a, b) in exact.data.iter().zip(&half.data) {
            assert!((a - b).abs() <= a.abs() / 2048.0, "{name}: {a} as f16 {b}");
        }
    }
    // 0.1 is not exact in f16; the conversion gives the nearest half, 0.0999755859375
    let mean = &f16.iter().find(|(n, _)| n == "bn.running_mean").unwrap().1;
    assert_eq!(mean.data[0], 0.099_975_586);
}

#[test]
fn integer_weights_are_refused_by_name() {
    let bytes = include_bytes!("fixtures/pth/tiny_int64.pth");
    match load_weights(bytes, &tiny_net()) {
        Err(WeightsError::Mismatch { problems, .. }) => assert_eq!(
            problems,
            vec![TensorProblem::WrongDtype {
                tensor: "conv.bias".into(),
                found: "I64".into()
            }]
        ),
        other => panic!("expected a dtype problem, got {other:?}"),
    }
    let checkpoint = TorchCheckpoint::read(bytes).unwrap();
    let at = checkpoint
        .tensors
        .iter()
        .position(|t| t.name == "conv.bias");
    assert_eq!(
        checkpoint.decode(at.unwrap()).unwrap_err(),
        TorchError::UnsupportedDtype {
            tensor: "conv.bias".into(),
            storage: "LongStorage"
        }
    );
}

#[test]
fn a_wrong_model_names_every_tensor_at_fault() {
    let net = convscope::zoo::build("lenet5").unwrap();
    let err = load_weights(TINY, &net).unwrap_err();
    let WeightsError::Mismatch { problems, .. } = &err else {
        panic!("expected a mismatch, got {err:?}");
    };
    assert!(problems.contains(&TensorProblem::Unexpected {
        tensor: "conv.weight".into(),
        shape: vec![2, 1, 2, 2]
    }));
    assert!(problems.contains(&TensorProblem::Missing {
        tensor: "c1.weight".into(),
        expected: vec![6, 1, 5, 5]
    }));
}

#[test]
fn a_pth_where_safetensors_is_expected_is_named_not_a_bad_header() {
    let err = load_safetensors(TINY, &tiny_net()).unwrap_err();
    assert_eq!(
        err,
        WeightsError::NotSafetensors {
            format: TorchFormat::Zip
        }
    );
    assert!(err
        .to_string()
        .contains("PyTorch checkpoint, zip format, not a safetensors file"));
    let legacy = include_bytes!("fixtures/legacy_tiny.pth");
    assert_eq!(TorchFormat::sniff(legacy), Some(TorchFormat::Legacy));
    // and where any format is taken, both kinds of .pth load
    let (w, _) = load_weights(legacy, &tiny_net()).unwrap();
    assert_eq!(w.tensors["fc.bias"].shape, vec![3]);
}

#[test]
fn lab_k5_checkpoint_classifies_like_torch() {
    let net = convscope::zoo::build("lab_k5").unwrap();
    let (weights, _) = load_weights(include_bytes!("fixtures/pth/lab_k5.pth"), &net).unwrap();
    let io_bytes = include_bytes!("fixtures/pth/lab_k5_io.safetensors");
    let io = safetensors::SafeTensors::deserialize(io_bytes).unwrap();
    let get = |name: &str| {
        let view = io.tensor(name).unwrap();
        Tensor::new(
            view.shape().to_vec(),
            convscope::weights::decode_f32(view.data()),
        )
    };
    let (input, torch_logits) = (get("input"), get("logits"));
    let outputs = convscope::cpu::forward(&net, &weights, &input).unwrap();
    let logits = &outputs[net.output()].data;
    // torch 1.13's float32 logits, recorded when the fixture was made
    for (i, (a, b)) in logits.iter().zip(&torch_logits.data).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 + 1e-3 * b.abs(),
            "logit {i}: {a} torch {b}"
        );
    }
}

/// Every record of `bytes` (a zip), in order.
fn records(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

/// A zip of `records`, each stored with `method`.
fn archive(records: &[(String, Vec<u8>)], method: CompressionMethod) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in records {
        let options = SimpleFileOptions::default().compression_method(method);
        w.start_file(name.as_str(), options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// TINY's records with `change` applied.
fn tiny_with(change: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut r = records(TINY);
    change(&mut r);
    archive(&r, CompressionMethod::Stored)
}

fn read_err(bytes: &[u8]) -> TorchError {
    match TorchCheckpoint::read(bytes) {
        Ok(c) => c.decode_all().unwrap_err(),
        Err(e) => e,
    }
}

#[test]
fn rebuilt_archives_read_the_same_stored_or_deflated() {
    let r = records(TINY);
    assert_eq!(r[0].0, "tiny/data.pkl");
    assert_eq!(
        tensors(&archive(&r, CompressionMethod::Stored)),
        tensors(TINY)
    );
    assert_eq!(
        tensors(&archive(&r, CompressionMethod::Deflated)),
        tensors(TINY)
    );
    // torch >= 2.1 adds a byteorder record; "big" is refused
    let little = tiny_with(|r| r.push(("tiny/byteorder".into(), b"little".to_vec())));
    assert_eq!(tensors(&little), tensors(TINY));
    let big = tiny_with(|r| r.push(("tiny/byteorder".into(), b"big".to_vec())));
    assert_eq!(read_err(&big), TorchError::BigEndian);
}

#[test]
fn malformed_archives_give_typed_errors() {
    let no_pickle = tiny_with(|r| r.retain(|(n, _)| !n.ends_with("data.pkl")));
    assert_eq!(read_err(&no_pickle), TorchError::NoDataPkl);
    let two = tiny_with(|r| {
        let pickle = r[0].1.clone();
        r.push(("other/data.pkl".into(), pickle));
    });
    assert_eq!(read_err(&two), TorchError::SeveralDataPkl { count: 2 });
    let missing = tiny_with(|r| r.retain(|(n, _)| n != "tiny/data/7"));
    assert_eq!(
        read_err(&missing),
        TorchError::MissingStorage { key: "7".into() }
    );
    // fc.weight's storage "7" holds 24 floats; a record of 23 is refused before any decoding
    let short = tiny_with(|r| {
        let data = &mut r.iter_mut().find(|(n, _)| n == "tiny/data/7").unwrap().1;
        data.truncate(92);
    });
    assert_eq!(
        read_err(&short),
        TorchError::RecordLength {
            record: "tiny/data/7".into(),
            expected: 96,
            found: 92
        }
    );
    // a storage claiming 2^40 elements (oversized) is refused by its record's size
    let huge = tiny_with(|r| {
        let pickle = &mut r[0].1;
        let at = pickle
            .windows(7)
            .position(|w| w == b"\x07K\x18tq?Q")
            .unwrap();
        pickle.splice(at + 1..at + 3, *b"\x8a\x06\x00\x00\x00\x00\x00\x01");
    });
    let err = read_err(&huge);
    assert!(
        matches!(&err, TorchError::RecordLength { record, expected, found: 96 } if record == "tiny/data/7" && *expected == 4 << 40),
        "{err:?}"
    );
    assert_eq!(
        read_err(b"PK\x03\x04 not really a zip"),
        TorchError::Zip {
            reason: "invalid Zip archive: Could not find EOCD".into()
        }
    );
}

#[test]
fn globals_outside_the_allow_list_are_refused() {
    // the classic pickle exploit, os.system("echo pwned"), as a checkpoint's data.pkl
    let exploit = tiny_with(|r| {
        r[0].1 = b"\x80\x02cos\nsystem\n(X\x0a\x00\x00\x00echo pwnedtR.".to_vec();
    });
    let err = read_err(&exploit);
    assert_eq!(
        err,
        TorchError::ForbiddenGlobal {
            module: "os".into(),
            name: "system".into()
        }
    );
    assert!(err
        .to_string()
        .contains("`os.system`, which is not allowed"));
    // a checkpoint holding an argparse.Namespace (torchvision's reference scripts save one)
    let args = tiny_with(|r| {
        let p = &mut r[0].1;
        let at = p
            .windows(24)
            .position(|w| w == b"collections\nOrderedDict\n")
            .unwrap();
        p.splice(at..at + 24, b"argparse\nNamespace\n".iter().copied());
    });
    assert!(
        matches!(read_err(&args), TorchError::ForbiddenGlobal { module, .. } if module == "argparse")
    );
}

#[test]
fn truncated_checkpoints_are_errors_at_every_length() {
    for len in 0..TINY.len() {
        let err = read_err(&TINY[..len]);
        if len >= 4 {
            assert!(
                matches!(err, TorchError::Zip { .. }),
                "cut at {len}: {err:?}"
            );
        }
        assert!(err.to_string().len() > 10);
    }
}

#[test]
fn corrupt_bytes_never_panic_and_corrupt_data_fails_its_checksum() {
    let mut bytes = TINY.to_vec();
    for i in 0..bytes.len() {
        for v in [0x00, 0x7f, 0xff] {
            let old = std::mem::replace(&mut bytes[i], v);
            if let Ok(c) = TorchCheckpoint::read(&bytes) {
                let _ = c.decode_all();
            }
            bytes[i] = old;
        }
    }
    // one byte of conv.weight's data (the first storage record) flipped
    let mut bad = TINY.to_vec();
    let first = tensors(TINY)[0].1.data.clone();
    let raw: Vec<u8> = first.iter().flat_map(|v| v.to_le_bytes()).collect();
    let start = TINY
        .windows(raw.len())
        .position(|w| w == raw.as_slice())
        .unwrap();
    bad[start + 5] ^= 0x40;
    assert_eq!(
        read_err(&bad),
        TorchError::Checksum {
            record: "tiny/data/0".into()
        }
    );
}
