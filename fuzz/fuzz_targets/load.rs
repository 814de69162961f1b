//! Fuzz target: arbitrary bytes into both weight readers; any panic, hang or huge allocation
//! is a bug (every malformed file must come back as a typed error).
//! From the repository root: seed with `cargo run --manifest-path fuzz/Cargo.toml --example seed`,
//! then `cargo +nightly fuzz run load -- -max_total_time=660 -max_len=16384`.
#![no_main]

use convscope::model::Network;
use convscope::weights::{load_safetensors, read_legacy_torch};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static LENET5: OnceLock<Network> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let _ = read_legacy_torch(data);
    let net = LENET5.get_or_init(|| convscope::zoo::build("lenet5").expect("lenet5 is in the zoo"));
    let _ = load_safetensors(data, net);
});
