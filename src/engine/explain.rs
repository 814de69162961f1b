//! Explanations of the loaded model on one image, the one place the CLI and the page ask for
//! them: gradient, guided backprop, deconvnet, Grad-CAM, occlusion. Each runs on the GPU
//! where the model has a plan (`explain_gpu.rs`, `occlusion_gpu.rs`), with the CPU as its
//! fallback (`crate::explain`: backward passes on the f64 reference, occlusion's forward
//! passes on the fast CPU engine), as classification does.

use super::occlusion_gpu::occlusion_on_gpu;
use super::run::cpu_pass;
use super::{Engine, EngineError, Model, Pace};
use crate::cpu::backward::{Backward, Mode};
use crate::explain::{ExplainError, Explainer, Occlusion, OcclusionMaps, OcclusionSettings, Unit};
use crate::model::NodeId;
use crate::tensor::Tensor;
use serde::Serialize;

/// What to explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// d class score / d input (Simonyan et al. 2014).
    Gradient,
    /// Guided backpropagation of a class score (Springenberg et al. 2014).
    Guided,
    /// Zeiler & Fergus's projection of one unit.
    Deconvnet,
    /// Grad-CAM of a class at a node (Selvaraju et al. 2017).
    GradCam,
    /// Occlusion sensitivity: the class probability under a sliding grey square.
    Occlusion,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Gradient => "gradient",
            Method::Guided => "guided",
            Method::Deconvnet => "deconvnet",
            Method::GradCam => "gradcam",
            Method::Occlusion => "occlusion",
        }
    }
    /// The method called `name`, as the CLI spells it.
    pub fn parse(name: &str) -> Option<Method> {
        [
            Method::Gradient,
            Method::Guided,
            Method::Deconvnet,
            Method::GradCam,
            Method::Occlusion,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// The settings of one explanation; `None` takes the method's default.
#[derive(Clone, Debug, Default)]
pub struct ExplainRequest {
    /// Default: the top-1 class.
    pub class: Option<usize>,
    /// A node name (deconvnet and Grad-CAM need one; occlusion watches it).
    pub node: Option<String>,
    pub channel: Option<usize>,
    /// Deconvnet's unit position; default the channel's strongest activation.
    pub at: Option<(usize, usize)>,
    pub patch: Option<usize>,
    pub stride: Option<usize>,
}

/// An explanation: the map and what it is of.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub method: Method,
    /// What computed it: `webgpu`, `reference` (f64 CPU), or `cpu` (fast CPU engine) for
    /// occlusion.
    pub backend: &'static str,
    pub class: usize,
    pub class_name: String,
    pub node: Option<String>,
    pub unit: Option<Unit>,
    /// The map's shape: `[C, H, W]` at the input, `[h, w]` for Grad-CAM and occlusion.
    pub shape: Vec<usize>,
    #[serde(skip)]
    pub values: Vec<f32>,
    /// The preprocessed input the map explains.
    #[serde(skip)]
    pub input: Tensor,
}

impl Engine {
    /// Explain `image` (prepared as the model was trained) with `method`.
    pub async fn explain(
        &self,
        image: &image::DynamicImage,
        method: Method,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<Explanation, EngineError> {
        let model = self.model()?;
        if image.width() == 0 || image.height() == 0 {
            return Err(EngineError::EmptyImage);
        }
        let input = model.preprocess.apply(image);
        self.explain_input(input, method, request, pace).await
    }

    /// Explain a preprocessed input (`[C, H, W]`, as the model was trained), e.g. the page's
    /// last classified frame. The GPU path goes here, with the CPU below as its fallback.
    pub async fn explain_input(
        &self,
        input: Tensor,
        method: Method,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<Explanation, EngineError> {
        let model = self.model()?;
        self.explain_with(&model, input, method, request, pace)
            .await
    }

    /// [`Engine::explain_input`] on `model`, loaded or not (a checkpoint's weights): its GPU
    /// plan first, the CPU below as fallback.
    pub(super) async fn explain_with(
        &self,
        model: &Model,
        input: Tensor,
        method: Method,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<Explanation, EngineError> {
        if let Some(done) = self.explain_gpu(model, &input, method, request).await {
            return done;
        }
        self.explain_cpu(model, input, method, request, pace).await
    }

    async fn explain_cpu(
        &self,
        model: &Model,
        input: Tensor,
        method: Method,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<Explanation, EngineError> {
        let node = match &request.node {
            Some(name) => Some(Self::node_id(model, name)?),
            None => None,
        };
        if method == Method::Occlusion {
            return self.occlusion(model, input, node, request, pace).await;
        }
        let outputs = cpu_pass(&model.net, &model.weights, &input, pace).await?;
        let e = Explainer::from_outputs(&model.net, &model.weights, outputs);
        let class = request.class.unwrap_or_else(|| e.top_class());
        let needs_node = |m: Method| -> Result<NodeId, EngineError> {
            node.ok_or(EngineError::Explain(ExplainError::NodeNeeded {
                method: m.name(),
            }))
        };
        let (mut pass, unit) = Self::backward_for(&e, method, request, node, class)?;
        while pass.step().map_err(ExplainError::from)?.is_some() {
            pace.tick("passing back through the network", pass.progress())
                .await;
        }
        let (shape, values) = if method == Method::GradCam {
            let cam = e.grad_cam_from(&pass, needs_node(method)?, class);
            (
                vec![cam.h, cam.w],
                cam.map.iter().map(|&v| v as f32).collect(),
            )
        } else {
            let t = e.input_tensor(pass.grad(0));
            (t.shape, t.data)
        };
        Ok(Explanation {
            method,
            backend: "reference",
            class,
            class_name: self.name_of(&model.classes, class),
            node: node.map(|n| model.net.nodes[n].name.clone()),
            unit,
            shape,
            values,
            input: e.outputs()[0].clone(),
        })
    }

    /// The reference's backward pass `method` needs (checked: class, node, channel, unit),
    /// and the unit of a deconvnet projection; the GPU runs the same pass from its setup.
    pub(super) fn backward_for<'e>(
        e: &'e Explainer,
        method: Method,
        request: &ExplainRequest,
        node: Option<NodeId>,
        class: usize,
    ) -> Result<(Backward<'e>, Option<Unit>), EngineError> {
        let needs_node = |m: Method| -> Result<NodeId, EngineError> {
            node.ok_or(EngineError::Explain(ExplainError::NodeNeeded {
                method: m.name(),
            }))
        };
        Ok(match method {
            Method::Gradient | Method::Guided => {
                let mode = if method == Method::Guided {
                    Mode::Guided
                } else {
                    Mode::Gradient
                };
                (e.class_pass(class, mode)?, None)
            }
            Method::Deconvnet => {
                let channel = request
                    .channel
                    .ok_or(EngineError::Explain(ExplainError::ChannelNeeded))?;
                let unit = e.unit(needs_node(method)?, channel, request.at)?;
                (e.unit_pass(unit, Mode::Deconvnet)?, Some(unit))
            }
            Method::GradCam | Method::Occlusion => {
                (e.grad_cam_pass(needs_node(method)?, class)?, None)
            }
        })
    }

    async fn occlusion(
        &self,
        model: &Model,
        input: Tensor,
        node: Option<NodeId>,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<Explanation, EngineError> {
        let (maps, backend) = self
            .occlusion_maps(input.clone(), node, request, pace)
            .await?;
        Ok(Explanation {
            method: Method::Occlusion,
            backend,
            class: maps.class,
            class_name: self.name_of(&model.classes, maps.class),
            node: Some(model.net.nodes[maps.node].name.clone()),
            unit: None,
            shape: vec![maps.rows, maps.cols],
            values: maps.probability,
            input,
        })
    }

    /// The three maps of occlusion sensitivity (ZF Fig. 7) of a preprocessed input, and the
    /// backend that ran them: `webgpu` (batched, `occlusion_gpu.rs`) where the model has a GPU
    /// plan, else (or where the GPU fails) `cpu`, the fast CPU engine a position a step.
    pub async fn occlusion_maps(
        &self,
        input: Tensor,
        node: Option<NodeId>,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<(OcclusionMaps, &'static str), EngineError> {
        let model = self.model()?;
        let settings = OcclusionSettings {
            patch: request.patch,
            stride: request.stride,
            class: request.class,
            node,
            channel: request.channel,
        };
        if let (Some(ctx), Some(plan)) = (self.gpu_for(&model), model.plan.as_ref()) {
            match occlusion_on_gpu(&ctx, plan, &input, &settings, pace).await {
                Ok(maps) => return Ok((maps, "webgpu")),
                Err(EngineError::Gpu(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut occ = Occlusion::new(&model.net, &model.weights, &input, &settings)?;
        while occ.step()? {
            pace.tick("occluding", occ.progress()).await;
        }
        Ok((occ.run()?, "cpu"))
    }
}
