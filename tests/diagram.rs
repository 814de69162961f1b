//! The diagram's layout, checked on every zoo model unfolded, as first shown and fully
//! folded: every node placed once, no two boxes overlapping, every edge joining its boxes and
//! passing through no other box, and the folded drawing's edges exactly the graph's edges
//! between boxes.

use convscope::analysis::analyze;
use convscope::analysis::diagram::{default_folded, diagram, groups, Diagram, DiagramBox};
use convscope::model::{Activation, Layer, Network};
use convscope::zoo::{self, ZOO};
use std::collections::{BTreeMap, BTreeSet};

fn overlap(a: &DiagramBox, b: &DiagramBox) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

fn inside(b: &DiagramBox, [x, y]: [f64; 2]) -> bool {
    x > b.x + 0.5 && x < b.x + b.w - 0.5 && y > b.y + 0.5 && y < b.y + b.h - 0.5
}

/// Checks every layout rule and returns the box of each node.
fn check(net: &Network, d: &Diagram, what: &str) -> BTreeMap<String, String> {
    let mut box_of = BTreeMap::new();
    for b in &d.boxes {
        let names = if b.folded {
            b.members.clone()
        } else {
            vec![b.id.clone()]
        };
        for n in names {
            assert!(
                box_of.insert(n.clone(), b.id.clone()).is_none(),
                "{what}: {n} placed twice"
            );
        }
    }
    assert_eq!(box_of.len(), net.nodes.len(), "{what}: nodes placed");
    for (i, a) in d.boxes.iter().enumerate() {
        assert!(
            a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= d.width && a.y + a.h <= d.height,
            "{what}: {} outside the drawing",
            a.id
        );
        for b in &d.boxes[i + 1..] {
            assert!(!overlap(a, b), "{what}: {} overlaps {}", a.id, b.id);
        }
    }
    let by_id: BTreeMap<&str, &DiagramBox> = d.boxes.iter().map(|b| (b.id.as_str(), b)).collect();
    for e in &d.edges {
        let (from, to) = (by_id[e.from.as_str()], by_id[e.to.as_str()]);
        let [x0, y0] = e.points[0];
        let [x1, y1] = *e.points.last().unwrap();
        assert!(
            y0 == from.y + from.h && x0 >= from.x && x0 <= from.x + from.w,
            "{what}: {} -> {} does not leave its source",
            e.from,
            e.to
        );
        assert!(
            y1 == to.y && x1 >= to.x && x1 <= to.x + to.w,
            "{what}: {} -> {} does not reach its target",
            e.from,
            e.to
        );
        for p in &e.points {
            assert!(
                !d.boxes.iter().any(|b| inside(b, *p)),
                "{what}: {} -> {} runs through a box",
                e.from,
                e.to
            );
        }
    }
    // Exactly the graph's edges between the boxes, each once.
    let boxes = &box_of;
    let want: BTreeSet<(String, String)> = net
        .nodes
        .iter()
        .flat_map(|n| {
            n.inputs
                .iter()
                .map(move |&i| (boxes[&net.nodes[i].name].clone(), boxes[&n.name].clone()))
        })
        .filter(|(a, b)| a != b)
        .collect();
    let got: Vec<(String, String)> = d
        .edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: an edge drawn twice");
    assert_eq!(
        got.into_iter().collect::<BTreeSet<_>>(),
        want,
        "{what}: edges"
    );
    box_of
}

#[test]
fn every_zoo_layout_places_each_node_once_without_overlaps_and_joins_every_edge() {
    for entry in ZOO {
        let net = (entry.build)();
        let (h, w) = net.default_input;
        let a = analyze(&net, h, w).unwrap();
        let all: Vec<String> = groups(&net).into_iter().map(|g| g.name).collect();
        let unfolded = diagram(&net, &a, &[]);
        let box_of = check(&net, &unfolded, &format!("{} unfolded", net.name));
        assert!(
            box_of.iter().all(|(n, b)| n == b),
            "{}: a node inside a group box while unfolded",
            net.name
        );
        assert!(unfolded.folded.is_empty());
        check(
            &net,
            &diagram(&net, &a, &default_folded(&net)),
            &format!("{} as first shown", net.name),
        );
        let folded = diagram(&net, &a, &all);
        check(&net, &folded, &format!("{} folded", net.name));
        assert_eq!(folded.folded, all);
        // Frames hold their groups' boxes.
        for f in &unfolded.frames {
            for b in unfolded
                .boxes
                .iter()
                .filter(|b| b.id.starts_with(&format!("{}.", f.name)))
            {
                assert!(
                    b.x >= f.x && b.x + b.w <= f.x + f.w && b.y >= f.y && b.y + b.h <= f.y + f.h,
                    "{}: {} outside frame {}",
                    net.name,
                    b.id,
                    f.name
                );
            }
        }
    }
}

fn laid_out(model: &str, folded: &[String]) -> Diagram {
    let net = zoo::build(model).unwrap();
    let (h, w) = net.default_input;
    diagram(&net, &analyze(&net, h, w).unwrap(), folded)
}

fn find<'a>(d: &'a Diagram, id: &str) -> &'a DiagramBox {
    d.boxes
        .iter()
        .find(|b| b.id == id)
        .unwrap_or_else(|| panic!("no box {id}"))
}

#[test]
fn inception_branches_and_residual_shortcuts_sit_side_by_side() {
    let d = laid_out("googlenet", &[]);
    let firsts = [
        "inception3a.1x1",
        "inception3a.3x3_reduce",
        "inception3a.5x5_reduce",
        "inception3a.pool",
    ]
    .map(|n| find(&d, n));
    assert!(
        firsts.iter().all(|b| b.y == firsts[0].y),
        "the four branches start in one rank"
    );
    assert!(
        firsts.windows(2).all(|p| p[0].x + p[0].w < p[1].x),
        "the branches in order, apart"
    );
    let concat = find(&d, "inception3a.output");
    assert!(concat.y > firsts[0].y && concat.x < firsts[3].x && concat.x > firsts[0].x);
    let d = laid_out("resnet50", &[]);
    let (main, shortcut) = (
        find(&d, "layer1.0.conv1"),
        find(&d, "layer1.0.downsample.0"),
    );
    assert_eq!(
        main.y, shortcut.y,
        "the downsample shortcut beside the main path"
    );
    assert!(d.frames.iter().any(|f| f.name == "layer1.0.downsample"));
}

#[test]
fn big_networks_start_folded_into_their_stages_and_a_stage_unfolds_into_blocks() {
    let net = zoo::build("resnet152").unwrap();
    let folded = default_folded(&net);
    let d = laid_out("resnet152", &folded);
    let ids: Vec<&str> = d.boxes.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
            "avgpool", "flatten", "fc"
        ]
    );
    let stage = find(&d, "layer3");
    assert_eq!(stage.select, "layer3.35.relu");
    assert_eq!(stage.shape, [1024, 14, 14]);
    let open: Vec<String> = folded.into_iter().filter(|g| g != "layer3").collect();
    let d = laid_out("resnet152", &open);
    assert_eq!(
        d.boxes
            .iter()
            .filter(|b| b.id.starts_with("layer3."))
            .count(),
        36,
        "36 folded blocks"
    );
    assert!(d.frames.iter().any(|f| f.name == "layer3"));
    // Small networks start unfolded.
    assert!(default_folded(&zoo::build("lenet5").unwrap()).is_empty());
}

#[test]
fn a_module_that_a_path_leaves_and_reenters_does_not_fold() {
    let relu = || Layer::Activation(Activation::Relu);
    let mut net = Network::new("loop", 3, (8, 8));
    net.then("m.a", relu());
    net.then("outside", relu());
    net.then("m.b", relu());
    net.then("n.a", relu());
    net.then("n.b", relu());
    let names: Vec<String> = groups(&net).into_iter().map(|g| g.name).collect();
    assert_eq!(
        names,
        ["n"],
        "m.a -> outside -> m.b: folding m would make a loop"
    );
    let a = analyze(&net, 8, 8).unwrap();
    let d = diagram(&net, &a, &["m".to_string(), "n".to_string()]);
    check(&net, &d, "loop");
    assert_eq!(d.folded, ["n"]);
}

#[test]
fn the_engine_explains_and_draws_the_loaded_model_and_names_an_unknown_node() {
    use convscope::engine::{Backend, Engine, Quiet};
    let engine = pollster::block_on(Engine::new(Backend::Cpu));
    assert!(engine.diagram(None).is_err(), "a diagram before any model");
    pollster::block_on(engine.load_model("lenet5", None, &mut Quiet)).unwrap();
    let net = zoo::build("lenet5").unwrap();
    let a = analyze(&net, 32, 32).unwrap();
    let e = engine.derivation("c3").unwrap();
    assert_eq!(e.value("params"), Some(a.node("c3").unwrap().params as i64));
    let message = engine.derivation("c9").unwrap_err().to_string();
    assert!(message.contains("c9"), "{message}");
    let d = engine.diagram(None).unwrap();
    assert!(d.folded.is_empty(), "a small network starts unfolded");
    check(&net, &d, "lenet5 from the engine");
}
