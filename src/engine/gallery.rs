//! The page's top-9 gallery (Zeiler & Fergus Fig. 2) over the inputs seen so far: every
//! classified frame (webcam, upload, sample) is remembered, as are the samples the page adds
//! (the Fashion-MNIST test images for the 28x28 networks), so the gallery fills while the
//! camera runs. The ranking runs on the fast CPU engine (`explain::Top9`), each winner's
//! projection through [`Engine::explain_input`].

use super::explain::{ExplainRequest, Method};
use super::nodes::input_to_rgba;
use super::views::unit_box;
use super::{Engine, EngineError, Model, Pace};
use crate::explain::picture::tensor_rgba;
use crate::explain::{crop, ExplainError, Top9};
use crate::model::NodeId;
use crate::tensor::Tensor;
use serde::Serialize;
use std::collections::VecDeque;
use std::rc::Rc;

/// How much input the gallery remembers (bytes of preprocessed f32 values: about 80 inputs
/// of 224x224, thousands of 28x28); the oldest goes first.
pub const DATASET_BYTES: usize = 48 << 20;

/// The inputs seen since the model was loaded (preprocessed), each with its number and a
/// hash of its values (to skip repeats without comparing every value).
#[derive(Default)]
pub(crate) struct Dataset {
    inputs: VecDeque<(usize, Rc<Tensor>)>,
    hashes: VecDeque<u64>,
    bytes: usize,
    seen: usize,
}

/// FNV-1a over the values' bits.
fn fingerprint(t: &Tensor) -> u64 {
    t.data.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        (h ^ v.to_bits() as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Dataset {
    /// Remember `input` unless it is already there (the same photo classified again).
    pub fn add(&mut self, input: &Tensor) {
        let hash = fingerprint(input);
        let repeat = self
            .hashes
            .iter()
            .zip(&self.inputs)
            .any(|(&h, (_, t))| h == hash && t.data == input.data);
        if repeat {
            return;
        }
        let size = 4 * input.data.len();
        while !self.inputs.is_empty() && self.bytes + size > DATASET_BYTES {
            let (_, old) = self.inputs.pop_front().expect("not empty");
            self.hashes.pop_front();
            self.bytes -= 4 * old.data.len();
        }
        self.inputs.push_back((self.seen, Rc::new(input.clone())));
        self.hashes.push_back(hash);
        self.bytes += size;
        self.seen += 1;
    }
}

/// One of the nine.
#[derive(Clone, Debug, Serialize)]
pub struct GalleryEntry {
    /// The input's number in the order seen.
    pub image: usize,
    /// The unit's activation (fast CPU engine).
    pub value: f32,
    pub y: usize,
    pub x: usize,
    /// The receptive field's box in input pixels: top, left (may be negative).
    pub top: i64,
    pub left: i64,
}

/// A channel's top-9 over the inputs seen so far.
#[derive(Clone, Debug, Serialize)]
pub struct Gallery {
    /// Ranking, and projections.
    pub backend: &'static str,
    pub projection_backend: &'static str,
    pub node: String,
    pub channel: usize,
    /// Inputs ranked.
    pub inputs: usize,
    /// Each patch's size (the receptive field's).
    pub height: usize,
    pub width: usize,
    pub normalisation: &'static str,
    /// Best first.
    pub entries: Vec<GalleryEntry>,
    /// Per entry `height x width` RGBA, concatenated: the input under the box.
    #[serde(skip)]
    pub patches: Vec<u8>,
    /// Per entry, the same for the deconvnet projection (0 mid-grey, max |v| the extremes).
    #[serde(skip)]
    pub projections: Vec<u8>,
}

/// A unit's input patch (under its receptive field) and deconvnet projection cut to the
/// same box, as pictures, and the projection's values in that box.
pub(crate) struct UnitPictures {
    /// What projected it: `webgpu` or `reference`.
    pub backend: &'static str,
    pub top: i64,
    pub left: i64,
    pub height: usize,
    pub width: usize,
    pub patch_rgba: Vec<u8>,
    /// 0 mid-grey, max |v| the extremes.
    pub projection_rgba: Vec<u8>,
    /// `[C, height, width]`.
    pub projection: Tensor,
}

impl Engine {
    /// The pictures of unit `(node, channel, y, x)` of `model` (loaded or a checkpoint's) on
    /// `input`, projected through [`Engine::explain_input`]'s path (the GPU first).
    pub(crate) async fn unit_pictures(
        &self,
        model: &Model,
        input: &Tensor,
        (node, channel, y, x): (NodeId, usize, usize, usize),
        pace: &mut impl Pace,
    ) -> Result<UnitPictures, EngineError> {
        let request = ExplainRequest {
            node: Some(model.net.nodes[node].name.clone()),
            channel: Some(channel),
            at: Some((y, x)),
            ..Default::default()
        };
        let e = self
            .explain_with(model, input.clone(), Method::Deconvnet, &request, pace)
            .await?;
        let (top, left, height, width) = unit_box(model, node, y, x);
        let projection = crop(&Tensor::new(e.shape, e.values), top, left, height, width);
        Ok(UnitPictures {
            backend: e.backend,
            top,
            left,
            height,
            width,
            patch_rgba: input_to_rgba(&model.preprocess, &crop(input, top, left, height, width)),
            projection_rgba: tensor_rgba(&projection, true),
            projection,
        })
    }

    /// Remember an input for the gallery (classification does this for every frame).
    pub(crate) fn remember(&self, input: &Tensor) {
        self.dataset.borrow_mut().add(input);
    }

    /// Add an RGBA image (`width x height`) to the gallery's inputs, prepared as the model
    /// was trained; returns how many inputs it holds.
    pub fn dataset_add_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Result<usize, EngineError> {
        let model = self.model()?;
        let image = super::run::rgba_image(width, height, rgba)?;
        self.remember(&model.preprocess.apply(&image));
        Ok(self.dataset_len())
    }

    /// How many inputs the gallery holds.
    pub fn dataset_len(&self) -> usize {
        self.dataset.borrow().inputs.len()
    }

    /// The nine inputs seen so far that excite `channel` of `node` most (one position per
    /// input, its strongest), each as the input under the unit's receptive field beside its
    /// deconvnet projection.
    pub async fn gallery(
        &self,
        node: &str,
        channel: usize,
        pace: &mut impl Pace,
    ) -> Result<Gallery, EngineError> {
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        let inputs: Vec<(usize, Rc<Tensor>)> =
            self.dataset.borrow().inputs.iter().cloned().collect();
        if inputs.is_empty() {
            return Err(ExplainError::EmptyDataset.into());
        }
        let size = model.preprocess.output_size();
        let mut search = Top9::new(&model.net, &model.weights, id, &[channel], size)?;
        for (i, (_, input)) in inputs.iter().enumerate() {
            search.add(input)?;
            let done = (i + 1) as f64 / inputs.len() as f64;
            pace.tick("ranking the inputs seen", 0.5 * done).await;
        }
        let ranking = search.ranking(0).to_vec();
        let (mut entries, mut patches, mut projections) = (Vec::new(), Vec::new(), Vec::new());
        let (mut height, mut width, mut projection_backend) = (0, 0, "reference");
        for (rank, &(value, image, y, x)) in ranking.iter().enumerate() {
            let unit = (id, channel, y, x);
            let p = self
                .unit_pictures(&model, &inputs[image].1, unit, pace)
                .await?;
            (height, width, projection_backend) = (p.height, p.width, p.backend);
            patches.extend(p.patch_rgba);
            projections.extend(p.projection_rgba);
            entries.push(GalleryEntry {
                image: inputs[image].0,
                value,
                y,
                x,
                top: p.top,
                left: p.left,
            });
            let done = (rank + 1) as f64 / ranking.len() as f64;
            pace.report("projecting the nine", 0.5 + 0.5 * done);
        }
        Ok(Gallery {
            backend: "cpu",
            projection_backend,
            node: node.into(),
            channel,
            inputs: inputs.len(),
            height,
            width,
            normalisation: "patch: the input as the network saw it; projection: 0 is mid-grey, max |v| the extremes",
            entries,
            patches,
            projections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Dataset, DATASET_BYTES};
    use crate::tensor::Tensor;

    #[test]
    fn the_dataset_skips_repeats_and_forgets_the_oldest_past_its_budget() {
        let side = 512; // 1 MiB of f32 per input
        let input = |k: usize| Tensor::new(vec![1, side, side], vec![k as f32; side * side]);
        let mut d = Dataset::default();
        let fits = DATASET_BYTES / (4 * side * side);
        for k in 0..fits + 3 {
            d.add(&input(k));
            d.add(&input(k)); // a repeat
        }
        assert_eq!(d.inputs.len(), fits);
        assert_eq!(d.bytes, fits * 4 * side * side);
        // The first three went; numbers keep counting.
        assert_eq!(d.inputs.front().unwrap().0, 3);
        assert_eq!(d.inputs.back().unwrap().0, fits + 2);
        assert_eq!(d.inputs.front().unwrap().1.data[0], 3.0);
    }
}
