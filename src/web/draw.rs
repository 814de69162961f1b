//! Feature maps drawn on the page's canvas straight from the GPU buffer of the viewed node:
//! only each channel's range comes back (for the legend, the tiles' titles and sorting); the
//! values stay on the GPU. Used when the last pass ran on WebGPU and the node is a spatial map.

use super::{js_error, to_js, Session};
use crate::gpu::draw::{DrawSpec, Norm, TileLayout, TARGET_FORMAT};
use wasm_bindgen::prelude::*;
use wasm_bindgen::Clamped;

#[wasm_bindgen]
impl Session {
    /// Each channel's `[min, max, mean]` of `node` after the last pass (`3 c` numbers; after
    /// a WebGPU pass computed on the GPU, the only values read back), or `undefined` for a
    /// flat node (or one the GPU cannot draw): then the page reads it with `node_output`.
    pub async fn node_ranges(&self, node: String) -> Result<Option<Vec<f32>>, JsError> {
        let ranges = self.engine.node_ranges(&node).await.map_err(js_error)?;
        Ok(ranges.map(|r| r.into_iter().flatten().collect()))
    }

    /// Draw `node`'s tiles on `canvas`: after a WebGPU pass from its GPU buffer (a WebGPU
    /// canvas), after a CPU pass painted by the engine into a 2D canvas (one `putImageData`).
    /// Tile `i` shows channel `order[i]`, the longer side of a tile `tile_px` pixels, as many
    /// columns as fit in `max_width`; `norm` is `"channel"` or `"layer"`; `colormap` is 256 RGB
    /// triples, low to high. Sizes the canvas and returns the layout `{c, h, w, tiles, cols,
    /// rows, tile_w, tile_h, gap, width, height}` (see `gpu::draw::TileLayout`), from which the
    /// page maps a pointer to a channel and unit.
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
        let Some(node_view) = self.engine.gpu_node(&node).map_err(js_error)? else {
            return self.paint_node(&node, canvas, norm, &order, tile_px, max_width, &colormap);
        };
        let (ctx, shape) = (&node_view.ctx, node_view.shape);
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

    /// `draw_node` after a CPU pass: the engine paints the tiles, the page's 2D canvas shows them.
    #[allow(clippy::too_many_arguments)]
    fn paint_node(
        &self,
        node: &str,
        canvas: web_sys::HtmlCanvasElement,
        norm: Norm,
        order: &[u32],
        tile_px: u32,
        max_width: u32,
        colormap: &[[u8; 3]; 256],
    ) -> Result<JsValue, JsError> {
        let painted = self
            .engine
            .paint_node(node, norm, order, tile_px, max_width, colormap)
            .map_err(js_error)?;
        let Some((layout, rgba)) = painted else {
            return Err(JsError::new(&format!(
                "`{node}` is not a map: read it with node_output"
            )));
        };
        canvas.set_width(layout.width);
        canvas.set_height(layout.height);
        let context: web_sys::CanvasRenderingContext2d = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .ok_or_else(|| JsError::new("the canvas gave no 2D context to paint on"))?
            .unchecked_into();
        let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            Clamped(&rgba),
            layout.width,
            layout.height,
        )
        .map_err(|_| JsError::new("the painted tiles did not fit an ImageData"))?;
        context
            .put_image_data(&image, 0.0, 0.0)
            .map_err(|_| JsError::new("the canvas refused the painted tiles"))?;
        to_js(&layout)
    }
}
