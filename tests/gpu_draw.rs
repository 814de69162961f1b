//! Feature maps drawn on the GPU straight from a buffer against the CPU twin's RGBA, on
//! awkward tensors and both normalisations; and the GPU ranges against the CPU's.

mod common;

use common::{gpu, random_input};
use convscope::gpu::draw::{
    draw_tiles, ranges, DrawSpec, FeatureMapDrawer, Norm, TileLayout, TARGET_FORMAT,
};
use convscope::gpu::{read_bytes, GpuContext};
use convscope::model::Shape;
use convscope::tensor::Tensor;

/// A colormap whose neighbouring entries differ in every channel, so an index off by one shows.
fn ramp() -> [[u8; 3]; 256] {
    std::array::from_fn(|i| [i as u8, 255 - i as u8, (i as u8).wrapping_mul(7)])
}

fn upload(ctx: &GpuContext, t: &Tensor) -> wgpu::Buffer {
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("node output"),
        size: (t.data.len() as u64 * 4).max(16),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue
        .write_buffer(&buffer, 0, bytemuck::cast_slice(&t.data));
    buffer
}

/// Draw on the GPU into an offscreen texture and read its pixels back, rows unpadded.
fn draw_on_gpu(
    ctx: &GpuContext,
    drawer: &FeatureMapDrawer,
    t: &Tensor,
    spec: &DrawSpec,
) -> Vec<u8> {
    let l = spec.layout;
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("feature maps"),
        size: wgpu::Extent3d {
            width: l.width,
            height: l.height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: TARGET_FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = texture.create_view(&Default::default());
    let buffer = upload(ctx, t);
    let shape = Shape::new(t.shape[0], t.shape[1], t.shape[2]);
    drawer.draw(ctx, &buffer, shape, &view, spec);
    let row = (4 * l.width).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let pixels = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("pixels"),
        size: (row * l.height) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &pixels,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: None,
            },
        },
        wgpu::Extent3d {
            width: l.width,
            height: l.height,
            depth_or_array_layers: 1,
        },
    );
    ctx.queue.submit([encoder.finish()]);
    let raw = pollster::block_on(read_bytes(ctx, &pixels, (row * l.height) as u64)).unwrap();
    raw.chunks(row as usize)
        .flat_map(|r| r[..4 * l.width as usize].to_vec())
        .collect()
}

/// GPU pixels within 1 unit of the CPU twin's, every channel of every pixel.
fn check(what: &str, t: &Tensor, tile_px: u32, max_width: u32, order: Option<Vec<u32>>) {
    let Some(ctx) = gpu() else { return };
    let drawer = FeatureMapDrawer::new(&ctx.device);
    let shape = Shape::new(t.shape[0], t.shape[1], t.shape[2]);
    let order = order.unwrap_or_else(|| (0..shape.c as u32).collect());
    let colormap = ramp();
    for norm in [Norm::Channel, Norm::Layer] {
        let layout = TileLayout::new(shape, order.len(), tile_px, max_width);
        let spec = DrawSpec {
            layout,
            norm,
            order: &order,
            colormap: &colormap,
        };
        let expected = draw_tiles(t, &layout, norm, &order, &colormap);
        let got = draw_on_gpu(ctx, &drawer, t, &spec);
        assert_eq!(got.len(), expected.len(), "{what} {norm:?}: sizes differ");
        let colours: std::collections::BTreeSet<&[u8]> = expected.chunks(4).collect();
        assert!(
            colours.len() > 2,
            "{what} {norm:?}: the twin drew almost nothing"
        );
        for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
            let (px, ch) = (i / 4, i % 4);
            let (x, y) = (px as u32 % layout.width, px as u32 / layout.width);
            assert!(
                g.abs_diff(e) <= 1,
                "{what} {norm:?}: pixel ({x}, {y}) channel {ch}: gpu {g}, cpu {e}"
            );
        }
    }
}

#[test]
fn one_channel_odd_size_matches_the_cpu_twin() {
    check("1x5x7", &random_input(1, 5, 7, 1), 72, 600, None);
}

#[test]
fn many_channels_in_a_wrapped_grid_match_the_cpu_twin() {
    check("13x9x6", &random_input(13, 9, 6, 2), 40, 200, None);
}

#[test]
fn a_constant_channel_and_negative_values_match_the_cpu_twin() {
    let mut t = random_input(4, 3, 11, 3);
    for v in &mut t.data[33..66] {
        *v = 0.25;
    }
    for v in &mut t.data[66..99] {
        *v = -3.0 - v.abs() * 100.0;
    }
    check("constant and negative", &t, 72, 400, None);
}

#[test]
fn a_sorted_order_and_one_enlarged_tile_match_the_cpu_twin() {
    let t = random_input(6, 7, 7, 4);
    check("sorted", &t, 30, 120, Some(vec![5, 0, 3, 1, 4, 2]));
    check("enlarged", &t, 320, 320, Some(vec![3]));
}

#[test]
fn gpu_ranges_match_the_cpu_ranges() {
    let Some(ctx) = gpu() else { return };
    let drawer = FeatureMapDrawer::new(&ctx.device);
    let t = random_input(70, 9, 13, 5);
    let buffer = upload(ctx, &t);
    let got = pollster::block_on(drawer.ranges(ctx, &buffer, Shape::new(70, 9, 13))).unwrap();
    let expected = ranges(&t);
    assert_eq!(got.len(), 70);
    for (ch, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!([g[0], g[1]], [e[0], e[1]], "channel {ch} min/max");
        assert!(
            (g[2] - e[2]).abs() <= 1e-5,
            "channel {ch} mean: gpu {}, cpu {}",
            g[2],
            e[2]
        );
    }
}

/// A convolution whose BatchNorm and ReLU the plan fuses into its kernel: after
/// `materialize`, its own buffer holds the un-fused convolution output the page draws.
#[test]
fn a_fused_convolution_is_drawn_from_its_own_output() {
    use convscope::gpu::{Plan, PlanOptions};
    use convscope::model::{Activation, BatchNorm, Conv2d, Layer, Network};
    let Some(ctx) = gpu() else { return };
    let mut net = Network::new("fused", 3, (12, 12));
    let conv = net.then("conv", Layer::Conv2d(Conv2d::new(3, 6, 3).pad(1)));
    let bn = net.then(
        "bn",
        Layer::BatchNorm(BatchNorm {
            channels: 6,
            eps: 1e-5,
        }),
    );
    let out = net.then("relu", Layer::Activation(Activation::Relu));
    net.outputs.push(out);
    let mut weights = convscope::train::init_weights(&net, 3);
    for (name, value) in [
        ("bn.running_mean", 0.3),
        ("bn.running_var", 2.0),
        ("bn.bias", -0.2),
    ] {
        weights.tensors.get_mut(name).unwrap().data.fill(value);
    }
    let input = random_input(3, 12, 12, 9);
    let plan = pollster::block_on(Plan::new(
        ctx,
        &net,
        &weights,
        12,
        12,
        PlanOptions::default(),
    ))
    .unwrap();
    assert_eq!(
        plan.fused_into(bn),
        Some(conv),
        "the BatchNorm is folded into the convolution"
    );
    plan.forward(ctx, &input).unwrap();
    plan.materialize(ctx, &[conv]);
    let drawer = FeatureMapDrawer::new(&ctx.device);
    let got =
        pollster::block_on(drawer.ranges(ctx, plan.buffer(conv), Shape::new(6, 12, 12))).unwrap();
    let reference = convscope::cpu::forward(&net, &weights, &input).unwrap();
    let expected = ranges(&reference[conv]);
    assert!(
        expected.iter().any(|r| r[0] < 0.0),
        "the convolution has negative outputs"
    );
    for (ch, (g, e)) in got.iter().zip(&expected).enumerate() {
        for k in 0..3 {
            assert!(
                (g[k] - e[k]).abs() <= 1e-4 + 1e-3 * e[k].abs(),
                "channel {ch}: gpu {g:?}, cpu {e:?}"
            );
        }
    }
}
