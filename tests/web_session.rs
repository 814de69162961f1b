//! The page's `Session` in headless Chromium (wasm-bindgen-test): WebGPU (SwiftShader there)
//! against the CPU fallback on LeNet-5 with its shipped weights, reading one node's feature
//! map, random weights made in steps, and the errors bad input gets.
//! Run by `cargo test --release --target wasm32-unknown-unknown --test web_session` (see
//! .cargo/config.toml and webdriver.json); on native targets this file is empty.
#![cfg(target_arch = "wasm32")]

use convscope::web::{FileBytes, Session};
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Trained by `convscope train lenet5` (88.48% on Fashion-MNIST's test set).
const LENET5: &[u8] = include_bytes!("../assets/weights/lenet5.safetensors");
const LENET5_MODERN: &[u8] = include_bytes!("../assets/weights/lenet5_modern.safetensors");
const FASHION: [&str; 10] = convscope::labels::FASHION_MNIST;

#[derive(Deserialize)]
struct LoadReport {
    name: String,
    trained: bool,
    weights: String,
    backend: String,
    gpu_problem: Option<String>,
    input: [usize; 3],
}

#[derive(Deserialize)]
struct Prediction {
    class: usize,
    name: String,
    probability: f32,
    logit: f32,
}

#[derive(Deserialize)]
struct Classification {
    top5: Vec<Prediction>,
    backend: String,
    gpu_problem: Option<String>,
}

#[derive(Deserialize)]
struct NodeSummary {
    name: String,
    shape: [usize; 3],
}

#[derive(Deserialize)]
struct Summary {
    model: String,
    backend: String,
    nodes: Vec<NodeSummary>,
}

fn parse<T: serde::de::DeserializeOwned>(value: JsValue) -> T {
    serde_wasm_bindgen::from_value(value).expect("the Session returned an unexpected shape")
}

/// The message a person would read.
fn message(e: JsError) -> String {
    JsValue::from(e)
        .unchecked_into::<js_sys::Error>()
        .message()
        .into()
}

/// `|a - b| <= 1e-4 + 1e-3 * |b|`, the engine's tolerance against the reference (STYLE.md).
fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 + 1e-3 * b.abs()
}

/// A 28x28 RGBA drawing of a pair of trousers: two light legs on black.
fn trousers() -> (u32, u32, Vec<u8>) {
    let (w, h) = (28u32, 28u32);
    let mut rgba = Vec::with_capacity((4 * w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let waist = y < 6 && (8..20).contains(&x);
            let leg = y >= 6 && ((8..13).contains(&x) || (15..20).contains(&x));
            let v = if waist || leg { 220 } else { 0 };
            rgba.extend_from_slice(&[v, v, v, 255]);
        }
    }
    (w, h, rgba)
}

async fn webgpu_session() -> Session {
    let session = Session::create(Some("webgpu".into())).await;
    // webdriver.json starts Chromium with WebGPU enabled, so there must be an adapter.
    assert_eq!(
        session.backend(),
        "webgpu",
        "no WebGPU in the test browser: {}",
        session.backend_reason()
    );
    session
}

/// `bytes` as the page hands a file to the session: room for `size` bytes, then `bytes` pushed.
fn file_of(size: usize, bytes: &[u8]) -> FileBytes {
    let mut file = FileBytes::new("weights", size as f64)
        .unwrap_or_else(|e| panic!("no room: {}", message(e)));
    file.push(&js_sys::Uint8Array::from(bytes))
        .unwrap_or_else(|e| panic!("push: {}", message(e)));
    file
}

fn file(bytes: &[u8]) -> FileBytes {
    file_of(bytes.len(), bytes)
}

async fn load(session: &Session, name: &str, weights: &[u8]) -> LoadReport {
    let bytes = file(weights);
    let report = session
        .load_model(name.into(), Some(bytes), None)
        .await
        .map_err(message)
        .expect("loading failed");
    parse(report)
}

async fn classify(session: &Session) -> Classification {
    let (w, h, rgba) = trousers();
    let result = session
        .classify_rgba(w, h, rgba)
        .await
        .map_err(message)
        .expect("classifying failed");
    parse(result)
}

#[wasm_bindgen_test]
async fn webgpu_and_cpu_sessions_give_the_same_top5_for_lenet5() {
    let gpu = webgpu_session().await;
    let cpu = Session::create(Some("cpu".into())).await;
    assert_eq!(cpu.backend(), "cpu");
    assert!(cpu.backend_reason().contains("fast CPU engine"));

    let report = load(&gpu, "lenet5", LENET5).await;
    assert_eq!(report.name, "lenet5");
    assert!(report.trained && report.weights == "trained weights");
    assert_eq!(report.backend, "webgpu", "{:?}", report.gpu_problem);
    assert_eq!(report.input, [1, 32, 32]);
    assert_eq!(load(&cpu, "lenet5", LENET5).await.backend, "cpu");

    let (on_gpu, on_cpu) = (classify(&gpu).await, classify(&cpu).await);
    assert_eq!(on_gpu.backend, "webgpu", "{:?}", on_gpu.gpu_problem);
    assert_eq!(on_cpu.backend, "cpu");
    assert_eq!(on_gpu.top5.len(), 5);
    for (g, c) in on_gpu.top5.iter().zip(&on_cpu.top5) {
        assert_eq!(g.class, c.class);
        assert_eq!(g.name, FASHION[g.class]);
        assert!(
            close(g.logit, c.logit),
            "{}: {} vs {}",
            g.name,
            g.logit,
            c.logit
        );
        assert!(close(g.probability, c.probability));
    }
    assert_eq!(on_cpu.top5[0].name, "Trouser");
    let p: Vec<f32> = on_cpu.top5.iter().map(|p| p.probability).collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]) && p.iter().sum::<f32>() <= 1.0 + 1e-5);
}

#[wasm_bindgen_test]
async fn only_the_output_and_the_viewed_node_are_read_back_from_the_gpu() {
    let gpu = webgpu_session().await;
    let cpu = Session::create(Some("cpu".into())).await;
    load(&gpu, "lenet5", LENET5).await;
    load(&cpu, "lenet5", LENET5).await;
    assert!(
        gpu.node_output("c3".into()).await.is_err(),
        "nothing ran yet"
    );
    classify(&gpu).await;
    classify(&cpu).await;
    assert_eq!(gpu.gpu_reads(), ["output"]);

    let summary: Summary = parse(gpu.summary().map_err(message).unwrap());
    assert_eq!(
        (summary.model.as_str(), summary.backend.as_str()),
        ("lenet5", "webgpu")
    );
    let c3 = summary.nodes.iter().find(|n| n.name == "c3").unwrap();
    assert_eq!(c3.shape, [16, 10, 10]);
    let on_gpu = gpu.node_output("c3".into()).await.map_err(message).unwrap();
    let on_cpu = cpu.node_output("c3".into()).await.map_err(message).unwrap();
    assert_eq!(on_gpu.len(), 16 * 10 * 10);
    assert!(on_gpu.iter().zip(&on_cpu).all(|(&g, &c)| close(g, c)));
    assert!(on_gpu.iter().any(|&v| v != 0.0));
    assert_eq!(gpu.gpu_reads(), ["output", "c3"]);
    assert!(
        cpu.gpu_reads().is_empty(),
        "the CPU session kept every output"
    );

    // A new pass starts the list again.
    classify(&gpu).await;
    assert_eq!(gpu.gpu_reads(), ["output"]);
    let field = gpu
        .receptive_field_box("c3", 0, 0)
        .map_err(message)
        .unwrap();
    assert_eq!(field, [0, 0, 13, 13], "c3's field is 14x14 from the corner");
}

/// What `draw_node` returns (see `gpu::draw::TileLayout`).
#[derive(Deserialize)]
struct TileLayout {
    tiles: u32,
    cols: u32,
    rows: u32,
    width: u32,
    height: u32,
}

/// A `<canvas>` in the test page.
fn new_canvas() -> web_sys::HtmlCanvasElement {
    js_sys::Function::new_no_args(
        "const c = document.createElement('canvas'); document.body.append(c); return c;",
    )
    .call0(&JsValue::NULL)
    .expect("making a canvas")
    .unchecked_into()
}

/// The RGBA pixels of a WebGPU canvas, copied through a 2D canvas in the same task as the
/// draw (before the frame is handed to the compositor).
fn canvas_pixels(canvas: &web_sys::HtmlCanvasElement) -> Vec<u8> {
    let read = js_sys::Function::new_with_args(
        "canvas",
        "const o = document.createElement('canvas'); o.width = canvas.width; o.height = canvas.height;
         const x = o.getContext('2d'); x.drawImage(canvas, 0, 0);
         return x.getImageData(0, 0, o.width, o.height).data;",
    );
    let data = read
        .call1(&JsValue::NULL, canvas)
        .expect("reading the canvas");
    data.unchecked_into::<js_sys::Uint8ClampedArray>().to_vec()
}

#[wasm_bindgen_test]
async fn a_node_is_drawn_into_a_canvas_from_its_gpu_buffer_without_reading_it_back() {
    use convscope::gpu::draw::{draw_tiles, Norm};
    use convscope::model::Shape;
    use convscope::tensor::Tensor;
    let gpu = webgpu_session().await;
    let cpu = Session::create(Some("cpu".into())).await;
    load(&gpu, "lenet5", LENET5).await;
    load(&cpu, "lenet5", LENET5).await;
    classify(&gpu).await;
    classify(&cpu).await;
    let on_cpu = cpu.node_output("c3".into()).await.map_err(message).unwrap();
    let on_cpu = Tensor::new(vec![16, 10, 10], on_cpu);

    let ranges = gpu.node_ranges("c3".into()).await.map_err(message).unwrap();
    let ranges = ranges.expect("after a WebGPU pass c3 is drawn on the GPU");
    let expected = convscope::gpu::draw::ranges(&on_cpu);
    assert_eq!(ranges.len(), 3 * 16);
    for (got, want) in ranges.chunks(3).zip(&expected) {
        assert!(
            got.iter().zip(want).all(|(&g, &c)| close(g, c)),
            "{got:?} vs {want:?}"
        );
    }
    let flat = gpu.node_ranges("output".into()).await.map_err(message);
    assert!(flat.unwrap().is_none(), "a flat node is read back");

    // A colormap one unit apart per entry: a value at an index boundary, where the GPU's
    // and the CPU's sums differ in the last bits, moves its colour by one unit.
    let colormap: Vec<u8> = (0..256u32)
        .flat_map(|i| [i as u8, 255 - i as u8, (i / 2) as u8])
        .collect();
    let triples: [[u8; 3]; 256] =
        std::array::from_fn(|i| [colormap[3 * i], colormap[3 * i + 1], colormap[3 * i + 2]]);
    let order: Vec<u32> = (0..16).rev().collect();
    for (norm, kind) in [("channel", Norm::Channel), ("layer", Norm::Layer)] {
        let canvas = new_canvas();
        let layout = gpu
            .draw_node(
                "c3".into(),
                canvas.clone(),
                norm.into(),
                order.clone(),
                24,
                200,
                colormap.clone(),
            )
            .map_err(message)
            .expect("drawing c3");
        let layout: TileLayout = parse(layout);
        assert_eq!((layout.tiles, layout.cols, layout.rows), (16, 7, 3));
        assert_eq!(
            (canvas.width(), canvas.height()),
            (layout.width, layout.height)
        );
        let got = canvas_pixels(&canvas);
        let twin_layout =
            convscope::gpu::draw::TileLayout::new(Shape::new(16, 10, 10), 16, 24, 200);
        let want = draw_tiles(&on_cpu, &twin_layout, kind, &order, &triples);
        assert_eq!(got.len(), want.len());
        let worst = got.iter().zip(&want).map(|(&g, &c)| g.abs_diff(c)).max();
        assert!(
            worst <= Some(1),
            "{norm}: a pixel is {worst:?} units from the CPU twin's"
        );
        assert!(
            got.chunks(4).any(|p| p[3] == 255 && p[0] > 0),
            "{norm}: nothing drawn"
        );
    }
    assert_eq!(gpu.gpu_reads(), ["output", "c3 (channel ranges)"]);
    let bad = gpu.draw_node(
        "c3".into(),
        new_canvas(),
        "loud".into(),
        order,
        24,
        200,
        colormap,
    );
    assert!(message(bad.unwrap_err()).contains("neither `channel` nor `layer`"));
}

/// After a CPU pass the engine paints a node's tiles (the GPU drawing's CPU twin itself) into
/// a 2D canvas, with the ranges taken from the node's values.
#[wasm_bindgen_test]
async fn after_a_cpu_pass_the_engine_paints_a_nodes_tiles_into_a_2d_canvas() {
    use convscope::gpu::draw::{draw_tiles, Norm};
    use convscope::model::Shape;
    use convscope::tensor::Tensor;
    let cpu = Session::create(Some("cpu".into())).await;
    load(&cpu, "lenet5", LENET5).await;
    classify(&cpu).await;
    let on_cpu = cpu.node_output("c3".into()).await.map_err(message).unwrap();
    let on_cpu = Tensor::new(vec![16, 10, 10], on_cpu);
    let ranges = cpu.node_ranges("c3".into()).await.map_err(message).unwrap();
    let ranges = ranges.expect("after a CPU pass the engine paints c3");
    let from_values: Vec<f32> = convscope::gpu::draw::ranges(&on_cpu)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ranges, from_values, "a CPU pass's ranges are its values'");

    let colormap: Vec<u8> = (0..256u32)
        .flat_map(|i| [i as u8, 255 - i as u8, (i / 2) as u8])
        .collect();
    let triples: [[u8; 3]; 256] =
        std::array::from_fn(|i| [colormap[3 * i], colormap[3 * i + 1], colormap[3 * i + 2]]);
    let order: Vec<u32> = (0..16).rev().collect();
    let canvas = new_canvas();
    let draw = |node: &str, canvas, order: Vec<u32>| {
        cpu.draw_node(
            node.into(),
            canvas,
            "layer".into(),
            order,
            24,
            200,
            colormap.clone(),
        )
    };
    let layout = draw("c3", canvas.clone(), order.clone())
        .map_err(message)
        .expect("painting c3 after a CPU pass");
    let layout: TileLayout = parse(layout);
    assert_eq!((layout.tiles, layout.cols, layout.rows), (16, 7, 3));
    let twin_layout = convscope::gpu::draw::TileLayout::new(Shape::new(16, 10, 10), 16, 24, 200);
    let want = draw_tiles(&on_cpu, &twin_layout, Norm::Layer, &order, &triples);
    assert!(
        canvas_pixels(&canvas) == want,
        "the painted tiles are not the twin's"
    );
    let flat = draw("output", new_canvas(), vec![0]);
    assert!(message(flat.unwrap_err()).contains("not a map"));
    let outside = draw("c3", new_canvas(), vec![16]);
    assert!(message(outside.unwrap_err()).contains("channels of `c3` (0..16)"));
}

#[wasm_bindgen_test]
async fn cpu_fallback_session_classifies_and_shows_feature_maps() {
    let cpu = Session::create(Some("cpu".into())).await;
    assert!(!cpu.device_lost());
    load(&cpu, "lenet5_modern", LENET5_MODERN).await;
    let result = classify(&cpu).await;
    assert_eq!(result.backend, "cpu");
    assert_eq!(result.top5[0].name, "Trouser");
    let conv1 = cpu
        .node_output("conv1".into())
        .await
        .map_err(message)
        .unwrap();
    assert_eq!(conv1.len(), 6 * 28 * 28);
    let rgba = cpu.input_rgba().map_err(message).unwrap();
    assert_eq!(rgba.len(), 4 * 28 * 28);
}

#[wasm_bindgen_test]
async fn truncated_weights_are_refused_and_the_model_stays() {
    let cpu = Session::create(Some("cpu".into())).await;
    load(&cpu, "lenet5", LENET5).await;
    let half = file(&LENET5[..LENET5.len() / 2]);
    let e = cpu
        .load_model("lenet5".into(), Some(half), None)
        .await
        .map(|_| ())
        .map_err(message)
        .unwrap_err();
    assert!(e.contains("these weights do not fit lenet5"), "{e}");
    assert!(e.contains("truncated"), "{e}");
    let empty = file(&[]);
    let e = cpu.load_model("lenet5".into(), Some(empty), None).await;
    let e = message(e.map(|_| ()).unwrap_err());
    assert!(e.contains("truncated: it has 0 bytes"), "{e}");
    // A file whose reading stopped part way.
    let unfinished = file_of(LENET5.len(), &LENET5[..100]);
    let e = cpu
        .load_model("lenet5".into(), Some(unfinished), None)
        .await;
    let e = message(e.map(|_| ()).unwrap_err());
    assert!(
        e.contains(&format!("read up to byte 100 of {}", LENET5.len())),
        "{e}"
    );
    // The previous model is still loaded and runs.
    assert_eq!(classify(&cpu).await.top5.len(), 5);
}

#[wasm_bindgen_test]
async fn weights_of_another_model_are_refused_tensor_by_tensor() {
    let gpu = webgpu_session().await;
    let e = gpu
        .load_model("lenet5".into(), Some(file(LENET5_MODERN)), None)
        .await;
    let e = message(e.map(|_| ()).unwrap_err());
    assert!(e.contains("missing tensor `c1.weight`"), "{e}");
    assert!(e.contains("unexpected tensor `conv1.weight`"), "{e}");
}

#[wasm_bindgen_test]
async fn bad_calls_get_errors_a_person_can_act_on() {
    let cpu = Session::create(Some("cpu".into())).await;
    let e = |r: Result<JsValue, JsError>| message(r.unwrap_err());
    assert!(e(cpu.summary()).contains("no model is loaded yet"));
    let missing = cpu.load_model("lenet7".into(), None, None).await;
    assert!(e(missing).contains("no model called `lenet7`"));
    let labels = cpu.set_imagenet_labels("tench\ngoldfish");
    assert!(message(labels.unwrap_err()).contains("has 2 lines, not 1000"));

    load(&cpu, "lenet5", LENET5).await;
    let run = cpu.classify_rgba(10, 10, vec![0; 10 * 10 * 3]).await;
    assert!(e(run).contains("expected 10x10x4 bytes of RGBA"));
    let run = cpu.classify_rgba(0, 5, Vec::new()).await;
    assert!(e(run).contains("the image is empty"));
    let early = cpu.node_output("c1".into()).await.unwrap_err();
    assert!(message(early).contains("nothing has run yet"));
    classify(&cpu).await;
    let unknown = cpu.node_output("c9".into()).await.unwrap_err();
    assert!(message(unknown).contains("has no node called `c9`"));
    let outside = cpu.receptive_field_box("c1", 28, 0).unwrap_err();
    assert!(message(outside).contains("outside `c1`'s 28x28 map"));
}

#[wasm_bindgen_test]
async fn random_batchnorm_weights_are_made_in_steps_that_report_progress() {
    let cpu = Session::create(Some("cpu".into())).await;
    let seen: Rc<RefCell<Vec<(String, f64)>>> = Rc::default();
    let log = seen.clone();
    let progress = Closure::<dyn FnMut(String, f64)>::new(move |stage, fraction| {
        log.borrow_mut().push((stage, fraction));
    });
    let callback: &js_sys::Function = progress.as_ref().unchecked_ref();
    let report = cpu
        .load_model("resnet18".into(), None, Some(callback.clone()))
        .await
        .map_err(message)
        .unwrap();
    let report: LoadReport = parse(report);
    assert!(!report.trained);
    assert!(
        report
            .weights
            .contains("BatchNorm statistics and the scale of `fc` (scores spread by 1) calibrated on a synthetic 56x56 image"),
        "{}",
        report.weights
    );
    let seen = seen.borrow();
    for stage in ["making random weights", "calibrating the random weights"] {
        let fractions: Vec<f64> = seen
            .iter()
            .filter(|(s, _)| s == stage)
            .map(|&(_, f)| f)
            .collect();
        assert!(fractions.len() >= 2, "{stage}: {fractions:?}");
        assert!(
            fractions.windows(2).all(|w| w[0] <= w[1]),
            "{stage}: {fractions:?}"
        );
        assert!(fractions.iter().all(|f| (0.0..=1.0).contains(f)));
        assert_eq!(fractions.last(), Some(&1.0), "{stage} ends at 1");
    }
}

/// Wraps `GPUAdapter.prototype.requestDevice` so the test can reach the device a session opens.
const KEEP_DEVICES: &str = "if (!globalThis.keptDevices) {
  globalThis.keptDevices = [];
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await request.apply(this, args);
    globalThis.keptDevices.push(device);
    return device;
  };
}";

async fn sleep_ms(ms: u32) {
    let promise = js_sys::eval(&format!("new Promise((r) => setTimeout(r, {ms}))")).unwrap();
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
        .await
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_lost_device_is_reported_and_a_new_session_works() {
    js_sys::eval(KEEP_DEVICES).unwrap();
    let gpu = webgpu_session().await;
    load(&gpu, "lenet5", LENET5).await;
    classify(&gpu).await;
    assert!(!gpu.device_lost());
    js_sys::eval("globalThis.keptDevices.at(-1).destroy()").unwrap();
    for _ in 0..100 {
        if gpu.device_lost() {
            break;
        }
        sleep_ms(10).await;
    }
    assert!(gpu.device_lost(), "destroying the device was not noticed");
    let (w, h, rgba) = trousers();
    let e = message(gpu.classify_rgba(w, h, rgba).await.unwrap_err());
    assert!(e.contains("the GPU device was lost"), "{e}");
    let e = message(gpu.node_output("c1".into()).await.unwrap_err());
    assert!(e.contains("the GPU device was lost"), "{e}");
    // What the page does next: a new session, the model again.
    let fresh = webgpu_session().await;
    load(&fresh, "lenet5", LENET5).await;
    assert_eq!(classify(&fresh).await.backend, "webgpu");

    // Lost in the middle of a pass: an error that says so, not a silent switch to the CPU.
    js_sys::eval("queueMicrotask(() => globalThis.keptDevices.at(-1).destroy())").unwrap();
    let (w, h, rgba) = trousers();
    let e = message(fresh.classify_rgba(w, h, rgba).await.unwrap_err());
    assert!(e.contains("the GPU device was lost during the pass"), "{e}");
}

/// With no backend asked for, a software adapter (SwiftShader here) gets the fast CPU engine,
/// which is many times faster there, and the reason says how to force WebGPU.
#[wasm_bindgen_test]
async fn a_software_adapter_gets_the_fast_cpu_engine_unless_webgpu_is_forced() {
    let auto = Session::create(None).await;
    assert_eq!(auto.backend(), "cpu", "{}", auto.backend_reason());
    assert!(
        auto.backend_reason().contains("software"),
        "{}",
        auto.backend_reason()
    );
    assert!(auto.backend_reason().contains("backend=webgpu"));
    load(&auto, "lenet5", LENET5).await;
    assert_eq!(classify(&auto).await.top5[0].name, "Trouser");
    let reference = Session::create(Some("reference".into())).await;
    assert_eq!(reference.backend(), "reference");
}
