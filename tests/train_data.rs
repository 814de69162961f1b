//! The trainer's data: the IDX reader on good and bad files, and greyscale images framed into
//! inputs the same way for training and for pictures given to the CLI and the page.

use convscope::preprocess::GreyscaleFrame;
use convscope::train::{self as t, Dataset, IdxError};

/// An IDX header for unsigned bytes with `dims`, followed by `data`.
fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes.extend(data);
    bytes
}

#[test]
fn idx_reads_a_hand_made_file_plain_and_gzipped() {
    let bytes = idx_bytes(&[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    let array = t::parse_idx(&bytes).unwrap();
    assert_eq!(array.dims, vec![2, 2, 3]);
    assert_eq!(array.data[11], 255);

    let dir = std::env::temp_dir().join(format!("convscope-idx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("images.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    assert_eq!(t::read_idx_file(&path).unwrap(), array);

    let labels = t::parse_idx(&idx_bytes(&[2], &[3, 9])).unwrap();
    let data = Dataset::from_idx(array, labels, 10).unwrap();
    assert_eq!((data.len(), data.rows, data.cols), (2, 2, 3));
    assert_eq!(data.image(1), &[6, 7, 8, 9, 10, 255]);

    // A corrupt gzip stream and a missing file are errors, not panics.
    let corrupt = dir.join("corrupt.gz");
    std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).unwrap();
    assert!(matches!(
        t::read_idx_file(&corrupt),
        Err(IdxError::Gzip { .. })
    ));
    let missing = t::read_idx_file(&dir.join("missing.gz"));
    assert!(matches!(missing, Err(IdxError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idx_rejects_bad_and_truncated_files() {
    let good = idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let parse = t::parse_idx;
    assert_eq!(
        parse(&good[..good.len() - 1]),
        Err(IdxError::Truncated {
            needed: 18,
            found: 17
        })
    );
    assert!(matches!(parse(&good[..6]), Err(IdxError::Truncated { .. })));
    assert!(matches!(parse(&good[..2]), Err(IdxError::BadMagic { .. })));
    assert!(matches!(parse(&[]), Err(IdxError::BadMagic { .. })));
    let mut bad_magic = good.clone();
    bad_magic[0] = 1;
    assert!(matches!(parse(&bad_magic), Err(IdxError::BadMagic { .. })));
    let mut float = good.clone();
    float[2] = 0x0d;
    assert_eq!(parse(&float), Err(IdxError::UnsupportedType { code: 0x0d }));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        parse(&trailing),
        Err(IdxError::TrailingBytes { .. })
    ));
    // Dimensions whose product overflows must not allocate or panic.
    let huge = idx_bytes(&[u32::MAX, u32::MAX, u32::MAX], &[]);
    assert!(matches!(parse(&huge), Err(IdxError::TooLarge { .. })));

    let images = t::parse_idx(&idx_bytes(&[2, 1, 1], &[0, 0])).unwrap();
    let three = t::parse_idx(&idx_bytes(&[3], &[0, 1, 2])).unwrap();
    let err = Dataset::from_idx(images.clone(), three, 10).unwrap_err();
    assert_eq!(
        err,
        IdxError::CountMismatch {
            images: 2,
            labels: 3
        }
    );
    let big_label = t::parse_idx(&idx_bytes(&[2], &[0, 10])).unwrap();
    let err = Dataset::from_idx(images.clone(), big_label, 10).unwrap_err();
    assert!(matches!(err, IdxError::LabelOutOfRange { index: 1, .. }));
    let flat = t::parse_idx(&idx_bytes(&[2], &[0, 0])).unwrap();
    let err = Dataset::from_idx(flat.clone(), flat, 10).unwrap_err();
    assert!(matches!(err, IdxError::WrongRank { .. }));
}

#[test]
fn preprocess_pads_28_to_32_for_lenet5_and_keeps_28_for_modern() {
    let mut pixels = vec![0u8; 28 * 28];
    pixels[0] = 255; // top-left corner
    pixels[27] = 51; // top-right corner
    let classic = GreyscaleFrame::for_network(&convscope::zoo::build("lenet5").unwrap());
    let x = classic.image(&pixels, 28, 28);
    assert_eq!(x.shape, vec![1, 32, 32]);
    assert_eq!(x.data[2 * 32 + 2], 1.0);
    assert_eq!(x.data[2 * 32 + 29], 0.2);
    assert_eq!(x.data.iter().filter(|&&v| v != 0.0).count(), 2);
    let modern = GreyscaleFrame::for_network(&convscope::zoo::build("lenet5_modern").unwrap());
    let x = modern.image(&pixels, 28, 28);
    assert_eq!(
        (x.shape.clone(), x.data[0], x.data[27]),
        (vec![1, 28, 28], 1.0, 0.2)
    );
}

#[test]
fn photo_preprocessing_for_fashion_networks_matches_training() {
    // A Fashion-MNIST test image handed to the CLI/page preprocessing as a picture must give
    // the same input the trainer and the evaluator use.
    let (_, test) =
        convscope::train::load_fashion_mnist(convscope::train::FASHION_MNIST_DIR).unwrap();
    let (rows, cols) = (test.rows, test.cols);
    for index in [0usize, 1, 17] {
        let pixels = test.images[index * rows * cols..(index + 1) * rows * cols].to_vec();
        let picture = image::DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(cols as u32, rows as u32, pixels.clone()).unwrap(),
        );
        for (name, preprocess) in [
            ("lenet5", convscope::preprocess::Preprocess::FASHION_32),
            (
                "lenet5_modern",
                convscope::preprocess::Preprocess::FASHION_28,
            ),
        ] {
            let net = convscope::zoo::build(name).unwrap();
            let trained = GreyscaleFrame::for_network(&net).image(&pixels, rows, cols);
            let served = preprocess.apply(&picture);
            assert_eq!(served.shape, trained.shape, "{name}");
            let worst = served
                .data
                .iter()
                .zip(&trained.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-6, "{name} image {index}: differs by {worst}");
        }
    }
}
