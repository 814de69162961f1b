//! The explanations as the page shows them, of the last classified input: a heat map over the
//! input (gradient, guided backprop, Grad-CAM, guided Grad-CAM), a unit's deconvnet projection
//! beside the input under its receptive field, and occlusion's three maps. Maps,
//! normalisation and colours are computed here (`explain::picture`); the page only paints the
//! bytes. Every method goes through the engine's entry points ([`Engine::explain_input`],
//! [`Engine::occlusion_maps`]): the GPU first where there is one, the CPU as fallback.

use super::explain::{ExplainRequest, Method};
use super::nodes::input_to_rgba;
use super::{Engine, EngineError, Model, Pace};
use crate::explain::picture::{
    class_colour, heat_rgba, is_constant, overlay, rgb_to_rgba, tensor_rgba, upsample_bilinear,
    Normalise, HOT_DESCRIPTION,
};
use crate::explain::{crop, score_node};
use crate::model::NodeId;
use crate::tensor::Tensor;
use serde::Serialize;

/// The heat maps the page draws over its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeatMethod {
    Gradient,
    Guided,
    GradCam,
    /// Guided backprop times the bilinearly upsampled Grad-CAM (Selvaraju et al. 2017, §3).
    GuidedGradCam,
}

impl HeatMethod {
    pub const ALL: [HeatMethod; 4] = [
        HeatMethod::Gradient,
        HeatMethod::Guided,
        HeatMethod::GradCam,
        HeatMethod::GuidedGradCam,
    ];
    pub fn name(self) -> &'static str {
        match self {
            HeatMethod::Gradient => "gradient",
            HeatMethod::Guided => "guided",
            HeatMethod::GradCam => "gradcam",
            HeatMethod::GuidedGradCam => "guided-gradcam",
        }
    }
    pub fn parse(name: &str) -> Option<HeatMethod> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The smallest and largest finite value of a map, and whether it is constant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MapRange {
    pub min: f32,
    pub max: f32,
    pub constant: bool,
}

impl MapRange {
    pub fn of(values: &[f32]) -> MapRange {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let min = finite.clone().fold(f32::INFINITY, f32::min);
        let max = finite.fold(f32::NEG_INFINITY, f32::max);
        let (min, max) = if min <= max { (min, max) } else { (0.0, 0.0) };
        MapRange {
            min,
            max,
            constant: is_constant(values),
        }
    }
}

/// A heat map over the input, ready to paint.
#[derive(Clone, Debug, Serialize)]
pub struct Heatmap {
    pub method: &'static str,
    /// What computed it (`reference`: the f64 CPU backward pass).
    pub backend: &'static str,
    pub class: usize,
    pub class_name: String,
    /// Grad-CAM's node.
    pub node: Option<String>,
    /// The map's shape: `[C, H, W]` at the input, `[h, w]` for Grad-CAM at its node.
    pub shape: Vec<usize>,
    pub range: MapRange,
    pub normalisation: &'static str,
    pub colormap: &'static str,
    /// How the map is drawn over the input.
    pub picture: &'static str,
    /// The picture's size, the network input's.
    pub height: usize,
    pub width: usize,
    #[serde(skip)]
    pub values: Vec<f32>,
    /// `height x width` RGBA.
    #[serde(skip)]
    pub rgba: Vec<u8>,
}

/// One unit's deconvnet projection beside the input under its receptive field.
#[derive(Clone, Debug, Serialize)]
pub struct UnitProjection {
    pub backend: &'static str,
    pub node: String,
    pub channel: usize,
    pub y: usize,
    pub x: usize,
    /// The receptive field's box in input pixels: top, left (may be negative), size.
    pub top: i64,
    pub left: i64,
    pub height: usize,
    pub width: usize,
    /// The whole projection's range (it is zero outside the box).
    pub range: MapRange,
    pub normalisation: &'static str,
    /// The projection at the input, `[C, H, W]`.
    #[serde(skip)]
    pub values: Vec<f32>,
    /// `height x width` RGBA: the input under the box (zero, the mean colour, outside it).
    #[serde(skip)]
    pub patch_rgba: Vec<u8>,
    /// `height x width` RGBA: the projection cut to the box.
    #[serde(skip)]
    pub projection_rgba: Vec<u8>,
}

/// A class that is the most probable somewhere on the occlusion grid, and its colour there.
#[derive(Clone, Debug, Serialize)]
pub struct ClassSwatch {
    pub class: usize,
    pub name: String,
    pub colour: [u8; 3],
    /// Positions where it is the most probable class.
    pub count: usize,
}

/// Occlusion's three maps (ZF Fig. 7), ready to paint at grid resolution.
#[derive(Clone, Debug, Serialize)]
pub struct OcclusionView {
    pub backend: &'static str,
    pub rows: usize,
    pub cols: usize,
    pub patch: usize,
    pub stride: usize,
    pub class: usize,
    pub class_name: String,
    pub node: String,
    pub channel: usize,
    pub unoccluded_probability: f32,
    pub unoccluded_activation: f32,
    pub probability_range: MapRange,
    pub activation_range: MapRange,
    /// Most frequent first.
    pub top_classes: Vec<ClassSwatch>,
    pub normalisation: &'static str,
    pub colormap: &'static str,
    #[serde(skip)]
    pub probability: Vec<f32>,
    #[serde(skip)]
    pub activation: Vec<f32>,
    #[serde(skip)]
    pub top_class: Vec<u32>,
    /// Each `rows x cols` RGBA, concatenated: probability, most probable class, activation.
    #[serde(skip)]
    pub rgba: Vec<u8>,
}

const OVERLAY_DESCRIPTION: &str = "the input in grey, half blended with the heat";
const CENTRED_DESCRIPTION: &str = "0 is mid-grey, max |v| the extremes (per colour channel)";

impl Engine {
    /// The last classified input, preprocessed.
    pub(crate) fn last_input(&self) -> Result<Tensor, EngineError> {
        self.run
            .borrow()
            .input
            .clone()
            .ok_or(EngineError::NothingRun)
    }

    /// The heat map `method` of class `class` (default the top-1) over the last classified
    /// input; Grad-CAM at `node` (default the last node with spatial extent before the scores).
    pub async fn heatmap(
        &self,
        method: HeatMethod,
        class: Option<usize>,
        node: Option<&str>,
        pace: &mut impl Pace,
    ) -> Result<Heatmap, EngineError> {
        let model = self.model()?;
        let input = self.last_input()?;
        let (h, w) = (input.shape[1], input.shape[2]);
        let node = match node {
            Some(name) => name.to_string(),
            None => model.net.nodes[default_cam_node(&model)].name.clone(),
        };
        let mut request = ExplainRequest {
            class,
            ..Default::default()
        };
        let explain = match method {
            HeatMethod::Gradient => Method::Gradient,
            HeatMethod::Guided => Method::Guided,
            HeatMethod::GradCam | HeatMethod::GuidedGradCam => {
                request.node = Some(node);
                Method::GradCam
            }
        };
        let first = self
            .explain_input(input.clone(), explain, &request, pace)
            .await?;
        let (shape, values, picture) = match method {
            HeatMethod::Gradient | HeatMethod::Guided => {
                (first.shape.clone(), first.values.clone(), first.values)
            }
            HeatMethod::GradCam => {
                let up = upsample_bilinear(&first.values, (first.shape[0], first.shape[1]), (h, w));
                (first.shape.clone(), first.values, up)
            }
            HeatMethod::GuidedGradCam => {
                let cam =
                    upsample_bilinear(&first.values, (first.shape[0], first.shape[1]), (h, w));
                request.class = Some(first.class);
                let guided = self
                    .explain_input(input.clone(), Method::Guided, &request, pace)
                    .await?;
                let values: Vec<f32> = guided
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, &g)| g * cam[i % (h * w)])
                    .collect();
                (guided.shape, values.clone(), values)
            }
        };
        let picture_shape = if shape.len() == 3 {
            shape.clone()
        } else {
            vec![h, w]
        };
        let rgba = rgb_to_rgba(&overlay(
            &input,
            &picture_shape,
            &picture,
            Normalise::Magnitude,
        ));
        Ok(Heatmap {
            method: method.name(),
            backend: first.backend,
            class: first.class,
            class_name: first.class_name,
            node: first.node,
            shape,
            range: MapRange::of(&values),
            normalisation: Normalise::Magnitude.describe(),
            colormap: HOT_DESCRIPTION,
            picture: OVERLAY_DESCRIPTION,
            height: h,
            width: w,
            values,
            rgba,
        })
    }

    /// The deconvnet projection of unit `(channel, y, x)` of `node` on the last classified
    /// input, and the input under the unit's receptive field.
    pub async fn project_unit(
        &self,
        node: &str,
        channel: usize,
        (y, x): (usize, usize),
        pace: &mut impl Pace,
    ) -> Result<UnitProjection, EngineError> {
        let input = self.last_input()?;
        let request = ExplainRequest {
            node: Some(node.into()),
            channel: Some(channel),
            at: Some((y, x)),
            ..Default::default()
        };
        let e = self
            .explain_input(input.clone(), Method::Deconvnet, &request, pace)
            .await?;
        let model = self.model()?;
        let (top, left, height, width) = unit_box(&model, Self::node_id(&model, node)?, y, x);
        let projection = Tensor::new(e.shape.clone(), e.values);
        let patch = crop(&input, top, left, height, width);
        Ok(UnitProjection {
            backend: e.backend,
            node: node.into(),
            channel,
            y,
            x,
            top,
            left,
            height,
            width,
            range: MapRange::of(&projection.data),
            normalisation: CENTRED_DESCRIPTION,
            patch_rgba: input_to_rgba(&model.preprocess, &patch),
            projection_rgba: tensor_rgba(&crop(&projection, top, left, height, width), true),
            values: projection.data,
        })
    }

    /// Occlusion sensitivity of the last classified input: the class (default the top-1)
    /// probability, the most probable class and the watched node's strongest channel's total
    /// activation (default node: the last with spatial extent before the scores) per position.
    pub async fn occlusion_view(
        &self,
        request: &ExplainRequest,
        pace: &mut impl Pace,
    ) -> Result<OcclusionView, EngineError> {
        let model = self.model()?;
        let input = self.last_input()?;
        let node = match &request.node {
            Some(name) => Some(Self::node_id(&model, name)?),
            None => None,
        };
        let (maps, backend) = self.occlusion_maps(input, node, request, pace).await?;
        let mut counts = std::collections::BTreeMap::new();
        for &c in &maps.top_class {
            *counts.entry(c).or_insert(0usize) += 1;
        }
        let mut top_classes: Vec<ClassSwatch> = counts
            .into_iter()
            .map(|(class, count)| ClassSwatch {
                class,
                name: self.name_of(&model.classes, class),
                colour: class_colour(class),
                count,
            })
            .collect();
        top_classes.sort_by(|a, b| b.count.cmp(&a.count).then(a.class.cmp(&b.class)));
        let mut rgba = heat_rgba(&maps.probability, Normalise::Range);
        rgba.extend(maps.top_class.iter().flat_map(|&c| {
            let [r, g, b] = class_colour(c);
            [r, g, b, 255]
        }));
        rgba.extend(heat_rgba(&maps.activation, Normalise::Range));
        Ok(OcclusionView {
            backend,
            rows: maps.rows,
            cols: maps.cols,
            patch: maps.patch,
            stride: maps.stride,
            class: maps.class,
            class_name: self.name_of(&model.classes, maps.class),
            node: model.net.nodes[maps.node].name.clone(),
            channel: maps.channel,
            unoccluded_probability: maps.unoccluded_probability,
            unoccluded_activation: maps.unoccluded_activation,
            probability_range: MapRange::of(&maps.probability),
            activation_range: MapRange::of(&maps.activation),
            top_classes,
            normalisation: Normalise::Range.describe(),
            colormap: HOT_DESCRIPTION,
            top_class: maps.top_class.iter().map(|&c| c as u32).collect(),
            probability: maps.probability,
            activation: maps.activation,
            rgba,
        })
    }
}

/// The last node with spatial extent before the class scores: Grad-CAM's and occlusion's
/// default node.
pub(crate) fn default_cam_node(model: &Model) -> NodeId {
    let (scores, _) = score_node(&model.net);
    (0..scores)
        .rev()
        .find(|&n| {
            let s = model.analysis.nodes[n].output_shape;
            s.h * s.w > 1
        })
        .unwrap_or(0)
}

/// Unit `(y, x)` of `node`'s receptive field in input pixels: top, left, height, width.
pub(crate) fn unit_box(
    model: &Model,
    node: NodeId,
    y: usize,
    x: usize,
) -> (i64, i64, usize, usize) {
    let f = model.analysis.nodes[node].receptive_field;
    (
        f.h.start + y as i64 * f.h.jump,
        f.w.start + x as i64 * f.w.jump,
        f.h.size as usize,
        f.w.size as usize,
    )
}
