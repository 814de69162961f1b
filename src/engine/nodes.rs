//! Reading the loaded model after a pass: the per-node summary, any node's output (only that
//! node is read back from the GPU), each channel's range (computed on the GPU after a GPU
//! pass), a node's feature maps painted as RGBA tiles after a CPU pass, a unit's receptive
//! field, and the input as the network saw it.

use super::report::{node_summaries, Summary};
use super::{Engine, EngineError, Model, Ran};
use crate::analysis::FLOPS_PER_MAC;
use crate::gpu::draw::{self, FeatureMapDrawer, Norm, TileLayout};
use crate::gpu::GpuContext;
use crate::model::{NodeId, Shape};
use crate::preprocess::Preprocess;
use crate::tensor::Tensor;
use std::rc::Rc;

/// A node whose output is in a GPU buffer after the last pass, ready to be drawn.
pub struct GpuNode {
    pub ctx: Rc<GpuContext>,
    model: Rc<Model>,
    pub id: NodeId,
    pub shape: Shape,
    pub drawer: Rc<FeatureMapDrawer>,
}

impl GpuNode {
    /// The node's output buffer (`[c, h, w]` f32).
    pub fn buffer(&self) -> &wgpu::Buffer {
        let plan = self.model.plan.as_ref().expect("gpu_node checked the plan");
        plan.buffer(self.id)
    }
}

impl Engine {
    /// Per node: shape, params, MACs, FLOPs, receptive field, and GPU ms of the last pass.
    pub fn summary<T>(&self, with: impl FnOnce(&Summary) -> T) -> Result<T, EngineError> {
        let model = self.model()?;
        let run = self.run.borrow();
        let times = run.gpu_ms.as_ref();
        let fused = |id| {
            model
                .plan
                .as_ref()
                .filter(|_| times.is_some())
                .and_then(|p| p.fused_into(id))
        };
        let nodes = node_summaries(&model.analysis, times, fused);
        let input = model.analysis.input;
        Ok(with(&Summary {
            model: &model.net.name,
            input: [input.c, input.h, input.w],
            backend: self.backend_of(&model),
            trained: model.trained,
            flops_per_mac: FLOPS_PER_MAC,
            nodes,
            totals: &model.analysis.totals,
            gpu_total_ms: times.map(|t| t.iter().sum()),
        }))
    }

    /// Node `node`'s output after the last pass, `[c, h, w]` channel-major. On the GPU only
    /// this node is read back.
    pub async fn node_output(&self, node: &str) -> Result<Tensor, EngineError> {
        self.check_device()?;
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        match &self.run.borrow().ran {
            None => return Err(EngineError::NothingRun),
            Some(Ran::Reference(outputs)) => return Ok(outputs[id].clone()),
            Some(Ran::Fast) => {
                let fast = model.fast.borrow();
                let plan = fast.as_ref().ok_or(EngineError::NothingRun)?;
                return Ok(plan.read(id)?);
            }
            Some(Ran::Gpu) => {}
        }
        let ctx = self.gpu_for(&model).ok_or(EngineError::NothingRun)?;
        let plan = model.plan.as_ref().expect("gpu_for checked the plan");
        let t = plan.read(&ctx, id).await?;
        self.run.borrow_mut().gpu_reads.push(node.into());
        Ok(t)
    }

    /// The node `node` on the GPU, when the GPU can draw it: the last pass ran on the GPU
    /// (its outputs are in the plan's buffers) and the node is a map (flat nodes are read
    /// back). A node absorbed by a fused kernel is computed on its own first.
    pub fn gpu_node(&self, node: &str) -> Result<Option<GpuNode>, EngineError> {
        self.check_device()?;
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        let run = self.run.borrow();
        if run.input.is_none() {
            return Err(EngineError::NothingRun);
        }
        let on_gpu = matches!(run.ran, Some(Ran::Gpu));
        let Some(ctx) = self.gpu_for(&model).filter(|_| on_gpu) else {
            return Ok(None);
        };
        let plan = model.plan.as_ref().expect("gpu_for checked the plan");
        let shape = plan.shapes[id];
        if shape.h * shape.w <= 1 {
            return Ok(None);
        }
        plan.materialize(&ctx, &[id]);
        let drawer = self
            .drawer
            .borrow_mut()
            .get_or_insert_with(|| Rc::new(FeatureMapDrawer::new(&ctx.device)))
            .clone();
        Ok(Some(GpuNode {
            ctx,
            model,
            id,
            shape,
            drawer,
        }))
    }

    /// Each channel's `[min, max, mean]` of `node` after the last pass, or `None` for a flat
    /// node (or one the GPU cannot draw): after a GPU pass computed on the GPU (the only
    /// values read back), after a CPU pass from the node's values.
    pub async fn node_ranges(&self, node: &str) -> Result<Option<Vec<[f32; 3]>>, EngineError> {
        let Some(view) = self.gpu_node(node)? else {
            return self.with_cpu_map(node, |t, _| draw::ranges(t));
        };
        let ranges = view
            .drawer
            .ranges(&view.ctx, view.buffer(), view.shape)
            .await?;
        self.run
            .borrow_mut()
            .gpu_reads
            .push(format!("{node} (channel ranges)"));
        Ok(Some(ranges))
    }

    /// After a CPU pass, `node`'s tiles painted on the CPU (`gpu::draw::draw_tiles`, the GPU
    /// drawing's twin): the layout and its RGBA pixels, tile `i` showing channel `order[i]`,
    /// the longer side of a tile `tile_px` pixels, as many columns as fit in `max_width`.
    /// `None` after a GPU pass (the GPU draws) or for a flat node.
    pub fn paint_node(
        &self,
        node: &str,
        norm: Norm,
        order: &[u32],
        tile_px: u32,
        max_width: u32,
        colormap: &[[u8; 3]; 256],
    ) -> Result<Option<(TileLayout, Vec<u8>)>, EngineError> {
        let painted = self.with_cpu_map(node, |t, shape| {
            if order.is_empty() || order.iter().any(|&ch| ch as usize >= shape.c) {
                return Err(EngineError::TileOrder {
                    node: node.into(),
                    channels: shape.c,
                });
            }
            let layout = TileLayout::new(shape, order.len(), tile_px, max_width);
            Ok((layout, draw::draw_tiles(t, &layout, norm, order, colormap)))
        })?;
        painted.transpose()
    }

    /// `f` of `node`'s output (and its shape) after a CPU pass (fast engine or reference), when the node is
    /// a map; `None` after a GPU pass or for a flat node.
    fn with_cpu_map<T>(
        &self,
        node: &str,
        f: impl FnOnce(&Tensor, Shape) -> T,
    ) -> Result<Option<T>, EngineError> {
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        let shape = model.analysis.nodes[id].output_shape;
        let mut run = self.run.borrow_mut();
        let run = &mut *run;
        let tensor = match &run.ran {
            None => return Err(EngineError::NothingRun),
            Some(Ran::Gpu) => return Ok(None),
            _ if shape.h * shape.w <= 1 => return Ok(None),
            Some(Ran::Reference(outputs)) => &outputs[id],
            Some(Ran::Fast) => {
                if !matches!(run.painted, Some((read, _)) if read == id) {
                    let fast = model.fast.borrow();
                    let plan = fast.as_ref().ok_or(EngineError::NothingRun)?;
                    run.painted = Some((id, plan.read(id)?));
                }
                &run.painted.as_ref().expect("read above").1
            }
        };
        Ok(Some(f(tensor, shape)))
    }

    /// The input pixels `[y0, x0, y1, x1]` (inclusive, clipped to the input) that unit
    /// `(y, x)` of `node` can see, from the analysis (right for branching networks).
    pub fn receptive_field_box(
        &self,
        node: &str,
        y: usize,
        x: usize,
    ) -> Result<[usize; 4], EngineError> {
        let model = self.model()?;
        let stats = &model.analysis.nodes[Self::node_id(&model, node)?];
        let s = stats.output_shape;
        if y >= s.h || x >= s.w {
            return Err(EngineError::OutsideMap {
                node: node.into(),
                y,
                x,
                h: s.h,
                w: s.w,
            });
        }
        let input = model.analysis.input;
        let f = stats.receptive_field;
        let (y0, y1) = f.h.clipped(y, input.h);
        let (x0, x1) = f.w.clipped(x, input.w);
        Ok([y0, x0, y1, x1])
    }

    /// The last input as the network saw it (resized, cropped, normalisation undone), as
    /// RGBA bytes of the network's input size.
    pub fn input_rgba(&self) -> Result<Vec<u8>, EngineError> {
        let model = self.model()?;
        let run = self.run.borrow();
        let input = run.input.as_ref().ok_or(EngineError::NothingRun)?;
        Ok(input_to_rgba(&model.preprocess, input))
    }
}

/// A network input (or a box of one, `[C, h, w]`) shown as an image: normalisation undone.
pub(crate) fn input_to_rgba(preprocess: &Preprocess, input: &Tensor) -> Vec<u8> {
    let (c, n) = (input.shape[0], input.shape[1] * input.shape[2]);
    let value = |rgb: usize, i: usize| -> f32 {
        match *preprocess {
            Preprocess::Imagenet { mean, std, bgr, .. } => {
                let ch = if bgr { 2 - rgb } else { rgb };
                input.data[ch.min(c - 1) * n + i] * std[ch] + mean[ch]
            }
            Preprocess::Grayscale { .. } => input.data[rgb.min(c - 1) * n + i] * 255.0,
        }
    };
    let mut rgba = Vec::with_capacity(4 * n);
    for i in 0..n {
        for ch in 0..3 {
            rgba.push(value(ch, i).round().clamp(0.0, 255.0) as u8);
        }
        rgba.push(255);
    }
    rgba
}
