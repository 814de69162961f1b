//! The network as a picture: a layered drawing of the graph, computed from the network
//! description, for the page to draw as SVG.
//!
//! Boxes sit in ranks (longest path from the input), branches side by side (Inception's four,
//! a residual block's main path beside its shortcut), each edge a polyline that bends where
//! it crosses a rank between its ends. Modules (dotted prefixes of the node names, see
//! [`groups`]) fold into one box carrying their in and out edges, or show unfolded as a frame
//! around their boxes.

mod groups;
mod layers;
mod place;

pub use groups::{default_folded, groups, Group, FOLD_ABOVE_NODES};
pub use place::{BOX_H, BOX_W};

use super::Analysis;
use crate::model::Network;
use layers::{Item, Layers, Unit};
use serde::Serialize;

/// Space around the drawing, between ranks, and around a frame's boxes (per nesting level).
const MARGIN: f64 = 16.0;
const RANK_GAP: f64 = 26.0;
const FRAME_TOP: f64 = 18.0;
const FRAME_TOP_LEVEL: f64 = 16.0;
const FRAME_SIDE: f64 = 8.0;
const FRAME_BOTTOM: f64 = 8.0;
const FRAME_LEVEL: f64 = 7.0;

/// One box: a node, or a folded group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiagramBox {
    /// The node's name, or the folded group's.
    pub id: String,
    /// Whether this is a folded group.
    pub folded: bool,
    /// The node selected when the box is picked: itself, or a group's last node.
    pub select: String,
    /// The node's kind, or `"group"`.
    pub kind: &'static str,
    /// `[c, h, w]` of the node, or of a group's last node.
    pub shape: [usize; 3],
    /// The node's MACs and parameters, or the sums over a group's nodes.
    pub macs: u64,
    pub params: u64,
    /// A folded group's nodes, in order (empty for a node).
    pub members: Vec<String>,
    /// Top-left corner, width and height.
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// One edge, from box `from` to box `to`, as a polyline from the bottom of one to the top of
/// the other.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiagramEdge {
    pub from: String,
    pub to: String,
    pub points: Vec<[f64; 2]>,
}

/// An unfolded group drawn as a frame around its boxes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Frame {
    pub name: String,
    /// How many unfolded groups it holds, nested (0 for none).
    pub level: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// The whole drawing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagram {
    pub model: String,
    pub boxes: Vec<DiagramBox>,
    pub edges: Vec<DiagramEdge>,
    pub frames: Vec<Frame>,
    /// Every group, outer before inner.
    pub groups: Vec<String>,
    /// The groups folded in this drawing.
    pub folded: Vec<String>,
    pub width: f64,
    pub height: f64,
}

/// Draw `net` (whose analysis is `analysis`) with the groups named in `folded` folded
/// (unknown names are ignored).
pub fn diagram(net: &Network, analysis: &Analysis, folded: &[String]) -> Diagram {
    let groups = groups::groups(net);
    let is_folded: Vec<bool> = groups.iter().map(|g| folded.contains(&g.name)).collect();
    let layers = Layers::new(net, &groups, &is_folded);
    let xs = place::centres(&layers);
    let frames = frames(&layers, &groups, &is_folded);
    let ys = rank_tops(&layers, &frames);
    let mut x_of = vec![0.0; layers.units.len()];
    for (items, row) in layers.ranks.iter().zip(&xs) {
        for (item, &x) in items.iter().zip(row) {
            if let Item::Box(u) = item {
                x_of[*u] = x;
            }
        }
    }
    let left = frames
        .iter()
        .map(|f| {
            f.members
                .iter()
                .map(|&u| x_of[u] - BOX_W / 2.0 - f.side)
                .fold(f64::INFINITY, f64::min)
        })
        .chain(xs.iter().flatten().map(|x| x - BOX_W / 2.0))
        .fold(f64::INFINITY, f64::min);
    let shift = MARGIN - left;
    let boxes: Vec<DiagramBox> = (0..layers.units.len())
        .map(|u| {
            unit_box(
                net,
                analysis,
                &groups,
                layers.units[u],
                x_of[u] + shift - BOX_W / 2.0,
                ys[layers.rank[u]],
            )
        })
        .collect();
    let edges = edge_lines(&layers, &boxes, &xs, &ys, shift);
    let frames: Vec<Frame> = frames
        .iter()
        .map(|f| f.frame(&boxes, &layers, &ys))
        .collect();
    let width = boxes
        .iter()
        .map(|b| b.x + b.w)
        .chain(frames.iter().map(|f| f.x + f.w))
        .fold(0.0, f64::max)
        + MARGIN;
    let height = boxes
        .iter()
        .map(|b| b.y + b.h)
        .chain(frames.iter().map(|f| f.y + f.h))
        .fold(0.0, f64::max)
        + MARGIN;
    Diagram {
        model: net.name.clone(),
        boxes,
        edges,
        frames,
        groups: groups.iter().map(|g| g.name.clone()).collect(),
        folded: groups
            .iter()
            .zip(&is_folded)
            .filter(|(_, &f)| f)
            .map(|(g, _)| g.name.clone())
            .collect(),
        width,
        height,
    }
}

fn unit_box(
    net: &Network,
    analysis: &Analysis,
    groups: &[Group],
    unit: Unit,
    x: f64,
    y: f64,
) -> DiagramBox {
    let (id, folded, kind, nodes) = match unit {
        Unit::Node(n) => (
            net.nodes[n].name.clone(),
            false,
            analysis.nodes[n].kind,
            vec![n],
        ),
        Unit::Group(g) => (
            groups[g].name.clone(),
            true,
            "group",
            groups[g].nodes.clone(),
        ),
    };
    let last = &analysis.nodes[*nodes.last().expect("a unit has a node")];
    let s = last.output_shape;
    DiagramBox {
        id,
        folded,
        select: last.name.clone(),
        kind,
        shape: [s.c, s.h, s.w],
        macs: nodes.iter().map(|&n| analysis.nodes[n].macs).sum(),
        params: nodes.iter().map(|&n| analysis.nodes[n].params).sum(),
        members: if folded {
            nodes.iter().map(|&n| net.nodes[n].name.clone()).collect()
        } else {
            Vec::new()
        },
        x,
        y,
        w: BOX_W,
        h: BOX_H,
    }
}

/// An unfolded group being laid out: its boxes and its padding.
struct Framing {
    name: String,
    level: usize,
    members: Vec<usize>,
    top: f64,
    side: f64,
    bottom: f64,
}

impl Framing {
    fn ranks(&self, layers: &Layers) -> (usize, usize) {
        let r = self.members.iter().map(|&u| layers.rank[u]);
        (r.clone().min().unwrap_or(0), r.max().unwrap_or(0))
    }

    fn frame(&self, boxes: &[DiagramBox], layers: &Layers, ys: &[f64]) -> Frame {
        let (first, last) = self.ranks(layers);
        let lo = self
            .members
            .iter()
            .map(|&u| boxes[u].x)
            .fold(f64::INFINITY, f64::min)
            - self.side;
        let hi = self
            .members
            .iter()
            .map(|&u| boxes[u].x + BOX_W)
            .fold(f64::NEG_INFINITY, f64::max)
            + self.side;
        let top = ys[first] - self.top;
        Frame {
            name: self.name.clone(),
            level: self.level,
            x: lo,
            y: top,
            w: hi - lo,
            h: ys[last] + BOX_H + self.bottom - top,
        }
    }
}

/// The unfolded groups not inside a folded one, each with its boxes and nesting level.
fn frames(layers: &Layers, groups: &[Group], folded: &[bool]) -> Vec<Framing> {
    let visible: Vec<bool> = (0..groups.len())
        .map(|g| {
            let mut at = Some(g);
            while let Some(a) = at {
                if folded[a] {
                    return false;
                }
                at = groups[a].parent;
            }
            true
        })
        .collect();
    let mut level = vec![0; groups.len()];
    for g in (0..groups.len()).rev() {
        if let (true, Some(p)) = (visible[g], groups[g].parent) {
            level[p] = level[p].max(level[g] + 1);
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (u, unit) in layers.units.iter().enumerate() {
        let node = match *unit {
            Unit::Node(n) => n,
            Unit::Group(g) => groups[g].nodes[0],
        };
        for (g, group) in groups.iter().enumerate() {
            if visible[g] && group.nodes.binary_search(&node).is_ok() && !members[g].contains(&u) {
                members[g].push(u);
            }
        }
    }
    members
        .into_iter()
        .enumerate()
        .filter(|(g, m)| visible[*g] && !m.is_empty())
        .map(|(g, members)| Framing {
            name: groups[g].name.clone(),
            level: level[g],
            members,
            top: FRAME_TOP + FRAME_TOP_LEVEL * level[g] as f64,
            side: FRAME_SIDE + FRAME_LEVEL * level[g] as f64,
            bottom: FRAME_BOTTOM + FRAME_LEVEL * level[g] as f64,
        })
        .collect()
}

/// The top of each rank's boxes: ranks apart by the gap, plus room for the frames that
/// end above and start below.
fn rank_tops(layers: &Layers, frames: &[Framing]) -> Vec<f64> {
    let n = layers.ranks.len();
    let (mut starts, mut ends) = (vec![0.0f64; n], vec![0.0f64; n]);
    for f in frames {
        let (first, last) = f.ranks(layers);
        starts[first] = starts[first].max(f.top);
        ends[last] = ends[last].max(f.bottom);
    }
    let mut ys = Vec::with_capacity(n);
    let mut y = MARGIN + starts.first().copied().unwrap_or(0.0);
    for (r, end) in ends.iter().enumerate() {
        ys.push(y);
        y += BOX_H + RANK_GAP + end + starts.get(r + 1).copied().unwrap_or(0.0);
    }
    ys
}

/// Each edge from the bottom centre of its source through its bends to the top centre of
/// its target.
fn edge_lines(
    layers: &Layers,
    boxes: &[DiagramBox],
    xs: &[Vec<f64>],
    ys: &[f64],
    shift: f64,
) -> Vec<DiagramEdge> {
    layers
        .edges
        .iter()
        .enumerate()
        .map(|(e, &(a, b))| {
            let (from, to) = (&boxes[a], &boxes[b]);
            let mut points = vec![[from.x + from.w / 2.0, from.y + from.h]];
            for r in layers.rank[a] + 1..layers.rank[b] {
                let at = layers.ranks[r]
                    .iter()
                    .position(|&i| i == Item::Bend { edge: e })
                    .expect("a long edge bends in every rank it crosses");
                let x = xs[r][at] + shift;
                points.push([x, ys[r]]);
                points.push([x, ys[r] + BOX_H]);
            }
            points.push([to.x + to.w / 2.0, to.y]);
            DiagramEdge {
                from: from.id.clone(),
                to: to.id.clone(),
                points,
            }
        })
        .collect()
}
