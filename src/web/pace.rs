//! The page's pacer: long engine work gives the browser a turn (a zero-delay timer) once a
//! slice of time is used up, and reports progress to the page's callback.

use crate::engine::Pace;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32) -> JsValue;
}

/// Longest stretch of work (ms) before the page gets a turn to paint and handle input.
const SLICE_MS: f64 = 25.0;

/// Let the browser paint and handle events.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Paces engine work on the page's thread.
pub struct WebPace {
    slice_start: f64,
    /// `on_progress(stage, fraction)` from the page, if it asked.
    on_progress: Option<js_sys::Function>,
}

impl WebPace {
    pub fn new(on_progress: Option<js_sys::Function>) -> Self {
        WebPace {
            slice_start: js_sys::Date::now(),
            on_progress,
        }
    }
}

impl Pace for WebPace {
    fn report(&mut self, stage: &str, fraction: f64) {
        if let Some(f) = &self.on_progress {
            // The page's progress display failing must not stop the work.
            let _ = f.call2(&JsValue::NULL, &stage.into(), &fraction.into());
        }
    }

    async fn tick(&mut self, stage: &str, fraction: f64) {
        if js_sys::Date::now() - self.slice_start <= SLICE_MS {
            return;
        }
        self.report(stage, fraction);
        self.yield_now().await;
    }

    async fn yield_now(&mut self) {
        yield_to_browser().await;
        self.slice_start = js_sys::Date::now();
    }
}
