//! The second rule of the automatic choice: on a real GPU adapter, time one pass of the
//! loaded model on the GPU and one on the fast CPU engine, and run on the CPU engine from then
//! on if it was faster (the first rule, a software adapter, is [`Engine::auto`]'s). The page
//! runs it for the model it opens with; the reason says what was measured.

use super::pace::Quiet;
use super::run::{fast_pass, gpu_pass};
use super::{Engine, EngineError};
use crate::tensor::Tensor;
use serde::Serialize;

/// One timed pass on each engine, in milliseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct EngineTiming {
    pub gpu_ms: f64,
    pub cpu_ms: f64,
    /// Whether the CPU engine runs models from now on.
    pub chose_cpu: bool,
}

impl Engine {
    /// Time one pass of the loaded model on the GPU and one on the fast CPU engine (each after
    /// an untimed pass that warms it: pipelines, the CPU plan), on a mid-grey input, with
    /// `now()` a clock in milliseconds. If the CPU engine was faster, it runs this and every
    /// later model, and [`Engine::backend_reason`] says why. `None` when there is no GPU to
    /// compare (or the GPU has already failed on this model).
    pub async fn choose_faster(
        &self,
        now: impl Fn() -> f64,
    ) -> Result<Option<EngineTiming>, EngineError> {
        self.check_device()?;
        let model = self.model()?;
        let Some(ctx) = self.gpu_for(&model) else {
            return Ok(None);
        };
        let s = model.analysis.input;
        let input = Tensor::new(vec![s.c, s.h, s.w], vec![0.0; s.c * s.h * s.w]);
        let mut gpu_ms = f64::INFINITY;
        for _ in 0..2 {
            let started = now();
            if let Err(problem) = gpu_pass(&ctx, &model, &input).await {
                let note = format!("the GPU failed on {} ({problem})", model.net.name);
                return Err(EngineError::Timing { problem: note });
            }
            gpu_ms = now() - started;
        }
        let mut cpu_ms = f64::INFINITY;
        for _ in 0..2 {
            let started = now();
            fast_pass(&model, &input, &mut Quiet).await?;
            cpu_ms = now() - started;
        }
        let chose_cpu = cpu_ms < gpu_ms;
        let (name, adapter) = (&model.net.name, ctx.describe());
        *self.timed.borrow_mut() = Some(if chose_cpu {
            format!("fast CPU engine: one pass of {name} took {cpu_ms:.0} ms on it against {gpu_ms:.0} ms on WebGPU ({adapter}), so the CPU engine runs the models (backend=webgpu in the URL hash uses WebGPU anyway)")
        } else {
            format!("GPU engine: {adapter}; one pass of {name} took {gpu_ms:.0} ms on it against {cpu_ms:.0} ms on the fast CPU engine")
        });
        self.cpu_preferred.set(chose_cpu);
        *self.run.borrow_mut() = Default::default();
        Ok(Some(EngineTiming {
            gpu_ms,
            cpu_ms,
            chose_cpu,
        }))
    }
}
