//! Where each item of each rank goes across: under the mean of what feeds it, as close to
//! that as the items beside it allow (least squares with a minimum spacing, solved exactly by
//! pool-adjacent-violators), rank by rank from the input down.

use super::layers::{Item, Layers};

/// A box's width and height, and the spacing between items of a rank.
pub const BOX_W: f64 = 196.0;
pub const BOX_H: f64 = 40.0;
const GAP_BOXES: f64 = 24.0;
const GAP_BEND: f64 = 14.0;

fn width(item: Item) -> f64 {
    match item {
        Item::Box(_) => BOX_W,
        Item::Bend { .. } => 0.0,
    }
}

/// The positions closest to `wanted` (least squares) keeping neighbours `gaps[i]` apart
/// (`gaps[i]` between items `i - 1` and `i`; `gaps[0]` is ignored).
fn spread(wanted: &[f64], gaps: &[f64]) -> Vec<f64> {
    let mut offset = Vec::with_capacity(wanted.len());
    let mut c = 0.0;
    for (i, g) in gaps.iter().enumerate() {
        if i > 0 {
            c += g;
        }
        offset.push(c);
    }
    // Pool adjacent violators on wanted - offset, which must not decrease.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (w, o) in wanted.iter().zip(&offset) {
        blocks.push((w - o, 1));
        while blocks.len() > 1 {
            let (s1, n1) = blocks[blocks.len() - 1];
            let (s0, n0) = blocks[blocks.len() - 2];
            if s0 / n0 as f64 <= s1 / n1 as f64 {
                break;
            }
            blocks.pop();
            *blocks.last_mut().unwrap() = (s0 + s1, n0 + n1);
        }
    }
    let mut out = Vec::with_capacity(wanted.len());
    for (sum, n) in blocks {
        out.extend(std::iter::repeat_n(sum / n as f64, n));
    }
    out.iter().zip(&offset).map(|(z, o)| z + o).collect()
}

/// The centre x of every item of every rank.
pub fn centres(layers: &Layers) -> Vec<Vec<f64>> {
    let mut xs: Vec<Vec<f64>> = Vec::with_capacity(layers.ranks.len());
    for (r, items) in layers.ranks.iter().enumerate() {
        let wanted: Vec<f64> = items
            .iter()
            .map(|&item| {
                if r == 0 {
                    return 0.0;
                }
                let above: Vec<f64> = layers
                    .above_in(item, r)
                    .iter()
                    .filter_map(|a| layers.ranks[r - 1].iter().position(|p| p == a))
                    .map(|p| xs[r - 1][p])
                    .collect();
                if above.is_empty() {
                    0.0
                } else {
                    above.iter().sum::<f64>() / above.len() as f64
                }
            })
            .collect();
        let gaps: Vec<f64> = (0..items.len())
            .map(|i| {
                if i == 0 {
                    return 0.0;
                }
                let (a, b) = (items[i - 1], items[i]);
                let gap = if matches!((a, b), (Item::Box(_), Item::Box(_))) {
                    GAP_BOXES
                } else {
                    GAP_BEND
                };
                (width(a) + width(b)) / 2.0 + gap
            })
            .collect();
        xs.push(spread(&wanted, &gaps));
    }
    xs
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_keeps_the_gaps_and_centres_a_crowd_on_what_it_wants() {
        // Four items all wanting 0 with gaps of 10: -15, -5, 5, 15 (least squares).
        let x = spread(&[0.0; 4], &[0.0, 10.0, 10.0, 10.0]);
        assert_eq!(x, vec![-15.0, -5.0, 5.0, 15.0]);
        // Items far apart stay where they want to be.
        let x = spread(&[0.0, 100.0], &[0.0, 10.0]);
        assert_eq!(x, vec![0.0, 100.0]);
    }
}
