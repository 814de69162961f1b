// A large ONNX model written by hand for the page's memory test: image [1, 3, S, S] ->
// Flatten -> Gemm (transB) to `outputs` classes, its weight seeded and stored in raw_data.
// Encoded with the protobuf wire format (onnx.proto3's field numbers), since the test
// machine has no onnx package for JavaScript; tests/onnx_import.rs covers the real fixtures.
import { closeSync, openSync, writeSync } from 'node:fs';

const varint = (n) => {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
};
/** Field `field` as a varint. */
const int = (field, n) => Buffer.concat([varint(field << 3), varint(n)]);
/** Field `field` as length-delimited bytes (a string, message or raw data). */
const bytes = (field, ...parts) => {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
};
const FLOAT = 1;

function tensor(name, dims, data) {
  return bytes(5, ...dims.map((d) => int(1, d)), int(2, FLOAT), bytes(8, name), bytes(9, Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
}
/** A ValueInfoProto as field `field`: a float tensor's name and (optional) dims. */
function valueInfo(field, name, dims = null) {
  if (!dims) return bytes(field, bytes(1, name));
  const shape = bytes(2, ...dims.map((d) => bytes(1, int(1, d))));
  return bytes(field, bytes(1, name), bytes(2, bytes(1, int(1, FLOAT), shape)));
}
function node(op, inputs, output, attributes = []) {
  return bytes(1, ...inputs.map((i) => bytes(1, i)), bytes(2, output), bytes(3, output), bytes(4, op), ...attributes);
}

/** Writes the model to `path`; returns its size in bytes. Weights from a seeded LCG. */
export function writeBigOnnx(path, { side = 32, outputs = 20000, seed = 1 } = {}) {
  const features = 3 * side * side;
  const weight = new Float32Array(features * outputs);
  let s = seed >>> 0;
  for (let i = 0; i < weight.length; i += 1) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    weight[i] = (s / 2 ** 32 - 0.5) * 0.05;
  }
  const bias = new Float32Array(outputs).fill(0.01);
  const transB = bytes(5, bytes(1, 'transB'), int(3, 1), int(20, 2));
  const graph = bytes(7,
    node('Flatten', ['image'], 'flat'),
    node('Gemm', ['flat', 'fc.weight', 'fc.bias'], 'logits', [transB]),
    bytes(2, 'big'),
    tensor('fc.weight', [outputs, features], weight),
    tensor('fc.bias', [outputs], bias),
    valueInfo(11, 'image', [1, 3, side, side]),
    valueInfo(12, 'logits', [1, outputs]));
  const model = Buffer.concat([int(1, 7), bytes(2, 'convscope page test'), graph, bytes(8, bytes(1, ''), int(2, 12))]);
  const fd = openSync(path, 'w');
  writeSync(fd, model);
  closeSync(fd);
  return model.length;
}
