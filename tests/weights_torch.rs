//! The legacy PyTorch `.pth` reader: hand-built fixtures (tests/fixtures/make_legacy_pth.py)
//! read, converted and corrupted, its allow-list of pickle globals, and the real
//! EfficientNet-Lite0 file when CONVSCOPE_EFFNET_PTH points at it.

use convscope::model::{BatchNorm, Conv2d, Dense, Layer, Network};
use convscope::weights::{
    convert_legacy_torch, expected_tensors, load_safetensors, read_legacy_torch, LegacyTorchError,
    TensorProblem, Weights, WeightsError, EFFICIENTNET_LITE0_PTH_SHA256,
};
use convscope::zoo;

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
    // float64 is converted (1.0 and 2.0 are exact in both)
    let f64 = read_legacy_torch(include_bytes!("fixtures/legacy_f64.pth")).unwrap();
    assert_eq!(f64.len(), 1);
    assert_eq!((f64[0].0.as_str(), &f64[0].1.data), ("x", &vec![1.0, 2.0]));
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
