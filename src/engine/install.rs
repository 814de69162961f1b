//! Installing a model: a zoo model with its weights, or any network with loaded weights (an
//! imported file's), analysed, planned on the GPU where it can be, and given a fresh run.

use super::*;
use crate::zoo::ZooEntry;

impl Engine {
    /// Load zoo model `name` with safetensors `weights` (validated; every mismatch named by
    /// tensor), or with seeded random weights (BatchNorm calibrated) when there are none. If
    /// this fails the previous model stays loaded.
    pub async fn load_model(
        &self,
        name: &str,
        weights: Option<&[u8]>,
        pace: &mut impl Pace,
    ) -> Result<LoadReport, EngineError> {
        self.check_device()?;
        let entry =
            zoo::entry(name).ok_or_else(|| EngineError::UnknownModel { name: name.into() })?;
        let net = (entry.build)();
        let loaded = model_weights(entry, &net, weights, pace).await?;
        self.install_zoo(entry, net, loaded, pace).await
    }

    /// [`Engine::load_model`] given the weights file's bytes to keep: they are freed as soon
    /// as its tensors are decoded, before the model is planned (the page's large files).
    pub async fn load_model_from(
        &self,
        name: &str,
        weights: Vec<u8>,
        pace: &mut impl Pace,
    ) -> Result<LoadReport, EngineError> {
        self.check_device()?;
        let entry =
            zoo::entry(name).ok_or_else(|| EngineError::UnknownModel { name: name.into() })?;
        let net = (entry.build)();
        self.make_room_for(weights.len());
        let loaded = model_weights(entry, &net, Some(&weights), pace).await?;
        drop(weights);
        self.install_zoo(entry, net, loaded, pace).await
    }

    /// Before a file of `size` bytes over [`LARGE_FILE_BYTES`] is decoded: drop the loaded
    /// model's fast CPU plan and GPU backward plan (a copy of its weights and every node's
    /// output), made again on its next pass, so that a large file never meets two models'
    /// plans in WebAssembly's 4 GiB. The model itself and its weights stay, so a bad file
    /// leaves it loaded; only its last pass's node reads are gone until it runs again.
    pub(super) fn make_room_for(&self, size: usize) {
        if size <= LARGE_FILE_BYTES {
            return;
        }
        if let Some(model) = self.model.borrow().as_ref() {
            model.fast.borrow_mut().take();
            model.backward.borrow_mut().take();
        }
    }

    async fn install_zoo(
        &self,
        entry: &ZooEntry,
        net: Network,
        loaded: ModelWeights,
        pace: &mut impl Pace,
    ) -> Result<LoadReport, EngineError> {
        let installed = Installed {
            name: entry.name,
            preprocess: entry.preprocess,
            classes: Classes::Known(entry.labels),
            notes: Vec::new(),
        };
        self.install(net, loaded, installed, pace).await
    }

    /// Make `net` with `loaded` weights the loaded model: its analysis at the input size of
    /// `preprocess`, its GPU plan (or why the CPU engine runs it), and a fresh run.
    pub(super) async fn install(
        &self,
        net: Network,
        loaded: ModelWeights,
        how: Installed<'_>,
        pace: &mut impl Pace,
    ) -> Result<LoadReport, EngineError> {
        let (model, report) = self.prepare(net, loaded, how, pace).await?;
        *self.model.borrow_mut() = Some(Rc::new(model));
        *self.run.borrow_mut() = Run::default();
        *self.dataset.borrow_mut() = gallery::Dataset::default();
        Ok(report)
    }

    /// `net` with `loaded` weights analysed and planned on the GPU (where it can be), not
    /// installed: [`Engine::install`] keeps it as the loaded model, the feature-evolution view
    /// (`evolution.rs`) runs a checkpoint's weights on it beside the loaded model.
    pub(super) async fn prepare(
        &self,
        net: Network,
        loaded: ModelWeights,
        how: Installed<'_>,
        pace: &mut impl Pace,
    ) -> Result<(Model, LoadReport), EngineError> {
        if self.backend() == Backend::Gpu {
            pace.report("uploading the weights to the GPU", 1.0);
        }
        let (h, w) = how.preprocess.output_size();
        let analysis = analyze(&net, h, w)?;
        let (plan, gpu_problem) = self.plan(&net, &loaded.weights, h, w).await;
        let report = LoadReport {
            name: how.name.into(),
            trained: loaded.trained,
            weights: loaded.note,
            backend: if plan.is_some() {
                Backend::Gpu.name()
            } else {
                self.cpu.name()
            },
            gpu_problem,
            input: [analysis.input.c, h, w],
            notes: how.notes,
        };
        let model = Model {
            preprocess: how.preprocess,
            classes: how.classes,
            net,
            weights: loaded.weights,
            trained: loaded.trained,
            analysis,
            plan,
            gpu_failure: RefCell::new(None),
            fast: RefCell::new(None),
            backward: RefCell::new(None),
        };
        Ok((model, report))
    }

    /// A GPU plan for `net`, or why there is none (then the CPU reference runs it).
    async fn plan(
        &self,
        net: &Network,
        weights: &Weights,
        h: usize,
        w: usize,
    ) -> (Option<Plan>, Option<String>) {
        let Some(ctx) = self.gpu.as_ref().filter(|_| !self.cpu_preferred.get()) else {
            return (None, None);
        };
        let memory = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let plan = Plan::new(ctx, net, weights, h, w, PlanOptions::default()).await;
        let out_of_memory = memory.pop().await;
        let problem = match (plan, out_of_memory) {
            (Ok(plan), None) => return (Some(plan), None),
            (Ok(_), Some(e)) => e.to_string(),
            (Err(e), _) => e.to_string(),
        };
        let note = format!(
            "the GPU cannot run {} ({problem}); the CPU engine runs it instead",
            net.name
        );
        (None, Some(note))
    }
}
