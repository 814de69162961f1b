//! Transfer learning on the loaded model, as the page does it ("Teach it your own classes")
//! and the tool's tests check: an image's pooled features (EfficientNet-Lite0's 1280 values
//! after global average pooling, on whatever runs the model), examples gathered per class, a
//! new head trained on them (`train::train_head`), its predictions, and its file.

use super::{Engine, EngineError, Pace};
use crate::train::{
    train_head, Features, Head, HeadConfig, HeadError, HeadReport, TrainError, MAX_HEAD_CLASSES,
};
use serde::Serialize;
use thiserror::Error;

/// The network whose features the page's heads read.
pub const TRANSFER_MODEL: &str = "efficientnet_lite0";
/// Its node whose output is the feature vector (global average pooling, before the classifier).
pub const FEATURE_NODE: &str = "_avg_pooling";
/// Values in a feature vector (EfficientNet-Lite0's head has 1280 channels; a test checks).
pub const FEATURE_DIM: usize = 1280;
/// The most classes the page teaches at once.
pub const MAX_TAUGHT_CLASSES: usize = 5;

/// Why teaching cannot go on; each says what to do.
#[derive(Debug, Error)]
pub enum TeachError {
    #[error("teaching uses {TRANSFER_MODEL}'s features, but {loaded} is loaded: load {TRANSFER_MODEL} first")]
    WrongModel { loaded: String },
    #[error("name at least two classes to teach (one class alone has nothing to tell apart)")]
    OneClass,
    #[error("at most {MAX_TAUGHT_CLASSES} classes can be taught at once, not {found}")]
    TooManyClasses { found: usize },
    #[error("class {number} has no name: give every class a name")]
    Unnamed { number: usize },
    #[error("class \"{name}\" has no examples: capture camera frames or drop photos into it")]
    NoExamples { name: String },
    #[error("there is no class number {number} (classes 1 to {MAX_TAUGHT_CLASSES})")]
    NoSuchClass { number: usize },
    #[error("no head yet: train one or load a saved head first")]
    NoHead,
    #[error("{0}")]
    Head(#[from] HeadError),
    #[error("training the head failed: {0}")]
    Train(#[from] TrainError),
    #[error("{0}")]
    Engine(#[from] EngineError),
}

/// What the loaded model's features are called in a head's file: `model/node`, with
/// `(random)` after the model when its weights are the seeded random ones.
pub fn source_name(model: &str, trained: bool) -> String {
    let weights = if trained { "" } else { " (random)" };
    format!("{model}{weights}/{FEATURE_NODE}")
}

impl Engine {
    /// The outputs of `nodes` for `image` after one pass of the loaded model (on the GPU, the
    /// fast CPU engine or the reference, whichever runs it), in the order asked.
    pub async fn node_features(
        &self,
        image: &image::DynamicImage,
        nodes: &[&str],
        pace: &mut impl Pace,
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        self.classify(image, pace).await?;
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            out.push(self.node_output(node).await?.data);
        }
        Ok(out)
    }

    /// The pooled features of `image` ([`FEATURE_NODE`] of [`TRANSFER_MODEL`]) and their
    /// source name; the loaded model must be [`TRANSFER_MODEL`].
    pub async fn pooled_features(
        &self,
        image: &image::DynamicImage,
        pace: &mut impl Pace,
    ) -> Result<(Vec<f32>, String), TeachError> {
        let model = self.model()?;
        if model.net.name != TRANSFER_MODEL {
            return Err(TeachError::WrongModel {
                loaded: model.net.name.clone(),
            });
        }
        let source = source_name(&model.net.name, model.trained);
        let mut features = self.node_features(image, &[FEATURE_NODE], pace).await?;
        Ok((features.remove(0), source))
    }

    /// The loaded model's network and weights (for retraining its last layers).
    pub fn network_and_weights(
        &self,
    ) -> Result<(crate::model::Network, crate::weights::Weights), EngineError> {
        let model = self.model()?;
        Ok((model.net.clone(), model.weights.clone()))
    }

    /// [`Engine::pooled_features`] of an RGBA image (`width x height`, as from a canvas).
    pub async fn pooled_features_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
        pace: &mut impl Pace,
    ) -> Result<(Vec<f32>, String), TeachError> {
        let image = super::run::rgba_image(width, height, rgba)?;
        self.pooled_features(&image, pace).await
    }
}

/// How a head was trained, for the page.
#[derive(Clone, Debug, Serialize)]
pub struct Taught {
    pub classes: Vec<String>,
    /// Examples per class.
    pub per_class: Vec<usize>,
    #[serde(flatten)]
    pub report: HeadReport,
    /// Wall time of the training, in milliseconds.
    pub ms: f64,
}

/// A head's prediction for one image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Guess {
    pub class: usize,
    pub name: String,
    pub probabilities: Vec<f32>,
    pub classes: Vec<String>,
}

/// The examples gathered so far (up to [`MAX_TAUGHT_CLASSES`] classes, each a list of
/// feature vectors) and the head, once trained or loaded.
#[derive(Default)]
pub struct Teacher {
    examples: Vec<Features>,
    /// What the examples' features are (`model/node`); examples of other features are dropped.
    source: Option<String>,
    head: Option<Head>,
}

impl Teacher {
    /// Adds one example (`features` from `source`) to class `class` (from 0); returns how many
    /// the class has now. Examples of different features (the model's weights changed) are
    /// dropped first.
    pub fn add(
        &mut self,
        class: usize,
        features: &[f32],
        source: &str,
    ) -> Result<usize, TeachError> {
        if class >= MAX_TAUGHT_CLASSES {
            return Err(TeachError::NoSuchClass { number: class + 1 });
        }
        if self.source.as_deref() != Some(source) {
            self.examples.clear();
            self.source = Some(source.into());
        }
        if self.examples.len() < MAX_TAUGHT_CLASSES {
            self.examples = vec![Features::new(features.len()); MAX_TAUGHT_CLASSES];
        }
        self.examples[class].push(features);
        Ok(self.examples[class].len())
    }

    /// How many examples each class has.
    pub fn counts(&self) -> Vec<usize> {
        (0..MAX_TAUGHT_CLASSES)
            .map(|c| self.examples.get(c).map_or(0, Features::len))
            .collect()
    }

    /// Forgets class `class`'s examples.
    pub fn clear(&mut self, class: usize) {
        if let Some(f) = self.examples.get_mut(class) {
            f.data.clear();
        }
    }

    /// Trains a head on the first `names.len()` classes, named `names`, with `cfg`;
    /// `now_ms` reads a clock in milliseconds (the page's and the tool's differ).
    pub fn train(
        &mut self,
        names: &[String],
        cfg: &HeadConfig,
        now_ms: impl Fn() -> f64,
    ) -> Result<Taught, TeachError> {
        check_names(names)?;
        let counts = self.counts();
        if let Some(c) = (0..names.len()).find(|&c| counts[c] == 0) {
            return Err(TeachError::NoExamples {
                name: names[c].trim().into(),
            });
        }
        let dim = self.examples[0].dim;
        let (mut x, mut labels) = (Features::new(dim), Vec::new());
        for (c, class) in self.examples.iter().take(names.len()).enumerate() {
            x.data.extend_from_slice(&class.data);
            labels.extend(std::iter::repeat_n(c, class.len()));
        }
        let source = self.source.clone().unwrap_or_default();
        let classes = names.iter().map(|n| n.trim().to_string()).collect();
        let started = now_ms();
        let (head, report) = train_head(&source, &x, &labels, classes, cfg)?;
        let ms = now_ms() - started;
        let taught = Taught {
            classes: head.classes.clone(),
            per_class: counts[..names.len()].to_vec(),
            report,
            ms,
        };
        self.head = Some(head);
        Ok(taught)
    }

    /// The head's guess for `features`.
    pub fn predict(&self, features: &[f32]) -> Result<Guess, TeachError> {
        let head = self.head.as_ref().ok_or(TeachError::NoHead)?;
        let probabilities = head.probabilities(features)?;
        let class = crate::cpu::top_k(&probabilities, 1)[0].0;
        Ok(Guess {
            class,
            name: head.classes[class].clone(),
            probabilities,
            classes: head.classes.clone(),
        })
    }

    /// The head as safetensors bytes.
    pub fn save(&self) -> Result<Vec<u8>, TeachError> {
        Ok(self
            .head
            .as_ref()
            .ok_or(TeachError::NoHead)?
            .to_safetensors()?)
    }

    /// Replaces the head with the one in `bytes`, which must read [`FEATURE_DIM`] features;
    /// returns its class names.
    pub fn load(&mut self, bytes: &[u8]) -> Result<Vec<String>, TeachError> {
        let expected = source_name(TRANSFER_MODEL, true);
        let head = Head::from_safetensors(bytes, FEATURE_DIM, &expected)?;
        let classes = head.classes.clone();
        self.head = Some(head);
        Ok(classes)
    }

    /// The head, if one was trained or loaded.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }
}

/// Two to [`MAX_TAUGHT_CLASSES`] classes, each named.
fn check_names(names: &[String]) -> Result<(), TeachError> {
    if names.len() < 2 {
        return Err(TeachError::OneClass);
    }
    if names.len() > MAX_TAUGHT_CLASSES.min(MAX_HEAD_CLASSES) {
        return Err(TeachError::TooManyClasses { found: names.len() });
    }
    if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
        return Err(TeachError::Unnamed { number: i + 1 });
    }
    Ok(())
}
