//! Fuzz target: arbitrary bytes into the ONNX importer, and what it makes into shape inference
//! and the analysis; any panic, hang or huge allocation is a bug (every malformed file must
//! come back as a typed error).
//! From the repository root: `cp tests/fixtures/onnx/*.onnx fuzz/corpus/onnx/` to seed, then
//! `cargo +nightly fuzz run onnx -- -max_total_time=600 -max_len=65536`.
#![no_main]

use convscope::analysis::analyze;
use convscope::import::import_onnx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(imported) = import_onnx(data.to_vec(), "fuzz") {
        let (h, w) = imported.net.default_input;
        // Small inputs keep each run short; the shapes still go through every layer's rule.
        let _ = analyze(&imported.net, h.min(64), w.min(64));
    }
});
