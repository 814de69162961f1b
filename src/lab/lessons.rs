//! The lab's live comparisons, as one request type the page and the tool send, answered by
//! the analysis module's design comparisons.

use crate::analysis::{
    compare_bottleneck, compare_heads, compare_inception, compare_kernels, CompareError, Comparison,
};
use serde::{Deserialize, Serialize};

/// One comparison with its settings. The defaults are the papers' examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Lesson {
    /// One `k x k` convolution `in_c -> out_c` against 3x3 layers of the same field.
    Kernels {
        in_c: usize,
        out_c: usize,
        h: usize,
        w: usize,
        k: usize,
    },
    /// Inception's 5x5 branch without and with its 1x1 reduction to `reduce` channels.
    Inception {
        in_c: usize,
        reduce: usize,
        out_c: usize,
        h: usize,
        w: usize,
    },
    /// A ResNet basic block's two 3x3 `c -> c` against a bottleneck through `mid`.
    Bottleneck {
        c: usize,
        mid: usize,
        h: usize,
        w: usize,
    },
    /// A VGG dense head (`hidden` units twice) against global average pooling, on `c x h x w`.
    Heads {
        c: usize,
        h: usize,
        w: usize,
        hidden: usize,
        classes: usize,
    },
}

impl Lesson {
    /// The examples the papers give: VGG's 7x7 at 56x56 with 64 channels; GoogLeNet's
    /// inception (3a) 5x5 branch (192 -> 16 -> 32 at 28x28, Szegedy et al. 2014, Table 1);
    /// ResNet's 256-channel bottleneck through 64 (He et al. 2015, Fig. 5); VGG's head on
    /// 512x7x7 against GAP (4096 hidden units, 1000 classes).
    pub const DEFAULTS: [Lesson; 4] = [
        Lesson::Kernels {
            in_c: 64,
            out_c: 64,
            h: 56,
            w: 56,
            k: 7,
        },
        Lesson::Inception {
            in_c: 192,
            reduce: 16,
            out_c: 32,
            h: 28,
            w: 28,
        },
        Lesson::Bottleneck {
            c: 256,
            mid: 64,
            h: 56,
            w: 56,
        },
        Lesson::Heads {
            c: 512,
            h: 7,
            w: 7,
            hidden: 4096,
            classes: 1000,
        },
    ];

    /// Both sides' costs, or why the settings make no network.
    pub fn compare(&self) -> Result<Comparison, CompareError> {
        let positive = |values: &[usize]| {
            if values.contains(&0) {
                Err(CompareError::NoChannels)
            } else {
                Ok(())
            }
        };
        match *self {
            Lesson::Kernels {
                in_c,
                out_c,
                h,
                w,
                k,
            } => compare_kernels(in_c, out_c, h, w, k),
            Lesson::Inception {
                in_c,
                reduce,
                out_c,
                h,
                w,
            } => {
                positive(&[in_c, reduce, out_c])?;
                Ok(compare_inception(in_c, reduce, out_c, h, w)?)
            }
            Lesson::Bottleneck { c, mid, h, w } => {
                positive(&[c, mid])?;
                Ok(compare_bottleneck(c, mid, h, w)?)
            }
            Lesson::Heads {
                c,
                h,
                w,
                hidden,
                classes,
            } => {
                positive(&[c, hidden, classes])?;
                Ok(compare_heads(c, h, w, hidden, classes)?)
            }
        }
    }
}
