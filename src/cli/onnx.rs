//! Models given as ONNX files: `--model FILE.onnx` wherever the tool takes a model name, with
//! `--preprocess` and `--labels` for `classify`.

use super::CliError;
use convscope::engine::{parse_labels, random_weights, ImportOptions, Quiet};
use convscope::import::{import_onnx, OnnxImport};
use convscope::model::Network;
use convscope::preprocess::Recipe;
use convscope::weights::Weights;
use std::path::Path;

/// Whether `model` names an ONNX file rather than a zoo model.
pub fn is_onnx(model: &str) -> bool {
    model.to_ascii_lowercase().ends_with(".onnx")
}

/// The file's name without its folders, as the imported network is called.
pub fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// The bytes of file `path`, with a message naming it.
pub fn read(path: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Io(path.to_string(), e.to_string()))
}

/// The ONNX file at `path`, imported.
pub fn import_file(path: &str) -> Result<OnnxImport, CliError> {
    import_onnx(read(path)?, &file_name(path)).map_err(|e| CliError::Import(path.into(), e))
}

/// Model `name` (a zoo name or an ONNX file) and its weights: the file's own, or the zoo's
/// seeded, calibrated random weights (the same as `classify` and the page use).
pub fn model_and_weights(name: &str) -> Result<(Network, Weights), CliError> {
    if is_onnx(name) {
        let imported = import_file(name)?;
        return Ok((imported.net, imported.weights));
    }
    let net = super::model(name)?;
    let entry = convscope::zoo::entry(name).expect("model() found it");
    let (weights, _) = pollster::block_on(random_weights(entry, &net, &mut Quiet))?;
    Ok((net, weights))
}

/// `classify`'s options for an ONNX file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ImportArgs {
    /// For an ONNX file, which carries none: torchvision (the default: resize 256, crop 224,
    /// ImageNet mean/std), caffe (BGR, 0..255, mean 104/117/123 subtracted), efficientnet
    /// ((rgb - 127) / 128) or none (rgb in 0..1).
    #[arg(long)]
    pub preprocess: Option<String>,
    /// For an ONNX file: class names, one a line (a 1000-way output names ImageNet's).
    #[arg(long)]
    pub labels: Option<std::path::PathBuf>,
}

impl ImportArgs {
    /// The engine's import options: the recipe named (torchvision by default) and the
    /// labels file's names.
    pub fn options(&self) -> Result<ImportOptions, CliError> {
        let preprocess = match self.preprocess.as_deref() {
            Some(name) => {
                Recipe::parse(name).ok_or_else(|| CliError::UnknownPreprocess(name.into()))?
            }
            None => Recipe::Torchvision,
        };
        let labels = match &self.labels {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))?;
                Some(parse_labels(&text))
            }
            None => None,
        };
        Ok(ImportOptions {
            preprocess,
            labels,
            max_bytes: None,
        })
    }
}
