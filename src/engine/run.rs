//! One image through the loaded model: on the GPU inside an error scope, or on the fast CPU
//! engine or the CPU reference a step at a time (the fallback when the GPU fails), then ranked.

use super::load::MACS_PER_PIECE;
use super::pace::Pace;
use super::report::{Classification, Prediction};
use super::{Backend, Engine, EngineError, Model, Ran, Run};
use crate::cpu::{top_k, Stepper};
use crate::fastcpu::FastPlan;
use crate::gpu::GpuContext;
use crate::model::Network;
use crate::predict::scores;
use crate::tensor::Tensor;
use crate::weights::Weights;

/// One forward pass on the GPU inside an error scope, so an invalid pipeline or command
/// buffer is an error here rather than a silent page of zeros. Returns the output node's
/// values and the per-node times.
pub(super) async fn gpu_pass(
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

/// Every node's output on the CPU reference, a convolution's few channels at a time, with a
/// tick between steps.
pub async fn cpu_pass(
    net: &Network,
    weights: &Weights,
    input: &Tensor,
    pace: &mut impl Pace,
) -> Result<Vec<Tensor>, EngineError> {
    const STAGE: &str = "running the CPU reference";
    let mut stepper = Stepper::new(net, weights, input)?.in_pieces(MACS_PER_PIECE);
    while !stepper.done() {
        stepper.step(weights)?;
        pace.tick(STAGE, stepper.progress()).await;
    }
    Ok(stepper.into_outputs())
}

/// The output node's values on the fast CPU engine (its plan made on the first pass), a node
/// at a time with a tick between nodes. Every node's output stays in the plan.
pub(super) async fn fast_pass(
    model: &Model,
    input: &Tensor,
    pace: &mut impl Pace,
) -> Result<Vec<f32>, EngineError> {
    const STAGE: &str = "running the CPU engine";
    // The plan is taken out for the pass, so no borrow is held while the page gets a turn.
    let (h, w) = (input.shape[1], input.shape[2]);
    let kept = model.fast.borrow_mut().take();
    let mut plan = match kept {
        Some(p) if p.shapes()[0].h == h && p.shapes()[0].w == w => p,
        _ => FastPlan::new(&model.net, &model.weights, h, w)?,
    };
    plan.start(input)?;
    while plan.step().is_some() {
        pace.tick(STAGE, plan.progress()).await;
    }
    let output = plan.read(model.net.output())?.data;
    *model.fast.borrow_mut() = Some(plan);
    Ok(output)
}

impl Engine {
    /// Classify `image`, prepared as the model was trained: the top-5 with names,
    /// probabilities and logits, and what ran the pass. If the GPU fails on a pass, the CPU
    /// reference runs this pass and this model from then on (the result says so).
    pub async fn classify(
        &self,
        image: &image::DynamicImage,
        pace: &mut impl Pace,
    ) -> Result<Classification, EngineError> {
        self.check_device()?;
        let model = self.model()?;
        if image.width() == 0 || image.height() == 0 {
            return Err(EngineError::EmptyImage);
        }
        let input = model.preprocess.apply(image);
        let out_id = model.net.output();
        let mut gpu_problem = None;
        let mut gpu_result = None;
        if let Some(ctx) = self.gpu_for(&model) {
            match gpu_pass(&ctx, &model, &input).await {
                Ok(result) => gpu_result = Some(result),
                Err(problem) => {
                    // A loss is reported by a callback that may run just after the failing
                    // call, so the event loop gets a turn first.
                    pace.yield_now().await;
                    if self.device_lost() {
                        return Err(EngineError::DeviceLost {
                            during: Some(format!("during the pass ({problem})")),
                        });
                    }
                    let note = format!(
                        "the GPU failed on {} ({problem}); the CPU engine runs it from now on",
                        model.net.name
                    );
                    *model.gpu_failure.borrow_mut() = Some(note.clone());
                    gpu_problem = Some(note);
                }
            }
        }
        let (output, ran, gpu_ms, gpu_reads) = match gpu_result {
            Some((output, times)) => {
                let reads = vec![model.net.nodes[out_id].name.clone()];
                (output, Ran::Gpu, times, reads)
            }
            None if self.cpu == Backend::Cpu => {
                let output = fast_pass(&model, &input, pace).await?;
                (output, Ran::Fast, None, Vec::new())
            }
            None => {
                let outputs = cpu_pass(&model.net, &model.weights, &input, pace).await?;
                let output = outputs[out_id].data.clone();
                (output, Ran::Reference(outputs), None, Vec::new())
            }
        };
        let (logits, probs) = scores(&model.net, &output);
        let top5 = top_k(&logits, 5)
            .into_iter()
            .map(|(class, logit)| Prediction {
                class,
                name: self.name_of(&model.classes, class),
                probability: probs[class],
                logit,
            })
            .collect();
        self.remember(&input);
        *self.run.borrow_mut() = Run {
            input: Some(input),
            ran: Some(ran),
            gpu_ms,
            gpu_reads,
            painted: None,
        };
        Ok(Classification {
            top5,
            backend: self.backend_of(&model),
            gpu_problem,
        })
    }

    /// Classify an RGBA image (`width x height`, 4 bytes a pixel, as from a canvas).
    pub async fn classify_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
        pace: &mut impl Pace,
    ) -> Result<Classification, EngineError> {
        let image = rgba_image(width, height, rgba)?;
        self.classify(&image, pace).await
    }

    /// `"webgpu"`, `"cpu"` or `"reference"`: what runs `model` now.
    pub(crate) fn backend_of(&self, model: &Model) -> &'static str {
        if self.gpu_for(model).is_some() {
            Backend::Gpu.name()
        } else {
            self.cpu.name()
        }
    }
}

/// An RGBA image (`width x height`, 4 bytes a pixel, as from a canvas), checked.
pub(crate) fn rgba_image(
    width: u32,
    height: u32,
    rgba: Vec<u8>,
) -> Result<image::DynamicImage, EngineError> {
    if width == 0 || height == 0 {
        return Err(EngineError::EmptyImage);
    }
    let found = rgba.len();
    let image = image::RgbaImage::from_raw(width, height, rgba).ok_or(EngineError::RgbaLength {
        width,
        height,
        found,
    })?;
    Ok(image::DynamicImage::ImageRgba8(image))
}
