//! Feature maps drawn on the page's canvas straight from the GPU buffer of the viewed node:
//! only each channel's range comes back (for the legend, the tiles' titles and sorting); the
//! values stay on the GPU. Used when the last pass ran on WebGPU and the node is a spatial map.

use super::{js_error, to_js, Session};
use crate::gpu::draw::{DrawSpec, Norm, TileLayout, TARGET_FORMAT};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Each channel's `[min, max, mean]` of `node` after the last pass, computed on the GPU
    /// (`3 c` numbers, the only values read back), or `undefined` when the GPU cannot draw
    /// this node (a CPU pass, or a flat node): then the page reads it with `node_output`.
    pub async fn node_ranges(&self, node: String) -> Result<Option<Vec<f32>>, JsError> {
        let ranges = self.engine.node_ranges(&node).await.map_err(js_error)?;
        Ok(ranges.map(|r| r.into_iter().flatten().collect()))
    }

    /// Draw `node`'s tiles on `canvas` (WebGPU) from its GPU buffer: tile `i` shows channel
    /// `order[i]`, the longer side of a tile `tile_px` pixels, as many columns as fit in
    /// `max_width`; `norm` is `"channel"` or `"layer"`; `colormap` is 256 RGB triples, low
    /// to high. Sizes the canvas and returns the layout `{c, h, w, tiles, cols, rows, tile_w,
    /// tile_h, gap, width, height}` (see `gpu::draw::TileLayout`), from which the page maps a
    /// pointer to a channel and unit.
    #[allow(clippy::too_many_arguments)]
    pub fn draw_node(
        &self,
        node: String,
        canvas: web_sys::HtmlCanvasElement,
        norm: String,
        order: Vec<u32>,
        tile_px: u32,
        max_width: u32,
        colormap: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let Some(node_view) = self.engine.gpu_node(&node).map_err(js_error)? else {
            return Err(JsError::new(&format!(
                "`{node}` cannot be drawn on the GPU: read it with node_output"
            )));
        };
        let (ctx, shape) = (&node_view.ctx, node_view.shape);
        let norm = match norm.as_str() {
            "channel" => Norm::Channel,
            "layer" => Norm::Layer,
            other => {
                return Err(JsError::new(&format!(
                    "normalisation `{other}` is neither `channel` nor `layer`"
                )))
            }
        };
        let colormap: [[u8; 3]; 256] = colormap
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| {
                JsError::new(&format!(
                    "the colormap has {} bytes, not 256 RGB triples (768)",
                    colormap.len()
                ))
            })?;
        if order.is_empty() || order.iter().any(|&ch| ch as usize >= shape.c) {
            return Err(JsError::new(&format!(
                "the tile order must list channels of `{node}` (0..{})",
                shape.c
            )));
        }
        let layout = TileLayout::new(shape, order.len(), tile_px, max_width);
        let limit = ctx.limits.max_texture_dimension_2d;
        if layout.width > limit || layout.height > limit {
            return Err(JsError::new(&format!(
                "{} tiles need a {}x{} canvas, over this GPU's {limit} pixels",
                layout.tiles, layout.width, layout.height
            )));
        }
        let instance = ctx
            .instance
            .as_ref()
            .ok_or_else(|| JsError::new("this GPU context has no instance to draw with"))?;
        let surface = instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas))
            .map_err(|e| JsError::new(&format!("the canvas refused WebGPU: {e}")))?;
        surface.configure(
            &ctx.device,
            &wgpu::SurfaceConfiguration {
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                format: TARGET_FORMAT,
                color_space: wgpu::SurfaceColorSpace::Auto,
                width: layout.width,
                height: layout.height,
                present_mode: wgpu::PresentMode::Fifo,
                desired_maximum_frame_latency: 2,
                alpha_mode: wgpu::CompositeAlphaMode::PreMultiplied,
                view_formats: vec![],
            },
        );
        let frame = match surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            _ => return Err(JsError::new("the canvas gave no texture to draw on")),
        };
        let view = frame
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        let spec = DrawSpec {
            layout,
            norm,
            order: &order,
            colormap: &colormap,
        };
        node_view
            .drawer
            .draw(ctx, node_view.buffer(), shape, &view, &spec);
        ctx.queue.present(frame);
        to_js(&layout)
    }
}
