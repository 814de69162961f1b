//! Models from files another framework wrote: an ONNX file imported by `crate::import`, with
//! the preprocessing chosen for it (files carry none) and its class names, then loaded like a
//! zoo model, so the page and the tool run, analyse and show it the same way.

use super::load::ModelWeights;
use super::pace::Pace;
use super::report::LoadReport;
use super::{Engine, EngineError, Installed};
use crate::import::import_onnx;
use crate::labels::Labels;
use crate::preprocess::{Preprocess, Recipe};

/// The largest model file the page reads: 1 GiB. A load holds the file's bytes and the
/// decoded weights at once (twice the file), and the CPU engine's plan later another copy of
/// the weights with every node's output (in the file's place, freed by then), beside the
/// previous model's weights until the new one is ready: within WebAssembly's 4 GiB.
pub const MAX_PAGE_MODEL_BYTES: usize = 1 << 30;

/// Files over this size (64 MiB) make room first ([`Engine::make_room_for`]).
pub const LARGE_FILE_BYTES: usize = 64 << 20;

/// What a model's outputs name.
#[derive(Clone, Debug, PartialEq)]
pub enum Classes {
    /// A list convscope has (ImageNet-1k, Fashion-MNIST).
    Known(Labels),
    /// Names given with the model (a labels file), one per output.
    Listed(Vec<String>),
    /// No names: outputs are shown by index.
    Numbered,
}

/// How to prepare inputs for an imported model and what its outputs are called.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// The preprocessing recipe (torchvision by default).
    pub preprocess: Recipe,
    /// Class names, one per output, from a labels file.
    pub labels: Option<Vec<String>>,
    /// Refuse files larger than this (the page's [`MAX_PAGE_MODEL_BYTES`]).
    pub max_bytes: Option<usize>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            preprocess: Recipe::Torchvision,
            labels: None,
            max_bytes: None,
        }
    }
}

/// An error if a model file of `size` bytes is over `limit`, before anything is copied.
pub fn check_model_size(name: &str, size: usize, limit: usize) -> Result<(), EngineError> {
    if size <= limit {
        return Ok(());
    }
    Err(EngineError::Import {
        file: name.into(),
        source: Box::new(crate::import::ImportError::TooLarge { size, limit }),
    })
}

/// The class names of a labels file: one a line, blank lines at the end dropped.
pub fn parse_labels(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    names
}

impl Engine {
    /// Import the ONNX model in `bytes` as `name` and load it with `options`. A 1000-way
    /// output names ImageNet's classes unless labels are given. If this fails the previous
    /// model stays loaded.
    pub async fn load_onnx(
        &self,
        name: &str,
        bytes: Vec<u8>,
        options: ImportOptions,
        pace: &mut impl Pace,
    ) -> Result<LoadReport, EngineError> {
        self.check_device()?;
        let import_error = |source| EngineError::Import {
            file: name.into(),
            source: Box::new(source),
        };
        if let Some(limit) = options.max_bytes.filter(|&l| bytes.len() > l) {
            let size = bytes.len();
            return Err(import_error(crate::import::ImportError::TooLarge {
                size,
                limit,
            }));
        }
        self.make_room_for(bytes.len());
        pace.report("reading the ONNX graph and its weights", 0.0);
        let imported = import_onnx(bytes, name).map_err(import_error)?;
        pace.report("reading the ONNX graph and its weights", 1.0);
        let net = imported.net;
        let (h, w) = net.default_input;
        let preprocess = match net.input_channels() {
            3 if h == w => options.preprocess.for_side(h as u32),
            1 if h == w => Preprocess::Grayscale {
                size: h as u32,
                pad_to: h as u32,
            },
            c => {
                return Err(EngineError::ImportedInput {
                    file: name.into(),
                    found: format!("{c}x{h}x{w}"),
                })
            }
        };
        let outputs = net.infer_shapes(h, w)?[net.output()].len();
        let classes = match options.labels {
            Some(names) if names.len() == outputs => Classes::Listed(names),
            Some(names) => {
                return Err(EngineError::LabelCount {
                    outputs,
                    found: names.len(),
                })
            }
            None if outputs == 1000 => Classes::Known(Labels::ImageNet),
            None => Classes::Numbered,
        };
        let mut notes = imported.notes;
        notes.push(match (net.input_channels(), options.preprocess) {
            (1, _) => "preprocessing: greyscale, 0..1".to_string(),
            (_, Recipe::Torchvision) => {
                "preprocessing: torchvision (the default; ONNX files do not say theirs)".into()
            }
            (_, recipe) => format!("preprocessing: {}", recipe.name()),
        });
        let loaded = ModelWeights {
            weights: imported.weights,
            trained: true,
            note: format!("weights from the ONNX file (opset {})", imported.opset),
        };
        let how = Installed {
            name,
            preprocess,
            classes,
            notes,
        };
        self.install(net, loaded, how, pace).await
    }
}
