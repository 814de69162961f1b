//! Writes the seed corpora: for the `load` target into `fuzz/corpus/load/` the legacy torch
//! fixtures, a complete lenet5 safetensors file, and a small one that fails validation; for
//! `torch_zip` into `fuzz/corpus/torch_zip/` the zip checkpoints of `tests/fixtures/pth/`.
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml --example seed`.

use convscope::weights::{save_safetensors, Weights};
use std::fs;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let out = Path::new("fuzz/corpus/load");
    fs::create_dir_all(out)?;
    for entry in fs::read_dir("tests/fixtures")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pth") {
            fs::copy(&path, out.join(path.file_name().unwrap()))?;
        }
    }
    let net = convscope::zoo::build("lenet5").expect("lenet5 is in the zoo");
    let w = Weights::random(&net, 0);
    let full = save_safetensors(&w.tensors).expect("random weights serialise");
    fs::write(out.join("lenet5.safetensors"), full)?;
    let few = w.tensors.iter().filter(|(n, _)| n.ends_with("bias"));
    let small = save_safetensors(few).expect("biases serialise");
    fs::write(out.join("lenet5_biases.safetensors"), small)?;
    let zips = Path::new("fuzz/corpus/torch_zip");
    fs::create_dir_all(zips)?;
    for entry in fs::read_dir("tests/fixtures/pth")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pth") {
            fs::copy(&path, zips.join(path.file_name().unwrap()))?;
        }
    }
    println!("seeds written to {} and {}", out.display(), zips.display());
    Ok(())
}
