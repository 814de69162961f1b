//! From the graph to layers: which box each node falls in (itself, or the outermost folded
//! group holding it), the boxes' edges, their ranks (longest path from the input), the
//! points where long edges cross the ranks between their ends, and an order within each
//! rank (by the mean position of what feeds each item, the graph's order breaking ties).

use super::groups::Group;
use crate::model::{Network, NodeId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What a box shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Node(NodeId),
    /// A folded group (index into the groups).
    Group(usize),
}

/// An item of a rank: a box, or the point where edge `edge` crosses this rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Box(usize),
    Bend { edge: usize },
}

pub struct Layers {
    pub units: Vec<Unit>,
    /// The unit of each node.
    pub unit_of: Vec<usize>,
    /// Edges between units, each once, in the graph's order.
    pub edges: Vec<(usize, usize)>,
    pub rank: Vec<usize>,
    /// Items of each rank, in order.
    pub ranks: Vec<Vec<Item>>,
}

/// The unit of every node when the groups marked in `folded` are folded.
fn units(net: &Network, groups: &[Group], folded: &[bool]) -> (Vec<Unit>, Vec<usize>) {
    let mut innermost: Vec<Option<usize>> = vec![None; net.nodes.len()];
    for (g, group) in groups.iter().enumerate() {
        for &id in &group.nodes {
            innermost[id] = Some(g);
        }
    }
    let mut units = Vec::new();
    let mut unit_of = Vec::with_capacity(net.nodes.len());
    let mut group_unit: Vec<Option<usize>> = vec![None; groups.len()];
    for (id, &inner) in innermost.iter().enumerate() {
        let mut outer = None;
        let mut at = inner;
        while let Some(g) = at {
            if folded[g] {
                outer = Some(g);
            }
            at = groups[g].parent;
        }
        let unit = match outer {
            Some(g) => *group_unit[g].get_or_insert_with(|| {
                units.push(Unit::Group(g));
                units.len() - 1
            }),
            None => {
                units.push(Unit::Node(id));
                units.len() - 1
            }
        };
        unit_of.push(unit);
    }
    (units, unit_of)
}

/// Units in an order where every edge goes forwards (the groups are convex), earliest first.
fn topological(count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indegree = vec![0; count];
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(a, b) in edges {
        indegree[b] += 1;
        next[a].push(b);
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..count)
        .filter(|&u| indegree[u] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(count);
    while let Some(Reverse(u)) = ready.pop() {
        order.push(u);
        for &v in &next[u] {
            indegree[v] -= 1;
            if indegree[v] == 0 {
                ready.push(Reverse(v));
            }
        }
    }
    order
}

impl Layers {
    pub fn new(net: &Network, groups: &[Group], folded: &[bool]) -> Layers {
        let (units, unit_of) = units(net, groups, folded);
        let mut edges = Vec::new();
        for (id, node) in net.nodes.iter().enumerate() {
            for &i in &node.inputs {
                let e = (unit_of[i], unit_of[id]);
                if e.0 != e.1 && !edges.contains(&e) {
                    edges.push(e);
                }
            }
        }
        let mut rank = vec![0; units.len()];
        for u in topological(units.len(), &edges) {
            for &(a, b) in edges.iter().filter(|e| e.0 == u) {
                rank[b] = rank[b].max(rank[a] + 1);
            }
        }
        let depth = rank.iter().max().map_or(0, |r| r + 1);
        let mut ranks: Vec<Vec<Item>> = vec![Vec::new(); depth];
        for (u, &r) in rank.iter().enumerate() {
            ranks[r].push(Item::Box(u));
        }
        for (e, &(a, b)) in edges.iter().enumerate() {
            for items in &mut ranks[rank[a] + 1..rank[b]] {
                items.push(Item::Bend { edge: e });
            }
        }
        let mut layers = Layers {
            units,
            unit_of,
            edges,
            rank,
            ranks,
        };
        layers.order();
        layers
    }

    /// A sort key that keeps the graph's order among equals: the unit's first node, and
    /// for a bend its edge's source then target.
    fn key(&self, item: Item, first_node: &[usize]) -> (usize, usize, usize) {
        match item {
            Item::Box(u) => (0, first_node[u], 0),
            Item::Bend { edge } => (
                1,
                first_node[self.edges[edge].0],
                first_node[self.edges[edge].1],
            ),
        }
    }

    /// Order each rank by the mean position of the items above that feed it.
    fn order(&mut self) {
        let mut first_node = vec![usize::MAX; self.units.len()];
        for (id, &u) in self.unit_of.iter().enumerate() {
            first_node[u] = first_node[u].min(id);
        }
        for r in 0..self.ranks.len() {
            let items = std::mem::take(&mut self.ranks[r]);
            let mut keyed: Vec<(f64, (usize, usize, usize), Item)> = items
                .into_iter()
                .map(|item| (self.mean_above(item, r), self.key(item, &first_node), item))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            self.ranks[r] = keyed.into_iter().map(|k| k.2).collect();
        }
    }

    /// The mean position, in rank `r - 1` (already ordered), of the items feeding `item`.
    fn mean_above(&self, item: Item, r: usize) -> f64 {
        if r == 0 {
            return 0.0;
        }
        let at: Vec<f64> = self
            .above_in(item, r)
            .iter()
            .filter_map(|a| self.ranks[r - 1].iter().position(|p| p == a))
            .map(|p| p as f64)
            .collect();
        if at.is_empty() {
            0.0
        } else {
            at.iter().sum::<f64>() / at.len() as f64
        }
    }

    /// Whether edge `e` crosses ranks between its ends (and so bends there).
    pub fn long(&self, e: usize) -> bool {
        let (a, b) = self.edges[e];
        self.rank[b] > self.rank[a] + 1
    }

    /// The items in rank `r - 1` joined to `item` of rank `r`.
    pub fn above_in(&self, item: Item, r: usize) -> Vec<Item> {
        match item {
            Item::Box(u) => self
                .edges
                .iter()
                .enumerate()
                .filter(|(_, e)| e.1 == u)
                .map(|(e, &(a, _))| {
                    if !self.long(e) {
                        Item::Box(a)
                    } else {
                        Item::Bend { edge: e }
                    }
                })
                .collect(),
            Item::Bend { edge } => {
                let a = self.edges[edge].0;
                vec![if self.rank[a] + 1 == r {
                    Item::Box(a)
                } else {
                    Item::Bend { edge }
                }]
            }
        }
    }
}
