//! Fuzz target: arbitrary bytes into the PyTorch checkpoint reader (zip container, pickle,
//! state dict, decoding) and its fit to a network; any panic, hang or huge allocation is a
//! bug (every malformed file must come back as a typed error).
//! From the repository root: seed with `cargo run --manifest-path fuzz/Cargo.toml --example seed`,
//! then `cargo +nightly fuzz run torch_zip -- -max_total_time=600 -max_len=65536`.
#![no_main]

use convscope::model::Network;
use convscope::weights::{load_weights, TorchCheckpoint};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static LAB_K5: OnceLock<Network> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(checkpoint) = TorchCheckpoint::read(data) {
        for i in 0..checkpoint.tensors.len() {
            let _ = checkpoint.decode(i);
        }
    }
    let net = LAB_K5.get_or_init(|| convscope::zoo::build("lab_k5").expect("lab_k5 is in the zoo"));
    let _ = load_weights(data, net);
});
