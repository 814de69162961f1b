//! The browser boundary: one opaque [`Session`] the page drives, a thin wrapper over the
//! engine core (`crate::engine`) that the CLI also uses. It turns the engine's results into
//! typed arrays and plain objects, and its errors into `JsError`s. The only wasm-bindgen code.

mod draw;
mod evolution;
mod explain;
mod families;
mod files;
mod lab;
mod lab_families;
mod pace;
mod transfer;

use crate::engine::report::zoo_list;
use crate::engine::{
    check_model_size, parse_labels, Backend, Engine, ImportOptions, MAX_PAGE_MODEL_BYTES,
};
use crate::preprocess::Recipe;
pub use files::FileBytes;
use pace::WebPace;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The page's handle on the engine.
#[wasm_bindgen]
pub struct Session {
    engine: Engine,
    /// The examples and head of "Teach it your own classes".
    teacher: std::cell::RefCell<crate::engine::transfer::Teacher>,
}

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("cannot pass the result to the page: {e}")))
}

#[wasm_bindgen]
impl Session {
    /// Open WebGPU unless its adapter is a software one (then the fast CPU engine, which is
    /// faster there), or fall back to the fast CPU engine when there is no usable adapter.
    /// `backend` (the URL hash's `backend=`) forces `"webgpu"`, `"cpu"` (the fast CPU engine)
    /// or `"reference"` (the f64 CPU reference); `"timed"` opens WebGPU on any adapter and
    /// leaves the choice to [`Session::choose_faster`].
    pub async fn create(backend: Option<String>) -> Session {
        console_error_panic_hook::set_once();
        let engine = match backend.as_deref() {
            // `timed`: WebGPU on any adapter, software ones too, for the page's timed choice.
            Some("webgpu") | Some("timed") => Engine::new(Backend::Gpu).await,
            Some("cpu") => Engine::new(Backend::Cpu).await,
            Some("reference") => Engine::new(Backend::Reference).await,
            _ => Engine::auto().await,
        };
        Session {
            engine,
            teacher: Default::default(),
        }
    }

    /// `"webgpu"`, `"cpu"` (the fast CPU engine) or `"reference"` (the f64 CPU reference):
    /// what this session runs models on.
    pub fn backend(&self) -> String {
        self.engine.backend().name().into()
    }

    /// Which adapter runs the engine, or why the CPU reference does.
    pub fn backend_reason(&self) -> String {
        self.engine.backend_reason()
    }

    /// On WebGPU (a real adapter, or any with `backend=timed`): time one pass of the loaded
    /// model on WebGPU and one on the fast CPU engine, and run on the CPU engine from now on if
    /// it was faster (`backend_reason` then says so). Returns `{gpu_ms, cpu_ms, chose_cpu}`,
    /// or `undefined` when there is no GPU to compare.
    pub async fn choose_faster(&self) -> Result<JsValue, JsError> {
        let timing = self
            .engine
            .choose_faster(js_sys::Date::now)
            .await
            .map_err(js_error)?;
        to_js(&timing)
    }

    /// Whether the GPU device was lost (the page then makes a new session).
    pub fn device_lost(&self) -> bool {
        self.engine.device_lost()
    }

    /// The nodes whose outputs were read back from the GPU since the last classification,
    /// in order: the output node, then each node the page asked for.
    pub fn gpu_reads(&self) -> Vec<String> {
        self.engine.gpu_reads()
    }

    /// The ImageNet-1k class names, one a line in class order (`labels/imagenet.txt`).
    pub fn set_imagenet_labels(&self, text: &str) -> Result<(), JsError> {
        self.engine.set_imagenet_labels(text).map_err(js_error)
    }

    /// The zoo; `available_weights` names the models whose trained weights the server has.
    pub fn models(&self, available_weights: Vec<String>) -> Result<JsValue, JsError> {
        to_js(&zoo_list(&available_weights))
    }

    /// Load model `name` with safetensors or PyTorch checkpoint `weights` (validated; every
    /// mismatch named by tensor), or with seeded random weights when `weights` is absent. The
    /// file's bytes are freed once its tensors are decoded, before the model is planned. If
    /// this fails the previous model stays loaded. Long work runs in small steps that let the page paint;
    /// `on_progress(stage, fraction)` is called between them.
    pub async fn load_model(
        &self,
        name: String,
        weights: Option<FileBytes>,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let mut pace = WebPace::new(on_progress);
        let report = match weights {
            Some(file) => {
                let bytes = file.into_bytes()?;
                self.engine.load_model_from(&name, bytes, &mut pace).await
            }
            None => self.engine.load_model(&name, None, &mut pace).await,
        }
        .map_err(js_error)?;
        to_js(&report)
    }

    /// Import the ONNX file `bytes` (called `name`) and load it, its inputs prepared by the
    /// recipe `preprocess` (`torchvision`, `caffe`, `efficientnet` or `none`) and its classes
    /// named by `labels` (a labels file's text) if given. A file over
    /// [`Session::max_model_bytes`] is refused before it is read. If this fails the previous
    /// model stays loaded.
    pub async fn load_onnx(
        &self,
        name: String,
        bytes: FileBytes,
        preprocess: String,
        labels: Option<String>,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        check_model_size(&name, bytes.size() as usize, MAX_PAGE_MODEL_BYTES).map_err(js_error)?;
        let recipe = Recipe::parse(&preprocess)
            .ok_or_else(|| JsError::new(&format!("unknown preprocessing `{preprocess}`")))?;
        let options = ImportOptions {
            preprocess: recipe,
            labels: labels.as_deref().map(parse_labels),
            max_bytes: Some(MAX_PAGE_MODEL_BYTES),
        };
        let mut pace = WebPace::new(on_progress);
        let report = self
            .engine
            .load_onnx(&name, bytes.into_bytes()?, options, &mut pace)
            .await
            .map_err(js_error)?;
        to_js(&report)
    }

    /// The size of this module's WebAssembly memory in bytes: the most it ever held, since
    /// the memory only grows (the page test of large files reads it).
    pub fn memory_bytes() -> f64 {
        (core::arch::wasm32::memory_size(0) * 65536) as f64
    }

    /// The largest model file the page reads, in bytes.
    pub fn max_model_bytes() -> f64 {
        MAX_PAGE_MODEL_BYTES as f64
    }

    /// The preprocessing recipes for a model file, the default first.
    pub fn preprocess_recipes() -> Vec<String> {
        Recipe::ALL.iter().map(|r| r.name().to_string()).collect()
    }

    /// Classify an RGBA image (`width x height`, 4 bytes a pixel, as from `getImageData`),
    /// prepared as the model was trained. Returns `{top5: [{class, name, probability,
    /// logit}], backend, gpu_problem}`.
    pub async fn classify_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let mut pace = WebPace::new(None);
        let result = self
            .engine
            .classify_rgba(width, height, rgba, &mut pace)
            .await
            .map_err(js_error)?;
        to_js(&result)
    }

    /// Per node: shape, params, MACs, FLOPs, receptive field, and GPU ms of the last pass.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        self.engine.summary(|s| to_js(s)).map_err(js_error)?
    }

    /// Node `node`'s output after the last pass, `[c, h, w]` channel-major, as a
    /// `Float32Array`. On the GPU only this node is read back.
    pub async fn node_output(&self, node: String) -> Result<Vec<f32>, JsError> {
        let t = self.engine.node_output(&node).await.map_err(js_error)?;
        Ok(t.data)
    }

    /// The input pixels `[y0, x0, y1, x1]` (inclusive, clipped to the input) that unit
    /// `(y, x)` of `node` can see, from the analysis (right for branching networks).
    pub fn receptive_field_box(&self, node: &str, y: u32, x: u32) -> Result<Vec<u32>, JsError> {
        let b = self
            .engine
            .receptive_field_box(node, y as usize, x as usize)
            .map_err(js_error)?;
        Ok(b.iter().map(|&v| v as u32).collect())
    }

    /// How each of node `node`'s numbers is computed: `{node, kind, inputs, lines: [{keys,
    /// quantity, rule, formula, filled, value}]}`, every value equal to the summary's.
    pub fn derivation(&self, node: &str) -> Result<JsValue, JsError> {
        to_js(&self.engine.derivation(node).map_err(js_error)?)
    }

    /// The network's diagram (boxes, edges as polylines, frames of unfolded modules) with the
    /// modules named in `folded` folded; without a list, as first shown.
    pub fn diagram(&self, folded: Option<Vec<String>>) -> Result<JsValue, JsError> {
        to_js(&self.engine.diagram(folded.as_deref()).map_err(js_error)?)
    }

    /// The last input as the network saw it (resized, cropped, normalisation undone), as
    /// RGBA bytes of the network's input size.
    pub fn input_rgba(&self) -> Result<Vec<u8>, JsError> {
        self.engine.input_rgba().map_err(js_error)
    }
}
