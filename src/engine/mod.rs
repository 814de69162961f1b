//! The engine core that the page and the tool share: open the GPU (or decide on the CPU
//! reference), load a zoo model with trained or seeded random weights (calibrated the same
//! way everywhere), classify images on the GPU with the CPU reference as fallback, and read
//! any node back. `web.rs` wraps it for JavaScript; the CLI calls it directly.
//!
//! Long work takes a [`Pace`], which reports progress and on the page yields to the browser.

mod choose;
mod error;
pub mod evolution;
pub mod explain;
mod explain_gpu;
pub mod families;
pub mod families_alexnet;
pub mod families_report;
pub mod gallery;
mod imported;
mod install;
mod load;
mod nodes;
pub mod occlusion_gpu;
mod pace;
mod picture;
pub mod report;
mod run;
pub mod transfer;
pub mod views;

pub use choose::EngineTiming;
pub use error::EngineError;
pub use imported::{
    check_model_size, parse_labels, Classes, ImportOptions, LARGE_FILE_BYTES, MAX_PAGE_MODEL_BYTES,
};
pub use load::{decode_weights, model_weights, random_weights, ModelWeights, RANDOM_SEED};
pub use nodes::GpuNode;
pub use pace::{Pace, Progress, Quiet};
pub use run::cpu_pass;

use crate::analysis::{analyze, Analysis};
use crate::fastcpu::FastPlan;
use crate::gpu::draw::FeatureMapDrawer;
use crate::gpu::{BackwardPlan, GpuContext, GpuError, Plan, PlanOptions};
use crate::labels::{Labels, FASHION_MNIST};
use crate::model::{Network, NodeId};
use crate::preprocess::Preprocess;
use crate::tensor::Tensor;
use crate::weights::Weights;
use crate::zoo;
use report::LoadReport;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What runs the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The GPU engine, with the fast CPU engine where the GPU cannot run a model.
    Gpu,
    /// The fast CPU engine (f32, `crate::fastcpu`).
    Cpu,
    /// The CPU reference (f64 sums, `crate::cpu`): slow, the tests' oracle.
    Reference,
}

impl Backend {
    /// The name the page and the reports use: `webgpu`, `cpu` or `reference`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Gpu => "webgpu",
            Backend::Cpu => "cpu",
            Backend::Reference => "reference",
        }
    }
}

/// A loaded model: what stays fixed until the next load.
pub(crate) struct Model {
    /// How its inputs are prepared.
    pub preprocess: Preprocess,
    /// What its outputs name.
    pub classes: Classes,
    pub net: Network,
    pub weights: Weights,
    pub trained: bool,
    pub analysis: Analysis,
    /// `None`: the CPU reference runs this model.
    pub plan: Option<Plan>,
    /// Set once the GPU fails on this model; the CPU engine runs it from then on.
    pub gpu_failure: RefCell<Option<String>>,
    /// The fast CPU engine's plan, made on its first pass.
    pub fast: RefCell<Option<FastPlan>>,
    /// The GPU backward pass over `plan`, made on the first explanation that needs it.
    pub backward: RefCell<Option<BackwardPlan>>,
}

/// How a model is installed besides its network and weights.
struct Installed<'a> {
    name: &'a str,
    preprocess: Preprocess,
    classes: Classes,
    /// What the load assumed or changed (an import's notes).
    notes: Vec<String>,
}

/// Where the last pass ran, and so where its node outputs are.
pub(crate) enum Ran {
    /// In the GPU plan's buffers, read back when asked for.
    Gpu,
    /// In the fast CPU engine's plan.
    Fast,
    /// Every node's output of the CPU reference.
    Reference(Vec<Tensor>),
}

/// Results of the last pass.
#[derive(Default)]
pub(crate) struct Run {
    pub input: Option<Tensor>,
    pub ran: Option<Ran>,
    pub gpu_ms: Option<Vec<f64>>,
    /// The nodes read back from the GPU since this pass, in order.
    pub gpu_reads: Vec<String>,
    /// The last node read for painting after a fast CPU pass (its ranges, then its tiles).
    pub painted: Option<(NodeId, Tensor)>,
}

/// The engine: a GPU (or none), which CPU engine runs what the GPU does not, the loaded
/// model and the last pass. Methods take `&self`
/// (the page calls them from JavaScript while other calls may be waiting).
pub struct Engine {
    gpu: Option<Rc<GpuContext>>,
    /// `Backend::Cpu` or `Backend::Reference`: what runs a model the GPU does not.
    cpu: Backend,
    reason: String,
    /// Set when a timed pass found the CPU engine faster than the GPU (`choose_faster`).
    cpu_preferred: Cell<bool>,
    /// What the timed passes found, said in place of `reason` once they ran.
    timed: RefCell<Option<String>>,
    lost: Arc<AtomicBool>,
    model: RefCell<Option<Rc<Model>>>,
    run: RefCell<Run>,
    imagenet: RefCell<Option<Vec<String>>>,
    /// Draws and measures feature maps from GPU buffers; made on first use.
    drawer: RefCell<Option<Rc<FeatureMapDrawer>>>,
    /// The inputs seen since the model was loaded, for the top-9 gallery.
    dataset: RefCell<gallery::Dataset>,
}

impl Engine {
    /// Open the GPU, or settle on the CPU reference (`Backend::Cpu`, or no usable adapter);
    /// [`Engine::backend_reason`] says which and why.
    pub async fn new(backend: Backend) -> Engine {
        match backend {
            Backend::Cpu => {
                let why = "fast CPU engine (f32): it was asked for (backend=cpu in the page's URL hash, or --cpu)";
                return Self::from_parts(None, Backend::Cpu, why.into());
            }
            Backend::Reference => {
                let why = "CPU reference (f64 sums, slow): it was asked for (backend=reference in the page's URL hash, or --reference)";
                return Self::from_parts(None, Backend::Reference, why.into());
            }
            Backend::Gpu => {}
        }
        match GpuContext::new().await {
            Ok(ctx) => Self::with_gpu(ctx),
            Err(e) => {
                let why = match e {
                    GpuError::NoAdapter(_) => "no GPU adapter is available".to_string(),
                    other => other.to_string(),
                };
                let reason = format!("fast CPU engine: the GPU is not available ({why})");
                Self::from_parts(None, Backend::Cpu, reason)
            }
        }
    }

    /// What the page does by default: the GPU, unless its adapter is a software one
    /// (SwiftShader, llvmpipe: `DeviceType::Cpu`, what browsers call a fallback adapter), on
    /// which the fast CPU engine is many times faster; then the CPU engine, and the reason
    /// says so and how to force the GPU.
    pub async fn auto() -> Engine {
        match GpuContext::new().await {
            Ok(ctx) if ctx.info.device_type == wgpu::DeviceType::Cpu => {
                let reason = "fast CPU engine: the only GPU adapter is a software one, slower here than the CPU engine (backend=webgpu in the URL hash uses it anyway)";
                Self::from_parts(None, Backend::Cpu, reason.into())
            }
            Ok(ctx) => Self::with_gpu(ctx),
            Err(_) => Self::new(Backend::Gpu).await,
        }
    }

    /// An engine on a device the caller opened.
    pub fn with_gpu(ctx: GpuContext) -> Engine {
        let reason = if ctx.info.device_type == wgpu::DeviceType::Cpu {
            "GPU engine on a software adapter (no GPU): expect seconds per image; backend=cpu in the URL hash or --cpu uses the CPU reference".to_string()
        } else {
            format!("GPU engine: {}", ctx.describe())
        };
        Self::from_parts(Some(ctx), Backend::Cpu, reason)
    }

    fn from_parts(ctx: Option<GpuContext>, cpu: Backend, reason: String) -> Engine {
        let lost = Arc::new(AtomicBool::new(false));
        if let Some(ctx) = &ctx {
            let flag = lost.clone();
            ctx.device
                .set_device_lost_callback(move |_, _| flag.store(true, Ordering::Relaxed));
        }
        Engine {
            gpu: ctx.map(Rc::new),
            cpu,
            reason,
            cpu_preferred: Cell::new(false),
            timed: RefCell::new(None),
            lost,
            model: RefCell::new(None),
            run: RefCell::new(Run::default()),
            imagenet: RefCell::new(None),
            drawer: RefCell::new(None),
            dataset: RefCell::default(),
        }
    }

    /// The GPU this engine runs on, if any.
    pub fn gpu(&self) -> Option<&Rc<GpuContext>> {
        self.gpu.as_ref()
    }

    /// What runs models: `Backend::Gpu` when a device is open (and no timed pass found the
    /// CPU engine faster), else the CPU engine chosen.
    pub fn backend(&self) -> Backend {
        if self.gpu.is_some() && !self.cpu_preferred.get() {
            Backend::Gpu
        } else {
            self.cpu
        }
    }

    /// What runs a model the GPU does not: `Backend::Cpu` or `Backend::Reference`.
    pub fn cpu_backend(&self) -> Backend {
        self.cpu
    }

    /// Which adapter runs the engine, or why a CPU engine does.
    pub fn backend_reason(&self) -> String {
        self.timed
            .borrow()
            .clone()
            .unwrap_or_else(|| self.reason.clone())
    }

    /// Whether the GPU device was lost.
    pub fn device_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// An error if the GPU device was lost.
    pub fn check_device(&self) -> Result<(), EngineError> {
        if self.device_lost() {
            return Err(EngineError::DeviceLost { during: None });
        }
        Ok(())
    }

    /// The nodes whose outputs were read back from the GPU since the last classification,
    /// in order: the output node, then each node asked for.
    pub fn gpu_reads(&self) -> Vec<String> {
        self.run.borrow().gpu_reads.clone()
    }

    /// The ImageNet-1k class names, one a line in class order (`labels/imagenet.txt`).
    pub fn set_imagenet_labels(&self, text: &str) -> Result<(), EngineError> {
        let names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
        if names.len() != 1000 {
            return Err(EngineError::Labels { found: names.len() });
        }
        *self.imagenet.borrow_mut() = Some(names);
        Ok(())
    }

    /// The name of class `class` of `labels`, or `class N` when there are no names.
    pub fn class_name(&self, labels: Labels, class: usize) -> String {
        match labels {
            Labels::FashionMnist => FASHION_MNIST.get(class).map(|s| s.to_string()),
            Labels::ImageNet => self
                .imagenet
                .borrow()
                .as_ref()
                .and_then(|n| n.get(class).cloned()),
        }
        .unwrap_or_else(|| format!("class {class}"))
    }

    /// The name of output `class` of a model whose outputs name `classes`.
    pub(crate) fn name_of(&self, classes: &Classes, class: usize) -> String {
        match classes {
            Classes::Known(labels) => self.class_name(*labels, class),
            Classes::Listed(names) => names
                .get(class)
                .cloned()
                .unwrap_or_else(|| format!("class {class}")),
            Classes::Numbered => format!("class {class}"),
        }
    }

    pub(crate) fn model(&self) -> Result<Rc<Model>, EngineError> {
        self.model.borrow().clone().ok_or(EngineError::NoModel)
    }

    /// The loaded model's network.
    pub fn network(&self) -> Result<Network, EngineError> {
        Ok(self.model()?.net.clone())
    }

    /// The loaded model's plan on the GPU, if the GPU runs it.
    pub fn with_plan<T>(&self, f: impl FnOnce(&GpuContext, &Plan) -> T) -> Option<T> {
        let model = self.model().ok()?;
        let ctx = self.gpu_for(&model)?;
        Some(f(&ctx, model.plan.as_ref()?))
    }

    pub(crate) fn node_id(model: &Model, node: &str) -> Result<NodeId, EngineError> {
        model
            .net
            .find(node)
            .ok_or_else(|| EngineError::UnknownNode {
                model: model.net.name.clone(),
                node: node.into(),
            })
    }

    /// The GPU, if it runs `model`.
    pub(crate) fn gpu_for(&self, model: &Model) -> Option<Rc<GpuContext>> {
        let usable = model.plan.is_some()
            && model.gpu_failure.borrow().is_none()
            && !self.cpu_preferred.get();
        usable.then(|| self.gpu.clone()).flatten()
    }
}
