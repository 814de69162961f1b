//! The explanations' backward passes on the GPU (`gpu::BackwardPlan`, made once per model on
//! first use): gradient, guided backprop, deconvnet and Grad-CAM. The reference's pass for
//! the method (`Engine::backward_for`, which checks class, node, channel and unit) gives the
//! seed, the mode and where to stop; the GPU runs that pass over its own forward pass. A
//! GPU error hands the request to the CPU path; a bad request is an error either way.

use super::explain::{ExplainRequest, Explanation, Method};
use super::{Engine, EngineError, Model};
use crate::explain::{ExplainError, Explainer};
use crate::gpu::{BackwardPlan, GpuContext, GpuError};
use crate::model::NodeId;
use crate::tensor::Tensor;

/// Why the GPU path gave no explanation.
enum Failure {
    /// The request itself is wrong: the CPU path would refuse it too.
    Request(EngineError),
    /// The GPU failed: the CPU path runs it (and the explanation names its backend).
    Gpu,
}

impl From<GpuError> for Failure {
    fn from(_: GpuError) -> Self {
        Failure::Gpu
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::Request(e)
    }
}

impl From<ExplainError> for Failure {
    fn from(e: ExplainError) -> Self {
        Failure::Request(e.into())
    }
}

impl Engine {
    /// `method` on the GPU, or `None` where the GPU does not run it (no usable plan, an
    /// occlusion, a GPU error): then the CPU path runs it.
    pub(super) async fn explain_gpu(
        &self,
        model: &Model,
        input: &Tensor,
        method: Method,
        request: &ExplainRequest,
    ) -> Option<Result<Explanation, EngineError>> {
        if method == Method::Occlusion {
            return None;
        }
        let ctx = self.gpu_for(model)?;
        match self
            .gpu_explanation(&ctx, model, input, method, request)
            .await
        {
            Ok(x) => Some(Ok(x)),
            Err(Failure::Request(e)) => Some(Err(e)),
            Err(Failure::Gpu) => None,
        }
    }

    async fn gpu_explanation(
        &self,
        ctx: &GpuContext,
        model: &Model,
        input: &Tensor,
        method: Method,
        request: &ExplainRequest,
    ) -> Result<Explanation, Failure> {
        let plan = model.plan.as_ref().ok_or(GpuError::Unsupported {
            node: model.net.name.clone(),
            reason: "no GPU plan".into(),
        })?;
        plan.forward(ctx, input)?;
        let ids: Vec<NodeId> = (0..model.net.nodes.len()).collect();
        let outputs = plan.read_many(ctx, &ids).await?;
        let e = Explainer::from_outputs(&model.net, &model.weights, outputs);
        let class = request.class.unwrap_or_else(|| e.top_class());
        let node = match &request.node {
            Some(name) => Some(Self::node_id(model, name)?),
            None => None,
        };
        let (pass, unit) = Self::backward_for(&e, method, request, node, class)?;
        let (seed, seed_grad, mode, stop) = pass.setup();
        let seed_grad: Vec<f32> = seed_grad
            .unwrap_or_default()
            .iter()
            .map(|&v| v as f32)
            .collect();
        // Out of the model for the pass, so no borrow is held across an await.
        let taken = model.backward.borrow_mut().take();
        let mut back = match taken {
            Some(b) => b,
            None => BackwardPlan::new(ctx, plan, &model.weights).await?,
        };
        let target = if method == Method::GradCam { stop } else { 0 };
        let ran = back.run(ctx, plan, seed, &seed_grad, mode, stop);
        let grad = match ran {
            Ok(()) => back.read(ctx, plan, target).await,
            Err(e) => Err(e),
        };
        *model.backward.borrow_mut() = Some(back);
        let grad = grad?;
        let (shape, values) = if method == Method::GradCam {
            let grad: Option<Vec<f64>> = grad.map(|t| t.data.iter().map(|&v| v as f64).collect());
            let cam = e.grad_cam_of(target, grad.as_deref(), class);
            (
                vec![cam.h, cam.w],
                cam.map.iter().map(|&v| v as f32).collect(),
            )
        } else {
            let t =
                grad.unwrap_or_else(|| Tensor::new(input.shape.clone(), vec![0.0; input.len()]));
            (t.shape, t.data)
        };
        Ok(Explanation {
            method,
            backend: "webgpu",
            class,
            class_name: self.name_of(&model.classes, class),
            node: node.map(|n| model.net.nodes[n].name.clone()),
            unit,
            shape,
            values,
            input: input.clone(),
        })
    }
}
