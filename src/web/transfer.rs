//! The "Teach it your own classes" panel's calls: examples from camera frames or photos into
//! a class (their pooled features computed by the engine), a head trained on them, its live
//! guesses, and its file; each a thin wrapper over `engine::transfer`.

use super::pace::WebPace;
use super::{js_error, to_js, Session};
use crate::train::HeadConfig;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Adds an RGBA image (`width x height`) to class `class` (from 0) as an example: its
    /// pooled features on the loaded EfficientNet-Lite0. Returns `{counts, backend}`: the
    /// examples of each class, and what computed the features.
    pub async fn teach_add_rgba(
        &self,
        class: u32,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let mut pace = WebPace::new(None);
        let (features, source) = self
            .engine
            .pooled_features_rgba(width, height, rgba, &mut pace)
            .await
            .map_err(js_error)?;
        let mut teacher = self.teacher.borrow_mut();
        teacher
            .add(class as usize, &features, &source)
            .map_err(js_error)?;
        #[derive(serde::Serialize)]
        struct Added {
            counts: Vec<usize>,
            backend: String,
        }
        to_js(&Added {
            counts: teacher.counts(),
            backend: self.backend(),
        })
    }

    /// How many examples each class has.
    pub fn teach_counts(&self) -> Vec<u32> {
        let counts = self.teacher.borrow().counts();
        counts.into_iter().map(|c| c as u32).collect()
    }

    /// Forgets class `class`'s examples.
    pub fn teach_clear(&self, class: u32) {
        self.teacher.borrow_mut().clear(class as usize);
    }

    /// Trains a head on the first `names.len()` classes. Returns `{classes, per_class,
    /// examples, epochs, final_loss, train_accuracy, ms}`.
    pub fn teach_train(&self, names: Vec<String>) -> Result<JsValue, JsError> {
        let taught = self
            .teacher
            .borrow_mut()
            .train(&names, &HeadConfig::default(), js_sys::Date::now)
            .map_err(js_error)?;
        to_js(&taught)
    }

    /// The head's guess for an RGBA image: `{class, name, probabilities, classes}`.
    pub async fn teach_predict_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        if self.teacher.borrow().head().is_none() {
            return Err(js_error(crate::engine::transfer::TeachError::NoHead));
        }
        let mut pace = WebPace::new(None);
        let (features, _) = self
            .engine
            .pooled_features_rgba(width, height, rgba, &mut pace)
            .await
            .map_err(js_error)?;
        let guess = self.teacher.borrow().predict(&features).map_err(js_error)?;
        to_js(&guess)
    }

    /// The head as safetensors bytes (a `Uint8Array`), for a download.
    pub fn teach_save(&self) -> Result<Vec<u8>, JsError> {
        self.teacher.borrow().save().map_err(js_error)
    }

    /// Replaces the head with a saved one; returns its class names.
    pub fn teach_load(&self, bytes: Vec<u8>) -> Result<Vec<String>, JsError> {
        self.teacher.borrow_mut().load(&bytes).map_err(js_error)
    }
}
