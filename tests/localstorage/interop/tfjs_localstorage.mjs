// Real TensorFlow.js 4.22 reads a localStorage that modelport wrote, and writes the same values.
//
//   node tfjs_localstorage.mjs --node-modules DIR --dump FILE --model PATH --golden DIR
//                              --resave PATH --out FILE
//
// 1. Makes Node look like a browser the way browser-schemes.json's run did ("window=globalThis,
//    document={}, Map-backed localStorage"): a plain in-memory Storage installed as
//    globalThis.localStorage before tfjs is loaded, so tfjs registers and uses its own
//    localStorage handler (BrowserLocalStorage), not anything of ours.
// 2. Fills it from --dump (what `modelport localstorage export` wrote) and loads
//    tf.loadLayersModel('localstorage://' + PATH).
// 3. Loads the original files (--golden: model.json + weights.bin) through tf.io.fromMemory and
//    checks that both models have the same weights and give the same predictions, bit for bit.
// 4. Saves the loaded model again with tfjs to localstorage://RESAVE and checks that tfjs wrote
//    the same values modelport wrote (info aside from dateSaved), then writes the whole storage
//    to --out as JSON.stringify({...localStorage}) would.
// Exits non-zero with a message on any difference.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

function fail(message) {
  console.error(`tfjs_localstorage: ${message}`);
  process.exit(1);
}

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const name of ['node-modules', 'dump', 'model', 'golden', 'resave', 'out']) {
  if (!args[name]) fail(`missing --${name}`);
}
const tfjsPackage = path.join(args['node-modules'], '@tensorflow', 'tfjs', 'package.json');
if (!fs.existsSync(tfjsPackage)) {
  fail(`TensorFlow.js is not installed (no ${tfjsPackage}): run  npm ci --prefix tests/interop`);
}

// The Web Storage interface over a Map: insertion order, string keys and values.
class MemoryStorage {
  #items = new Map();
  get length() { return this.#items.size; }
  key(index) { return index >= 0 && index < this.#items.size ? [...this.#items.keys()][index] : null; }
  getItem(key) { key = String(key); return this.#items.has(key) ? this.#items.get(key) : null; }
  setItem(key, value) { this.#items.set(String(key), String(value)); }
  removeItem(key) { this.#items.delete(String(key)); }
  clear() { this.#items.clear(); }
}
const storage = new MemoryStorage();
Object.defineProperty(globalThis, 'localStorage', { value: storage, configurable: true, writable: true, enumerable: true });
globalThis.window = globalThis;
globalThis.document = {};

const require = createRequire(tfjsPackage);
const tf = require('@tensorflow/tfjs');
await tf.setBackend('cpu');
await tf.ready();
if (!tf.env().getBool('IS_BROWSER')) fail('TensorFlow.js did not take this environment for a browser');
if (tf.version.tfjs !== '4.22.0') fail(`expected TensorFlow.js 4.22.0, found ${tf.version.tfjs}`);

// 2. modelport's export, into the browser's storage.
const dump = JSON.parse(fs.readFileSync(args.dump, 'utf8'));
for (const [key, value] of Object.entries(dump)) {
  if (typeof value !== 'string') fail(`the dump's value of '${key}' is not a string`);
  storage.setItem(key, value);
}
const url = `localstorage://${args.model}`;
const listed = await tf.io.listModels();
if (!listed[url]) fail(`tf.io.listModels() does not list ${url}: ${JSON.stringify(Object.keys(listed))}`);
const model = await tf.loadLayersModel(url);

// 3. The original files.
const modelJson = JSON.parse(fs.readFileSync(path.join(args.golden, 'model.json'), 'utf8'));
const bin = fs.readFileSync(path.join(args.golden, 'weights.bin'));
const original = await tf.loadLayersModel(tf.io.fromMemory({
  modelTopology: modelJson.modelTopology,
  weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
  weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
}));
const ours = model.getWeights();
const theirs = original.getWeights();
if (ours.length !== theirs.length) fail(`${ours.length} weights from localStorage, ${theirs.length} from the files`);
for (let i = 0; i < ours.length; ++i) {
  const a = ours[i].dataSync();
  const b = theirs[i].dataSync();
  if (a.length !== b.length || a.some((v, j) => !Object.is(v, b[j]))) fail(`weight ${i} (${theirs[i].name}) differs`);
}
const [, h, w, c] = original.inputs[0].shape;
const input = tf.tensor4d(Float32Array.from({ length: 5 * h * w * c }, (_, i) => Math.sin(i * 0.37) + (i % 7) * 0.1), [5, h, w, c]);
const predicted = model.predict(input).dataSync();
const expected = original.predict(input).dataSync();
if (predicted.length !== expected.length || predicted.some((v, i) => !Object.is(v, expected[i]))) {
  fail(`predictions differ: ${Array.from(predicted).slice(0, 6)} vs ${Array.from(expected).slice(0, 6)}`);
}

// 4. tfjs saves the model it loaded; its values must be the ones modelport wrote.
const saved = await model.save(`localstorage://${args.resave}`);
const keyOf = (modelPath, suffix) => `tensorflowjs_models/${modelPath}/${suffix}`;
for (const suffix of ['model_topology', 'weight_specs', 'weight_data', 'model_metadata', 'info']) {
  let a = storage.getItem(keyOf(args.model, suffix));
  let b = storage.getItem(keyOf(args.resave, suffix));
  if (suffix === 'info') {
    a = a.replace(/"dateSaved":"[^"]*"/, '');
    b = b.replace(/"dateSaved":"[^"]*"/, '');
  }
  if (a !== b) fail(`${suffix}: modelport wrote ${JSON.stringify(a).slice(0, 300)}, TensorFlow.js wrote ${JSON.stringify(b).slice(0, 300)}`);
}
const out = {};
for (let i = 0; i < storage.length; ++i) out[storage.key(i)] = storage.getItem(storage.key(i));
fs.writeFileSync(args.out, JSON.stringify(out));
console.log(`TensorFlow.js ${tf.version.tfjs} loaded ${url} from modelport's localStorage export: ` +
            `${ours.length} weights and ${expected.length} predictions identical to the original files; ` +
            `its own save to localstorage://${args.resave} wrote the same values ` +
            `(${saved.modelArtifactsInfo.weightDataBytes} weight bytes)`);
