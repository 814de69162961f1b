//! GoogLeNet (Inception v1): as in the paper, with its auxiliary classifiers, and as in torchvision.
//!
//! Sources: Szegedy et al., "Going deeper with convolutions" (2014, arXiv:1409.4842), Table 1
//! and Fig. 3 for `googlenet`; node names follow BVLC's Caffe reproduction
//! (`models/bvlc_googlenet/train_val.prototxt`, `/` written as `.`), which also gives what the
//! paper leaves out: the LRN constants and pooling that rounds up (Caffe's default), which is
//! what makes the sizes in Table 1 come out (112 -> 56 -> 28 -> 14 -> 7).
//! torchvision `models/googlenet.py` for `googlenet_torchvision`.

use crate::model::{
    Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Lrn, Network, NodeId, Pool2d,
};

/// One inception module: the columns of Table 1.
struct Inception {
    /// `inception3a` .. `inception5b`.
    name: &'static str,
    in_channels: usize,
    n1x1: usize,
    n3x3_reduce: usize,
    n3x3: usize,
    n5x5_reduce: usize,
    /// Output of the "5x5" branch (a 3x3 convolution in torchvision).
    n5x5: usize,
    pool_proj: usize,
}

impl Inception {
    fn out_channels(&self) -> usize {
        self.n1x1 + self.n3x3 + self.n5x5 + self.pool_proj
    }
}

const fn inception(
    name: &'static str,
    in_channels: usize,
    [n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj]: [usize; 6],
) -> Inception {
    Inception {
        name,
        in_channels,
        n1x1,
        n3x3_reduce,
        n3x3,
        n5x5_reduce,
        n5x5,
        pool_proj,
    }
}

/// Table 1 of the paper; torchvision uses the same numbers.
const INCEPTIONS: [Inception; 9] = [
    inception("inception3a", 192, [64, 96, 128, 16, 32, 32]),
    inception("inception3b", 256, [128, 128, 192, 32, 96, 64]),
    inception("inception4a", 480, [192, 96, 208, 16, 48, 64]),
    inception("inception4b", 512, [160, 112, 224, 24, 64, 64]),
    inception("inception4c", 512, [128, 128, 256, 24, 64, 64]),
    inception("inception4d", 512, [112, 144, 288, 32, 64, 64]),
    inception("inception4e", 528, [256, 160, 320, 32, 128, 128]),
    inception("inception5a", 832, [256, 160, 320, 32, 128, 128]),
    inception("inception5b", 832, [384, 192, 384, 48, 128, 128]),
];

/// The paper's network: convolutions with bias and ReLU, LRN, true 5x5 branches, and the
/// two auxiliary classifiers as side outputs: `outputs = [main, aux1, aux2]`.
pub fn googlenet() -> Network {
    let mut net = Network::new("googlenet", 3, (224, 224));
    let x = conv_relu(
        &mut net,
        "conv1.7x7_s2",
        "conv1.relu_7x7",
        Network::INPUT,
        Conv2d::new(3, 64, 7).stride(2).pad(3),
    );
    let x = max_pool(&mut net, "pool1.3x3_s2", x);
    let x = net.add("pool1.norm1", Layer::Lrn(caffe_lrn()), &[x]);
    let x = conv_relu(
        &mut net,
        "conv2.3x3_reduce",
        "conv2.relu_3x3_reduce",
        x,
        Conv2d::new(64, 64, 1),
    );
    let x = conv_relu(
        &mut net,
        "conv2.3x3",
        "conv2.relu_3x3",
        x,
        Conv2d::new(64, 192, 3).pad(1),
    );
    let x = net.add("conv2.norm2", Layer::Lrn(caffe_lrn()), &[x]);
    let mut x = max_pool(&mut net, "pool2.3x3_s2", x);

    let mut aux = Vec::new();
    for m in &INCEPTIONS {
        x = paper_inception(&mut net, m, x);
        match m.name {
            "inception3b" => x = max_pool(&mut net, "pool3.3x3_s2", x),
            "inception4a" => aux.push(aux_classifier(&mut net, "aux1", m.out_channels(), x)),
            "inception4d" => aux.push(aux_classifier(&mut net, "aux2", m.out_channels(), x)),
            "inception4e" => x = max_pool(&mut net, "pool4.3x3_s2", x),
            _ => {}
        }
    }

    let x = net.add("pool5.7x7_s1", Layer::AvgPool2d(Pool2d::new(7, 1)), &[x]);
    net.add(
        "pool5.drop_7x7_s1",
        Layer::Dropout(Dropout { p: 0.4 }),
        &[x],
    );
    net.then("fc", Layer::Dense(Dense::new(1024, 1000)));
    let main = net.then("softmax", Layer::Softmax);
    net.outputs = [vec![main], aux].concat();
    net
}

/// torchvision's GoogLeNet (`aux_logits=False`, the configuration its published weights and
/// parameter count use). Every convolution is a BasicConv2d: no bias, BatchNorm (eps 1e-3),
/// ReLU; the "5x5" branch is a 3x3 convolution (torchvision issue #906); the last max pool
/// is 2x2/2. Its pretrained weights expect `transform_input` (a per-channel affine map of
/// the input) to have been applied; that is preprocessing, not a layer.
///
/// The auxiliary heads are left out: they pool with `adaptive_avg_pool2d(x, (4, 4))`, whose
/// 14 -> 4 windows start at 0, 3, 7, 10 (no fixed stride), which no `Pool2d` expresses.
pub fn googlenet_torchvision() -> Network {
    let mut net = Network::new("googlenet_torchvision", 3, (224, 224));
    let x = basic_conv(
        &mut net,
        "conv1",
        Network::INPUT,
        Conv2d::new(3, 64, 7).stride(2).pad(3),
    );
    let x = max_pool(&mut net, "maxpool1", x);
    let x = basic_conv(&mut net, "conv2", x, Conv2d::new(64, 64, 1));
    let x = basic_conv(&mut net, "conv3", x, Conv2d::new(64, 192, 3).pad(1));
    let mut x = max_pool(&mut net, "maxpool2", x);
    for m in &INCEPTIONS {
        x = torchvision_inception(&mut net, m, x);
        if m.name == "inception3b" {
            x = max_pool(&mut net, "maxpool3", x);
        } else if m.name == "inception4e" {
            let pool = Pool2d::new(2, 2).ceil();
            x = net.add("maxpool4", Layer::MaxPool2d(pool), &[x]);
        }
    }
    net.add("avgpool", Layer::GlobalAvgPool, &[x]);
    net.then("flatten", Layer::Flatten);
    net.then("dropout", Layer::Dropout(Dropout { p: 0.2 }));
    let fc = net.then("fc", Layer::Dense(Dense::new(1024, 1000)));
    net.outputs = vec![fc];
    net
}

/// Fig. 2(b) / Fig. 3 with Caffe's names: `inception3a.1x1`, `.3x3_reduce`, `.3x3`,
/// `.5x5_reduce`, `.5x5`, `.pool`, `.pool_proj`, each conv followed by `.relu_<conv>`,
/// joined by `.output`.
fn paper_inception(net: &mut Network, m: &Inception, input: NodeId) -> NodeId {
    let n = m.name;
    let conv = |net: &mut Network, what: &str, from: NodeId, c: Conv2d| {
        conv_relu(
            net,
            &format!("{n}.{what}"),
            &format!("{n}.relu_{what}"),
            from,
            c,
        )
    };
    let b1 = conv(net, "1x1", input, Conv2d::new(m.in_channels, m.n1x1, 1));
    let r3 = conv(
        net,
        "3x3_reduce",
        input,
        Conv2d::new(m.in_channels, m.n3x3_reduce, 1),
    );
    let b2 = conv(net, "3x3", r3, Conv2d::new(m.n3x3_reduce, m.n3x3, 3).pad(1));
    let r5 = conv(
        net,
        "5x5_reduce",
        input,
        Conv2d::new(m.in_channels, m.n5x5_reduce, 1),
    );
    let b3 = conv(net, "5x5", r5, Conv2d::new(m.n5x5_reduce, m.n5x5, 5).pad(2));
    let pool = net.add(
        format!("{n}.pool"),
        Layer::MaxPool2d(Pool2d::new(3, 1).pad(1).ceil()),
        &[input],
    );
    let b4 = conv(
        net,
        "pool_proj",
        pool,
        Conv2d::new(m.in_channels, m.pool_proj, 1),
    );
    net.add(format!("{n}.output"), Layer::Concat, &[b1, b2, b3, b4])
}

/// torchvision's `Inception`: `branch1`, `branch2.{0,1}`, `branch3.{0,1}`,
/// `branch4.{0 (max pool), 1}`, joined by `.concat`.
fn torchvision_inception(net: &mut Network, m: &Inception, input: NodeId) -> NodeId {
    let n = m.name;
    let cin = m.in_channels;
    let b1 = basic_conv(
        net,
        &format!("{n}.branch1"),
        input,
        Conv2d::new(cin, m.n1x1, 1),
    );
    let r3 = Conv2d::new(cin, m.n3x3_reduce, 1);
    let x = basic_conv(net, &format!("{n}.branch2.0"), input, r3);
    let c3 = Conv2d::new(m.n3x3_reduce, m.n3x3, 3).pad(1);
    let b2 = basic_conv(net, &format!("{n}.branch2.1"), x, c3);
    let r5 = Conv2d::new(cin, m.n5x5_reduce, 1);
    let x = basic_conv(net, &format!("{n}.branch3.0"), input, r5);
    let c5 = Conv2d::new(m.n5x5_reduce, m.n5x5, 3).pad(1);
    let b3 = basic_conv(net, &format!("{n}.branch3.1"), x, c5);
    let pool = net.add(
        format!("{n}.branch4.0"),
        Layer::MaxPool2d(Pool2d::new(3, 1).pad(1).ceil()),
        &[input],
    );
    let proj = Conv2d::new(cin, m.pool_proj, 1);
    let b4 = basic_conv(net, &format!("{n}.branch4.1"), pool, proj);
    net.add(format!("{n}.concat"), Layer::Concat, &[b1, b2, b3, b4])
}

/// The paper's auxiliary classifier (§5): avg pool 5x5/3, 1x1 conv 128 + ReLU, fc 1024 +
/// ReLU, dropout 70%, linear 1000, softmax. Returns its softmax node.
fn aux_classifier(net: &mut Network, name: &str, channels: usize, input: NodeId) -> NodeId {
    let x = net.add(
        format!("{name}.ave_pool"),
        Layer::AvgPool2d(Pool2d::new(5, 3)),
        &[input],
    );
    let conv = Conv2d::new(channels, 128, 1);
    let x = conv_relu(
        net,
        &format!("{name}.conv"),
        &format!("{name}.relu_conv"),
        x,
        conv,
    );
    net.add(format!("{name}.flatten"), Layer::Flatten, &[x]);
    // 128 x 4 x 4 at the default input size.
    net.then(format!("{name}.fc"), Layer::Dense(Dense::new(2048, 1024)));
    net.then(
        format!("{name}.relu_fc"),
        Layer::Activation(Activation::Relu),
    );
    net.then(
        format!("{name}.drop_fc"),
        Layer::Dropout(Dropout { p: 0.7 }),
    );
    net.then(
        format!("{name}.classifier"),
        Layer::Dense(Dense::new(1024, 1000)),
    );
    net.then(format!("{name}.softmax"), Layer::Softmax)
}

/// Caffe's `local_size 5, alpha 1e-4, beta 0.75` (k defaults to 1). Caffe divides alpha by
/// the window size; `Lrn` does not, so alpha here is 1e-4 / 5.
fn caffe_lrn() -> Lrn {
    Lrn {
        size: 5,
        alpha: 1e-4 / 5.0,
        beta: 0.75,
        k: 1.0,
    }
}

/// Max pool 3x3/2 that rounds up, as both Caffe and torchvision (`ceil_mode=True`) do.
fn max_pool(net: &mut Network, name: &str, input: NodeId) -> NodeId {
    net.add(name, Layer::MaxPool2d(Pool2d::new(3, 2).ceil()), &[input])
}

fn conv_relu(net: &mut Network, conv: &str, relu: &str, input: NodeId, c: Conv2d) -> NodeId {
    let x = net.add(conv, Layer::Conv2d(c), &[input]);
    net.add(relu, Layer::Activation(Activation::Relu), &[x])
}

/// torchvision's BasicConv2d `name`: `name.conv` (no bias), `name.bn` (eps 1e-3), `name.relu`.
fn basic_conv(net: &mut Network, name: &str, input: NodeId, c: Conv2d) -> NodeId {
    let channels = c.out_channels;
    let x = net.add(format!("{name}.conv"), Layer::Conv2d(c.no_bias()), &[input]);
    let bn = BatchNorm {
        channels,
        eps: 1e-3,
    };
    let x = net.add(format!("{name}.bn"), Layer::BatchNorm(bn), &[x]);
    net.add(
        format!("{name}.relu"),
        Layer::Activation(Activation::Relu),
        &[x],
    )
}
