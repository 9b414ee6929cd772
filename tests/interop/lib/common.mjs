// Shared helpers for the TensorFlow.js interop checks: the tfjs setup, PASS/FAIL reporting, the
// two save layouts (tfjs-node file:// and the browser http/downloads savers), a disk IOHandler,
// the deterministic prediction input of the fixtures' reference.json, and output summaries.
import * as tf from '@tensorflow/tfjs';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export {tf};

// The CPU backend is pure JS and deterministic. PROD only silences the "install tfjs-node" banner
// (tf.util warn); it changes no arithmetic.
export async function initTf() {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`expected the cpu backend, got ${tf.getBackend()}`);
  if (tf.version.tfjs !== '4.22.0') throw new Error(`expected @tensorflow/tfjs 4.22.0, got ${tf.version.tfjs}`);
}

// ---------------------------------------------------------------------------------------------
// Reporting: one line per check, "PASS name: detail" / "FAIL name: detail". The bash driver counts
// these lines; the process exits 1 when any check failed.
let failures = 0;
export function pass(name, detail = '') {
  console.log(`PASS ${name}${detail ? ': ' + detail : ''}`);
}
export function fail(name, detail = '') {
  failures += 1;
  console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
}
export function check(name, ok, detail = '', failDetail = detail) {
  if (ok) pass(name, detail);
  else fail(name, failDetail);
  return ok;
}
// Runs fn; an exception becomes a FAIL line for `name` instead of killing the script.
export async function guarded(name, fn) {
  try {
    return await fn();
  } catch (e) {
    fail(name, `threw: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
    return undefined;
  }
}
export function finish() {
  process.exitCode = failures > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Bytes and hashing
export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}
export function toUint8(data) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new Error(`not bytes: ${Object.prototype.toString.call(data)}`);
}
export function toArrayBuffer(buf) {
  const u8 = toUint8(buf);
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
}
// WeightData is an ArrayBuffer or an array of them; tfjs joins them the same way.
export function joinWeightData(weightData) {
  if (weightData == null) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData));
}
export function bytesEqual(a, b) {
  return Buffer.compare(Buffer.from(toUint8(a)), Buffer.from(toUint8(b))) === 0;
}
export function firstDifference(a, b) {
  const x = toUint8(a), y = toUint8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; ++i) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : n;
}
// A short, readable description of where two texts/byte strings part.
export function describeDifference(a, b, {binary = false} = {}) {
  const i = firstDifference(a, b);
  if (i < 0) return 'identical';
  const ctx = (u) => {
    const part = Buffer.from(toUint8(u)).subarray(Math.max(0, i - (binary ? 8 : 40)), i + (binary ? 8 : 40));
    return binary ? part.toString('hex') : JSON.stringify(part.toString('utf8'));
  };
  return `sizes ${toUint8(a).length} vs ${toUint8(b).length}, first difference at byte ${i}: ` +
      `expected ...${ctx(a)}... got ...${ctx(b)}...`;
}

// ---------------------------------------------------------------------------------------------
// Weight specs: byte size of each weight in the stream (§1.4), with offsets.
const DTYPE_BYTES = {float32: 4, int32: 4, bool: 1, complex64: 8};
const QUANT_BYTES = {uint8: 1, uint16: 2, float16: 2};
export function weightLayout(specs, joined) {
  const out = [];
  let offset = 0;
  const view = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    let byteLength;
    if (spec.dtype === 'string') {
      byteLength = 0;
      for (let k = 0; k < n; ++k) byteLength += 4 + view.getUint32(offset + byteLength, true);
    } else if (spec.quantization) {
      byteLength = n * QUANT_BYTES[spec.quantization.dtype];
    } else {
      byteLength = n * DTYPE_BYTES[spec.dtype];
    }
    out.push({name: spec.name, offset, byteLength, bytes: joined.subarray(offset, offset + byteLength)});
    offset += byteLength;
  }
  return out;
}

// float64 accumulation in row-major order over the decoded (dequantized) values.
export function valueStats(values) {
  let sum = 0, absSum = 0, min = null, max = null;
  for (let i = 0; i < values.length; ++i) {
    const v = Number(values[i]);
    sum += v;
    absSum += Math.abs(v);
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  return {sum, absSum, min, max};
}

// ---------------------------------------------------------------------------------------------
// The two save layouts, built from ModelArtifacts the way TensorFlow.js builds them.

// tfjs-node NodeFileSystem.save (spec §3.1): key order modelTopology, weightsManifest, format,
// generatedBy, convertedBy, then trainingConfig, signature, userDefinedMetadata when not null-ish;
// one group with paths ["weights.bin"]; no modelInitializer/initializerSignature.
export function nodeLayoutModelJSON(artifacts, paths = ['weights.bin']) {
  const weightsManifest = [{paths}];
  if (artifacts.weightSpecs != null) weightsManifest[0].weights = artifacts.weightSpecs;
  const modelJSON = {
    modelTopology: artifacts.modelTopology,
    weightsManifest,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
  return modelJSON;
}

// tfjs-core io_utils getModelJSONForModelArtifacts, as used by the http and downloads savers with
// the manifest [{paths: ["./model.weights.bin"], weights}].
export function browserLayoutModelJSON(artifacts, weightsPath = './model.weights.bin') {
  const result = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{paths: [weightsPath], weights: artifacts.weightSpecs}],
  };
  if (artifacts.signature != null) result.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) result.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) result.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) result.initializerSignature = artifacts.initializerSignature;
  if (artifacts.trainingConfig != null) result.trainingConfig = artifacts.trainingConfig;
  return result;
}

// A save handler writing the tfjs-node layout into dir (model.json first, then weights.bin).
export function nodeLayoutSaver(dir, sink = {}) {
  return tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(dir, {recursive: true});
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(nodeLayoutModelJSON(artifacts)), 'utf8');
    fs.writeFileSync(path.join(dir, 'weights.bin'), joinWeightData(artifacts.weightData));
    sink.artifacts = artifacts;
    sink.info = tf.io.getModelArtifactsInfoForJSON(artifacts);
    return {modelArtifactsInfo: sink.info};
  });
}

// A save handler writing the browser layout into dir (model.json + model.weights.bin).
export function browserLayoutSaver(dir, sink = {}) {
  return tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(dir, {recursive: true});
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(browserLayoutModelJSON(artifacts)), 'utf8');
    if (artifacts.weightData != null) {
      fs.writeFileSync(path.join(dir, 'model.weights.bin'), joinWeightData(artifacts.weightData));
    }
    sink.artifacts = artifacts;
    sink.info = tf.io.getModelArtifactsInfoForJSON(artifacts);
    return {modelArtifactsInfo: sink.info};
  });
}

// The real tf.io.http saver with a fetchFunc that stores the multipart parts in dir: what a
// browser app POSTs to a server. Used to prove browserLayoutSaver writes the same bytes.
export function httpCaptureSaver(dir) {
  return tf.io.http('http://interop.invalid/upload', {
    fetchFunc: async (url, init) => {
      fs.mkdirSync(dir, {recursive: true});
      for (const [field, value] of init.body.entries()) {
        fs.writeFileSync(path.join(dir, field), Buffer.from(await value.arrayBuffer()));
      }
      return new Response(null, {status: 200});
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Loading from disk: model.json and its shards, relative to the JSON file's folder (Node
// path.join, as tfjs-node's loader does), every file of every group in manifest order joined into
// one buffer. A bare weights manifest is not supported (not needed here).
export function readModelFiles(jsonPath) {
  const modelJSON = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const dir = path.dirname(jsonPath);
  const specs = [];
  const shards = [];
  for (const group of modelJSON.weightsManifest || []) {
    specs.push(...(group.weights || []));
    for (const p of group.paths) {
      const file = path.join(dir, p);
      shards.push({path: p, file, bytes: fs.readFileSync(file)});
    }
  }
  const joined = new Uint8Array(Buffer.concat(shards.map((s) => s.bytes)));
  return {modelJSON, specs, shards, joined};
}

export function diskHandler(jsonPath) {
  return {
    load: async () => {
      const {modelJSON, specs, joined} = readModelFiles(jsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async () => [specs, toArrayBuffer(joined)]);
    },
  };
}

export async function loadArtifacts(jsonPath) {
  return diskHandler(jsonPath).load();
}

export async function loadModel(jsonPath) {
  const {modelJSON} = readModelFiles(jsonPath);
  if (modelJSON.format === 'graph-model') return {kind: 'graph', model: await tf.loadGraphModel(diskHandler(jsonPath))};
  return {kind: 'layers', model: await tf.loadLayersModel(diskHandler(jsonPath))};
}

// ---------------------------------------------------------------------------------------------
// Prediction on the fixed input of reference.json "how.prediction":
// x_i = ((i*7919+13) % 2000)/1000 - 1 (int32 inputs: (i*7919+13) % 100), batch 1.
export function fixedInput(shape, dtype = 'float32') {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    values[i] = dtype === 'int32' ? (i * 7919 + 13) % 100 : ((i * 7919 + 13) % 2000) / 1000 - 1;
  }
  return tf.tensor(values, shape, dtype);
}

function inputSpecs(loaded, shapeOverride) {
  const inputs = loaded.model.inputs;
  return inputs.map((input, k) => {
    const declared = input.shape || [];
    const shape = shapeOverride && shapeOverride[k] ? shapeOverride[k]
        : declared.map((d, j) => (j === 0 ? 1 : d == null || d < 0 ? 32 : d));
    return {name: input.name, shape, dtype: input.dtype === 'int32' ? 'int32' : 'float32'};
  });
}

// Runs the model once; returns the outputs as [{shape, dtype, values (typed array)}].
export async function predict(loaded, shapeOverride) {
  const specs = inputSpecs(loaded, shapeOverride);
  const xs = specs.map((s) => fixedInput(s.shape, s.dtype));
  const arg = xs.length === 1 ? xs[0] : xs;
  let ys;
  if (loaded.kind === 'graph') {
    try {
      ys = loaded.model.execute(arg);
    } catch (e) {
      if (!/executeAsync/.test(String(e && e.message))) throw e;
      ys = await loaded.model.executeAsync(arg);
    }
  } else {
    ys = loaded.model.predict(arg);
  }
  const list = Array.isArray(ys) ? ys : ys instanceof tf.Tensor ? [ys] : Object.values(ys);
  const outputs = [];
  for (const y of list) {
    outputs.push({shape: y.shape, dtype: y.dtype, values: await y.data()});
  }
  tf.dispose([...xs, ...list]);
  return {inputs: specs, outputs};
}

export function round6(x) {
  return x === null || x === undefined ? x : Number(Number(x).toPrecision(6));
}
// The reference.json output summary: float64 sums, rounded to 6 significant digits.
export function summarise(output, firstCount) {
  const s = valueStats(output.values);
  return {
    shape: output.shape,
    sum: round6(s.sum),
    abs_sum: round6(s.absSum),
    min: round6(s.min),
    max: round6(s.max),
    first: Array.from(output.values.slice(0, firstCount)).map(round6),
  };
}

// Exact comparison of two prediction results (bit for bit), falling back to 1e-6 relative.
export function comparePredictions(expected, actual) {
  if (expected.outputs.length !== actual.outputs.length) {
    return {ok: false, detail: `${expected.outputs.length} outputs expected, got ${actual.outputs.length}`};
  }
  let exact = true;
  let maxRel = 0;
  let count = 0;
  for (let k = 0; k < expected.outputs.length; ++k) {
    const e = expected.outputs[k], a = actual.outputs[k];
    if (JSON.stringify(e.shape) !== JSON.stringify(a.shape)) {
      return {ok: false, detail: `output ${k} shape ${JSON.stringify(a.shape)}, expected ${JSON.stringify(e.shape)}`};
    }
    if (!bytesEqual(e.values, a.values)) exact = false;
    for (let i = 0; i < e.values.length; ++i) {
      const x = Number(e.values[i]), y = Number(a.values[i]);
      if (Object.is(x, y)) continue;
      const rel = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-30);
      if (!(rel <= maxRel)) maxRel = Number.isNaN(rel) ? Infinity : rel;
    }
    count += e.values.length;
  }
  if (exact) return {ok: true, detail: `${count} output values bit-identical`};
  if (maxRel <= 1e-6) return {ok: true, detail: `${count} output values within 1e-6 relative (not bit-identical, max rel diff ${maxRel})`};
  return {ok: false, detail: `${count} output values differ, max rel diff ${maxRel}`};
}

export function readJSON(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
export function writeJSON(file, value) {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, JSON.stringify(value, null, 1) + '\n');
}
// Typed arrays survive JSON as {dtype, base64}.
export function encodeValues(values) {
  return {type: values.constructor.name, base64: Buffer.from(toUint8(values)).toString('base64')};
}
export function decodeValues(enc) {
  const bytes = toArrayBuffer(Buffer.from(enc.base64, 'base64'));
  const Type = {Float32Array, Int32Array, Uint8Array}[enc.type];
  return new Type(bytes);
}
