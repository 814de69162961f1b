//! The modules a network's nodes belong to, which the diagram folds and unfolds.
//!
//! Node names are torchvision's module paths (`layer1.0.conv1` is `conv1` of block `0` of
//! stage `layer1`), so every dotted prefix shared by two or more nodes names a module:
//! `layer1`, `layer1.0`, `layer1.0.downsample`, `inception3a`, `_blocks.3`. A prefix is a
//! group only if it is convex (no path leaves it and comes back), so folding it into one box
//! keeps the graph acyclic, and if no node has the same name.

use crate::model::{Network, NodeId};
use std::collections::BTreeMap;

/// One foldable module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The shared prefix (`layer1.0`).
    pub name: String,
    /// Its nodes, ascending.
    pub nodes: Vec<NodeId>,
    /// The smallest enclosing group, as an index into the list.
    pub parent: Option<usize>,
}

/// Whether no path leaves `members` and comes back into it.
fn convex(net: &Network, members: &[bool]) -> bool {
    let n = net.nodes.len();
    // Nodes are in topological order: reach forwards in one sweep, backwards in another.
    let mut below = vec![false; n];
    for (id, node) in net.nodes.iter().enumerate() {
        below[id] = !members[id] && node.inputs.iter().any(|&i| members[i] || below[i]);
    }
    let mut above = vec![false; n];
    for id in (0..n).rev() {
        if members[id] || above[id] {
            for &i in &net.nodes[id].inputs {
                above[i] = true;
            }
        }
    }
    (0..n).all(|id| members[id] || !(below[id] && above[id]))
}

/// Every group of `net`, outer groups before the groups inside them.
pub fn groups(net: &Network) -> Vec<Group> {
    let mut by_prefix: BTreeMap<&str, Vec<NodeId>> = BTreeMap::new();
    for (id, node) in net.nodes.iter().enumerate() {
        for (at, _) in node.name.match_indices('.') {
            by_prefix.entry(&node.name[..at]).or_default().push(id);
        }
    }
    let mut out: Vec<Group> = Vec::new();
    // BTreeMap order puts `layer1` before `layer1.0`: parents first.
    for (prefix, nodes) in by_prefix {
        if nodes.len() < 2 || net.find(prefix).is_some() {
            continue;
        }
        let mut members = vec![false; net.nodes.len()];
        for &id in &nodes {
            members[id] = true;
        }
        if !convex(net, &members) {
            continue;
        }
        let parent = out
            .iter()
            .enumerate()
            .filter(|(_, g)| prefix.starts_with(&format!("{}.", g.name)))
            .max_by_key(|(_, g)| g.name.len())
            .map(|(i, _)| i);
        out.push(Group {
            name: prefix.to_string(),
            nodes,
            parent,
        });
    }
    out
}

/// Above this many nodes the diagram starts with every group folded.
pub const FOLD_ABOVE_NODES: usize = 60;

/// The groups folded when a network is first drawn: all of them for a big network (so its
/// stages show as boxes, and unfolding a stage shows its folded blocks), none for a small one.
pub fn default_folded(net: &Network) -> Vec<String> {
    if net.nodes.len() <= FOLD_ABOVE_NODES {
        return Vec::new();
    }
    groups(net).into_iter().map(|g| g.name).collect()
}
