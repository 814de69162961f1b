//! Where each tile of a feature-map grid lies, and how its values map onto the colormap.

use crate::model::Shape;
use serde::Serialize;

/// Transparent pixels between neighbouring tiles.
pub const TILE_GAP: u32 = 3;

/// How values map onto the colormap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// Each tile maps its own channel's min..max.
    Channel,
    /// Every tile maps the layer's min..max.
    Layer,
}

/// Where each tile of the grid lies, in pixels of the target. Tile `slot` is at column
/// `slot % cols`, row `slot / cols`, its top-left at `(col * (tile_w + gap), row * (tile_h +
/// gap))`; pixel `(ix, iy)` inside it shows unit `(iy * h / tile_h, ix * w / tile_w)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TileLayout {
    /// The node's output shape.
    pub c: u32,
    pub h: u32,
    pub w: u32,
    /// Tiles drawn (channels listed in the draw's order).
    pub tiles: u32,
    pub cols: u32,
    pub rows: u32,
    pub tile_w: u32,
    pub tile_h: u32,
    pub gap: u32,
    /// Size of the whole grid.
    pub width: u32,
    pub height: u32,
}

impl TileLayout {
    /// `tiles` tiles of a `shape` node, the longer side of each `tile_px` pixels, as many
    /// columns as fit in `max_width` (at least one).
    pub fn new(shape: Shape, tiles: usize, tile_px: u32, max_width: u32) -> TileLayout {
        let (h, w) = (shape.h.max(1) as u32, shape.w.max(1) as u32);
        let side = tile_px.max(1);
        let scale = side as f64 / h.max(w) as f64;
        let tile_w = ((w as f64 * scale).round() as u32).max(1);
        let tile_h = ((h as f64 * scale).round() as u32).max(1);
        let tiles = tiles.max(1) as u32;
        let gap = TILE_GAP;
        let cols = ((max_width + gap) / (tile_w + gap)).clamp(1, tiles);
        let rows = tiles.div_ceil(cols);
        TileLayout {
            c: shape.c as u32,
            h,
            w,
            tiles,
            cols,
            rows,
            tile_w,
            tile_h,
            gap,
            width: cols * (tile_w + gap) - gap,
            height: rows * (tile_h + gap) - gap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fits_the_width_and_keeps_the_aspect() {
        let l = TileLayout::new(Shape::new(10, 7, 9), 10, 72, 300);
        assert_eq!((l.tile_w, l.tile_h), (72, 56));
        assert_eq!((l.cols, l.rows), (4, 3));
        assert_eq!((l.width, l.height), (4 * 75 - 3, 3 * 59 - 3));
        let one = TileLayout::new(Shape::new(1, 5, 5), 1, 320, 10);
        assert_eq!((one.cols, one.width, one.height), (1, 320, 320));
    }
}
