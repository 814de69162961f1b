//! The browser boundary: one opaque [`Session`] the page drives. It runs the GPU engine on
//! WebGPU, or the CPU reference compiled to WebAssembly when WebGPU is missing or fails, and
//! hands results to JavaScript as typed arrays and plain objects. The only wasm-bindgen code.

mod draw;
mod lab;
mod report;
mod run;

use crate::analysis::{analyze, Analysis, FLOPS_PER_MAC};
use crate::cpu::top_k;
use crate::gpu::draw::FeatureMapDrawer;
use crate::gpu::{GpuContext, GpuError, Plan, PlanOptions};
use crate::labels::{Labels, FASHION_MNIST};
use crate::model::{Network, NodeId};
use crate::predict::scores;
use crate::tensor::Tensor;
use crate::weights::Weights;
use crate::zoo::{self, ZooEntry};
use report::{Classification, LoadReport, Prediction, Summary};
use run::{cpu_forward, input_to_rgba, js_error, load_weights, random_weights, Pacer};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// A loaded model: what stays fixed until the next `load_model`.
struct Model {
    entry: &'static ZooEntry,
    net: Network,
    weights: Weights,
    trained: bool,
    analysis: Analysis,
    /// `None`: the CPU reference runs this model.
    plan: Option<Plan>,
    /// Set once the GPU fails on this model; the CPU reference runs it from then on.
    gpu_failure: RefCell<Option<String>>,
}

/// Results of the last pass.
#[derive(Default)]
struct Run {
    input: Option<Tensor>,
    /// Every node's output (CPU passes only; GPU outputs stay on the GPU until asked for).
    outputs: Option<Vec<Tensor>>,
    gpu_ms: Option<Vec<f64>>,
    /// The nodes read back from the GPU since this pass, in order.
    gpu_reads: Vec<String>,
}

/// The page's handle on the engine.
#[wasm_bindgen]
pub struct Session {
    gpu: Option<Rc<GpuContext>>,
    reason: String,
    lost: Arc<AtomicBool>,
    model: RefCell<Option<Rc<Model>>>,
    run: RefCell<Run>,
    imagenet: RefCell<Option<Vec<String>>>,
    /// Draws feature maps from GPU buffers; made on first use.
    drawer: RefCell<Option<Rc<FeatureMapDrawer>>>,
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| js_error("cannot pass the result to the page", e))
}

/// One forward pass on the GPU inside an error scope, so an invalid pipeline or command
/// buffer is an error here rather than a silent page of zeros. Returns the output node's
/// values and the per-node times.
async fn gpu_pass(
    ctx: &GpuContext,
    model: &Model,
    input: &Tensor,
) -> Result<(Vec<f32>, Option<Vec<f64>>), String> {
    let plan = model.plan.as_ref().ok_or("no GPU plan")?;
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let submitted = plan.forward(ctx, input);
    let error = scope.pop();
    submitted.map_err(|e| e.to_string())?;
    if let Some(e) = error.await {
        return Err(e.to_string());
    }
    let out = plan
        .read(ctx, model.net.output())
        .await
        .map_err(|e| e.to_string())?;
    let times = plan.node_times_ms(ctx).await.ok().flatten();
    Ok((out.data, times))
}

impl Session {
    fn model(&self) -> Result<Rc<Model>, JsError> {
        self.model
            .borrow()
            .clone()
            .ok_or_else(|| JsError::new("no model is loaded yet: pick one first"))
    }

    fn node_id(model: &Model, node: &str) -> Result<NodeId, JsError> {
        model.net.find(node).ok_or_else(|| {
            JsError::new(&format!(
                "model `{}` has no node called `{node}`",
                model.net.name
            ))
        })
    }

    /// The GPU, if it runs `model`.
    fn gpu_for(&self, model: &Model) -> Option<Rc<GpuContext>> {
        let usable = model.plan.is_some() && model.gpu_failure.borrow().is_none();
        usable.then(|| self.gpu.clone()).flatten()
    }

    fn backend_of(&self, model: &Model) -> &'static str {
        if self.gpu_for(model).is_some() {
            "webgpu"
        } else {
            "cpu"
        }
    }

    /// After a failed GPU pass: whether the device was lost. The loss is reported by a
    /// promise that may settle just after the failing call, so the browser gets a turn first.
    async fn lost_after_failure(&self) -> bool {
        run::yield_to_browser().await;
        self.lost.load(Ordering::Relaxed)
    }

    fn check_device(&self) -> Result<(), JsError> {
        if self.lost.load(Ordering::Relaxed) {
            return Err(JsError::new("the GPU device was lost: reload the page (or add backend=cpu to the URL's hash to use the CPU reference)"));
        }
        Ok(())
    }

    fn class_name(&self, labels: Labels, class: usize) -> String {
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

    /// A GPU plan for `net`, or why there is none (then the CPU reference runs it).
    async fn plan(
        &self,
        net: &Network,
        weights: &Weights,
        h: usize,
        w: usize,
    ) -> (Option<Plan>, Option<String>) {
        let Some(ctx) = &self.gpu else {
            return (None, None);
        };
        let memory = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let plan = Plan::new(ctx, net, weights, h, w, PlanOptions::default()).await;
        let out_of_memory = memory.pop().await;
        let problem = match (plan, out_of_memory) {
            (Ok(plan), None) => return (Some(plan), None),
            (Ok(_), Some(e)) => e.to_string(),
            (Err(e), _) => e.to_string(),
        };
        let note = format!(
            "the GPU cannot run {} ({problem}); the CPU reference runs it instead",
            net.name
        );
        (None, Some(note))
    }
}

#[wasm_bindgen]
impl Session {
    /// Open WebGPU, or fall back to the CPU reference (`force_cpu`, or no usable adapter).
    pub async fn create(force_cpu: bool) -> Session {
        console_error_panic_hook::set_once();
        let lost = Arc::new(AtomicBool::new(false));
        let (gpu, reason) = if force_cpu {
            (
                None,
                "CPU reference: the page was asked for it (backend=cpu in the URL's hash)"
                    .to_string(),
            )
        } else {
            match GpuContext::new().await {
                Ok(ctx) => {
                    let flag = lost.clone();
                    ctx.device
                        .set_device_lost_callback(move |_, _| flag.store(true, Ordering::Relaxed));
                    let reason = if ctx.info.device_type == wgpu::DeviceType::Cpu {
                        "WebGPU on a software adapter (no GPU): expect seconds per image; add backend=cpu to the URL's hash for the CPU reference".to_string()
                    } else {
                        format!("WebGPU: {}", ctx.describe().trim())
                    };
                    (Some(Rc::new(ctx)), reason)
                }
                Err(e) => {
                    let why = match e {
                        GpuError::NoAdapter(_) => {
                            "this browser offers no WebGPU adapter".to_string()
                        }
                        other => other.to_string(),
                    };
                    (None, format!("CPU reference: WebGPU is not available ({why}), so the CPU reference compiled to WebAssembly runs the models"))
                }
            }
        };
        Session {
            gpu,
            reason,
            lost,
            model: RefCell::new(None),
            run: RefCell::new(Run::default()),
            imagenet: RefCell::new(None),
            drawer: RefCell::new(None),
        }
    }

    /// `"webgpu"` or `"cpu"`: what this session runs models on.
    pub fn backend(&self) -> String {
        if self.gpu.is_some() { "webgpu" } else { "cpu" }.into()
    }

    /// Which adapter runs the engine, or why the CPU reference does.
    pub fn backend_reason(&self) -> String {
        self.reason.clone()
    }

    /// Whether the GPU device was lost (the page then makes a new session).
    pub fn device_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// The nodes whose outputs were read back from the GPU since the last classification,
    /// in order: the output node, then each node the page asked for.
    pub fn gpu_reads(&self) -> Vec<String> {
        self.run.borrow().gpu_reads.clone()
    }

    /// The ImageNet-1k class names, one a line in class order (`labels/imagenet.txt`).
    pub fn set_imagenet_labels(&self, text: &str) -> Result<(), JsError> {
        let names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
        if names.len() != 1000 {
            return Err(JsError::new(&format!(
                "the ImageNet label file has {} lines, not 1000: run ./scripts/setup.sh to make it",
                names.len()
            )));
        }
        *self.imagenet.borrow_mut() = Some(names);
        Ok(())
    }

    /// The zoo; `available_weights` names the models whose trained weights the server has.
    pub fn models(&self, available_weights: Vec<String>) -> Result<JsValue, JsError> {
        to_js(&report::zoo_list(&available_weights))
    }

    /// Load model `name` with safetensors `weights` (validated; every mismatch named by
    /// tensor), or with seeded random weights when `weights` is absent. If this fails the
    /// previous model stays loaded. Long work runs in small steps that let the page paint;
    /// `on_progress(stage, fraction)` is called between them.
    pub async fn load_model(
        &self,
        name: String,
        weights: Option<js_sys::Uint8Array>,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        self.check_device()?;
        let entry = zoo::entry(&name)
            .ok_or_else(|| JsError::new(&format!("no model called `{name}` in the zoo")))?;
        let net = (entry.build)();
        let mut pacer = Pacer::new(on_progress);
        let (weights, trained, note) = match weights {
            Some(bytes) => {
                let w = load_weights(&bytes.to_vec(), &net, &mut pacer)
                    .await
                    .map_err(|e| js_error(&format!("these weights do not fit {name}"), e))?;
                (w, true, "trained weights".to_string())
            }
            None => {
                let (w, note) = random_weights(entry, &net, &mut pacer).await?;
                (w, false, note)
            }
        };
        if self.gpu.is_some() {
            pacer.report("uploading the weights to the GPU", 1.0);
        }
        let (h, w) = entry.preprocess.output_size();
        let analysis = analyze(&net, h, w).map_err(|e| js_error("the analysis failed", e))?;
        let (plan, gpu_problem) = self.plan(&net, &weights, h, w).await;
        let report = LoadReport {
            name,
            trained,
            weights: note,
            backend: if plan.is_some() { "webgpu" } else { "cpu" },
            gpu_problem,
            input: [analysis.input.c, h, w],
        };
        let model = Model {
            entry,
            net,
            weights,
            trained,
            analysis,
            plan,
            gpu_failure: RefCell::new(None),
        };
        *self.model.borrow_mut() = Some(Rc::new(model));
        *self.run.borrow_mut() = Run::default();
        to_js(&report)
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
        self.check_device()?;
        let model = self.model()?;
        if width == 0 || height == 0 {
            return Err(JsError::new("the image is empty (0 pixels)"));
        }
        let image = image::RgbaImage::from_raw(width, height, rgba)
            .ok_or_else(|| JsError::new(&format!("expected {width}x{height}x4 bytes of RGBA")))?;
        let input = model
            .entry
            .preprocess
            .apply(&image::DynamicImage::ImageRgba8(image));
        let out_id = model.net.output();
        let mut gpu_problem = None;
        let mut gpu_result = None;
        if let Some(ctx) = self.gpu_for(&model) {
            match gpu_pass(&ctx, &model, &input).await {
                Ok(result) => gpu_result = Some(result),
                Err(problem) if self.lost_after_failure().await => {
                    return Err(JsError::new(&format!(
                        "the GPU device was lost during the pass ({problem}): make a new session"
                    )));
                }
                Err(problem) => {
                    let note = format!(
                        "the GPU failed on {} ({problem}); the CPU reference runs it from now on",
                        model.net.name
                    );
                    *model.gpu_failure.borrow_mut() = Some(note.clone());
                    gpu_problem = Some(note);
                }
            }
        }
        let (output, outputs, gpu_ms, gpu_reads) = match gpu_result {
            Some((output, times)) => {
                let reads = vec![model.net.nodes[out_id].name.clone()];
                (output, None, times, reads)
            }
            None => {
                let outputs = cpu_forward(&model.net, &model.weights, &input).await?;
                (
                    outputs[out_id].data.clone(),
                    Some(outputs),
                    None,
                    Vec::new(),
                )
            }
        };
        let (logits, probs) = scores(&model.net, &output);
        let top5 = top_k(&logits, 5)
            .into_iter()
            .map(|(class, logit)| Prediction {
                class,
                name: self.class_name(model.entry.labels, class),
                probability: probs[class],
                logit,
            })
            .collect();
        *self.run.borrow_mut() = Run {
            input: Some(input),
            outputs,
            gpu_ms,
            gpu_reads,
        };
        to_js(&Classification {
            top5,
            backend: self.backend_of(&model),
            gpu_problem,
        })
    }

    /// Per node: shape, params, MACs, FLOPs, receptive field, and GPU ms of the last pass.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        let model = self.model()?;
        let run = self.run.borrow();
        let times = run.gpu_ms.as_ref();
        let fused = |id| {
            let on_gpu = times.is_some();
            model
                .plan
                .as_ref()
                .filter(|_| on_gpu)
                .and_then(|p| p.fused_into(id))
        };
        let nodes = report::node_summaries(&model.analysis, times, fused);
        let input = model.analysis.input;
        to_js(&Summary {
            model: &model.net.name,
            input: [input.c, input.h, input.w],
            backend: self.backend_of(&model),
            trained: model.trained,
            flops_per_mac: FLOPS_PER_MAC,
            nodes,
            totals: &model.analysis.totals,
            gpu_total_ms: times.map(|t| t.iter().sum()),
        })
    }

    /// Node `node`'s output after the last pass, `[c, h, w]` channel-major, as a
    /// `Float32Array`. On the GPU only this node is read back.
    pub async fn node_output(&self, node: String) -> Result<Vec<f32>, JsError> {
        self.check_device()?;
        let model = self.model()?;
        let id = Self::node_id(&model, &node)?;
        if let Some(outputs) = &self.run.borrow().outputs {
            return Ok(outputs[id].data.clone());
        }
        if self.run.borrow().input.is_none() {
            return Err(JsError::new("nothing has run yet: classify an image first"));
        }
        let ctx = self
            .gpu_for(&model)
            .ok_or_else(|| JsError::new("this pass kept no outputs: classify the image again"))?;
        let plan = model.plan.as_ref().expect("gpu_for checked the plan");
        let t = plan
            .read(&ctx, id)
            .await
            .map_err(|e| js_error("reading the feature map failed", e))?;
        self.run.borrow_mut().gpu_reads.push(node);
        Ok(t.data)
    }

    /// The input pixels `[y0, x0, y1, x1]` (inclusive, clipped to the input) that unit
    /// `(y, x)` of `node` can see, from the analysis (right for branching networks).
    pub fn receptive_field_box(&self, node: &str, y: u32, x: u32) -> Result<Vec<u32>, JsError> {
        let model = self.model()?;
        let stats = &model.analysis.nodes[Self::node_id(&model, node)?];
        let s = stats.output_shape;
        if y as usize >= s.h || x as usize >= s.w {
            return Err(JsError::new(&format!(
                "unit ({y}, {x}) is outside `{node}`'s {}x{} map",
                s.h, s.w
            )));
        }
        let input = model.analysis.input;
        let f = stats.receptive_field;
        let (y0, y1) = f.h.clipped(y as usize, input.h);
        let (x0, x1) = f.w.clipped(x as usize, input.w);
        Ok(vec![y0 as u32, x0 as u32, y1 as u32, x1 as u32])
    }

    /// The last input as the network saw it (resized, cropped, normalisation undone), as
    /// RGBA bytes of the network's input size.
    pub fn input_rgba(&self) -> Result<Vec<u8>, JsError> {
        let model = self.model()?;
        let run = self.run.borrow();
        let input = run
            .input
            .as_ref()
            .ok_or_else(|| JsError::new("nothing has run yet: classify an image first"))?;
        Ok(input_to_rgba(&model.entry.preprocess, input))
    }
}
