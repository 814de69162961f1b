//! The teaching lab: which trained networks are compared with which, and what the lab shows
//! of them beyond the analysis module's costs: the first layer's filters, how many of them are
//! dead or low-contrast (Zeiler & Fergus 2013, §4.1), and their feature maps on one input.
//!
//! The networks are zoo entries (`zoo/lab.rs`), their training settings are the entries'
//! recipes (`ZooEntry::recipe`), and each shipped run's curves and accuracy are its
//! [`RunRecord`](crate::train::RunRecord).

mod families;
mod filters;
mod lessons;
mod report;
mod timing;

pub use families::{
    family, family_row, family_rows, time_families, CurvePoint, FamiliesReport, Family, FamilyRow,
    TimingError, DEGRADATION_PAIR, FAMILIES,
};
pub use filters::{
    first_conv, first_layer, forward_to, FilterView, FirstLayer, DEAD_LEVEL, LOW_CONTRAST,
};
pub use lessons::Lesson;
pub use report::{sample_inputs, side_report, LabError, SideReport};
pub use timing::{time_block, time_fast_cpu, BlockTime, Clock};

use serde::Serialize;

/// Two networks that differ in one design choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Twin {
    pub id: &'static str,
    pub title: &'static str,
    /// The zoo names of the two sides: the classic choice first, the improvement second.
    pub a: &'static str,
    pub b: &'static str,
    /// What the pair shows, in one sentence.
    pub lesson: &'static str,
    /// Whether the lab counts dead and low-contrast first-layer filters for this pair.
    pub count_dead_filters: bool,
}

/// The trained twins, in the order the lab shows them.
pub const TWINS: &[Twin] = &[
    Twin {
        id: "k5",
        title: "One 5x5 against two 3x3",
        a: "lab_k5",
        b: "lab_k5_stack",
        lesson: "Two 3x3 layers see the same 5x5 window with 18C\u{b2} instead of 25C\u{b2} weights and one more ReLU (VGG, Simonyan & Zisserman 2014, \u{a7}2.3).",
        count_dead_filters: false,
    },
    Twin {
        id: "k7",
        title: "One 7x7 against three 3x3",
        a: "lab_k7",
        b: "lab_k7_stack",
        lesson: "Three 3x3 layers see a 7x7 window with 27C\u{b2} instead of 49C\u{b2} weights and two more ReLUs (VGG, \u{a7}2.3).",
        count_dead_filters: false,
    },
    Twin {
        id: "first",
        title: "AlexNet's first layer against ZFNet's",
        a: "lab_first_alexnet",
        b: "lab_first_zfnet",
        lesson: "A large kernel with a large stride (AlexNet, 11x11/4) left dead and aliased filters; ZFNet's smaller kernel and stride (7x7/2) kept more of them useful (Zeiler & Fergus 2013, \u{a7}4.1). Here at 28x28 scale: 9x9/4 against 5x5/2.",
        count_dead_filters: true,
    },
];

/// One run of the training-tricks panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Trick {
    pub model: &'static str,
    pub label: &'static str,
}

/// The tricks panel: the plain run first, then one trick each, then all together.
pub const TRICKS: &[Trick] = &[
    Trick {
        model: "lab_tricks_plain",
        label: "plain (constant learning rate)",
    },
    Trick {
        model: "lab_tricks_batchnorm",
        label: "+ BatchNorm",
    },
    Trick {
        model: "lab_tricks_dropout",
        label: "+ dropout 0.5",
    },
    Trick {
        model: "lab_tricks_smoothing",
        label: "+ label smoothing 0.1",
    },
    Trick {
        model: "lab_tricks_schedule",
        label: "+ warm-up and cosine learning rate",
    },
    Trick {
        model: "lab_tricks_all",
        label: "all four",
    },
];

/// Every network the lab trains, twins first.
pub fn models() -> Vec<&'static str> {
    TWINS
        .iter()
        .flat_map(|t| [t.a, t.b])
        .chain(TRICKS.iter().map(|t| t.model))
        .collect()
}
