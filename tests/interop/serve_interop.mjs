// Real TensorFlow.js 4.22 against `modelport serve` (driven by serve_interop.sh).
//
//   node serve_interop.mjs save BASE_URL TOKEN OUT_DIR
//     (a) tfjs saves the interop Layers models into the server with tf.io.http (the multipart
//         POST every tfjs app sends; with `Authorization: Bearer TOKEN`), and also captures the
//         exact upload parts in OUT_DIR/<name>/upload/ plus the in-memory prediction. A save
//         without the token must fail with status 401.
//   node serve_interop.mjs stored NAME UPLOAD_DIR STORE_MODEL_JSON
//     the model modelport stored (and `modelport cp` copied) equals what tfjs uploaded: weight
//     bytes identical, every model.json field identical.
//   node serve_interop.mjs load BASE_URL NAME ORIG_MODEL_JSON [--expect EXPECT_JSON]
//                           [--reference REFERENCE_JSON KEY] [--input-shape a,b,c]
//     (b) tf.loadLayersModel / tf.loadGraphModel from the server predicts exactly like the
//         original files loaded from disk (and like reference.json / the in-memory model).
import fs from 'node:fs';
import path from 'node:path';

import {MODELS} from './models.mjs';
import {
  bytesEqual, check, comparePredictions, decodeValues, describeDifference, encodeValues, fail, finish, guarded,
  httpCaptureSaver, initTf, joinWeightData, loadArtifacts, loadModel, pass, predict, readJSON, readModelFiles, summarise,
  tf, writeJSON,
} from './lib/common.mjs';

const SAVE_MODELS = ['convnet', 'rich'];

async function cmdSave(baseUrl, token, outDir) {
  for (const name of SAVE_MODELS) {
    await guarded(`serve.a.${name}.save`, async () => {
      const {model, saveConfig} = MODELS[name].build();
      const memoryPrediction = await predict({kind: 'layers', model});
      const dir = path.join(outDir, name);
      await model.save(httpCaptureSaver(path.join(dir, 'upload')), saveConfig);
      const url = `${baseUrl}models/${name}`;

      // Without the token the server refuses, and tfjs reports the status.
      let refused = null;
      try {
        await model.save(url, saveConfig);
      } catch (e) {
        refused = String(e && e.message);
      }
      check(`serve.a.${name}.save-without-token-refused`, refused !== null && /status 401/.test(refused),
          `tfjs: ${refused}`, `expected a 401 failure, got ${refused === null ? 'success' : refused}`);

      const result = await model.save(tf.io.http(url, {requestInit: {headers: {Authorization: `Bearer ${token}`}}}), saveConfig);
      const status = result.responses && result.responses[0] ? result.responses[0].status : null;
      check(`serve.a.${name}.save`, status === 200, `tf.io.http POST ${url} -> ${status}`, `status ${status}`);
      writeJSON(path.join(dir, 'expect.json'), {
        prediction: {
          inputs: memoryPrediction.inputs,
          outputs: memoryPrediction.outputs.map((o) => ({shape: o.shape, dtype: o.dtype, values: encodeValues(o.values)})),
        },
      });
      model.dispose();
    });
  }
}

function fieldsText(a) {
  const out = {};
  for (const key of ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'trainingConfig', 'signature',
    'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'weightSpecs']) {
    out[key] = a[key] === undefined ? '<absent>' : JSON.stringify(a[key]);
  }
  return out;
}

async function cmdStored(name, uploadDir, storedJson) {
  const uploadedJSON = JSON.parse(fs.readFileSync(path.join(uploadDir, 'model.json'), 'utf8'));
  const uploadedWeights = fs.readFileSync(path.join(uploadDir, 'model.weights.bin'));
  const uploaded = await tf.io.getModelArtifactsForJSON(uploadedJSON, async () => [
    uploadedJSON.weightsManifest[0].weights, uploadedWeights.buffer]);
  const stored = await loadArtifacts(storedJson);
  const {joined} = readModelFiles(storedJson);
  check(`serve.a.${name}.${path.basename(path.dirname(storedJson))}.weight-bytes`, bytesEqual(uploadedWeights, joined),
      `${joined.length} weight bytes identical to the tfjs upload`, describeDifference(uploadedWeights, joined, {binary: true}));
  const a = fieldsText(uploaded), b = fieldsText(stored);
  const diff = Object.keys(a).filter((k) => a[k] !== b[k]);
  check(`serve.a.${name}.${path.basename(path.dirname(storedJson))}.fields`, diff.length === 0,
      'topology, format, generatedBy, convertedBy, trainingConfig, metadata, weight specs identical to the upload',
      diff.map((k) => `${k}: ${describeDifference(Buffer.from(a[k]), Buffer.from(b[k]))}`).join('; '));
}

function parseLoadOptions(args) {
  const o = {};
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--expect') o.expect = args[++i];
    else if (args[i] === '--reference') { o.reference = args[++i]; o.referenceKey = args[++i]; }
    else if (args[i] === '--input-shape') o.inputShape = args[++i].split(',').map(Number);
    else throw new Error(`unknown option ${args[i]}`);
  }
  return o;
}

async function cmdLoad(baseUrl, name, origJson, args) {
  const o = parseLoadOptions(args);
  const url = `${baseUrl}models/${name}/model.json`;
  await guarded(`serve.b.${name}.load`, async () => {
    const shape = o.inputShape ? [o.inputShape] : undefined;
    const original = await loadModel(origJson);
    const graph = original.kind === 'graph';
    const served = {kind: original.kind, model: graph ? await tf.loadGraphModel(url) : await tf.loadLayersModel(url)};
    pass(`serve.b.${name}.load`, `${graph ? 'tf.loadGraphModel' : 'tf.loadLayersModel'}('${url}')`);

    // The weights tfjs decoded from the served shards are those of the original files.
    const origWeights = graph ? Object.values(original.model.weights).flat() : original.model.weights.map((w) => w.read());
    const servedWeights = graph ? Object.values(served.model.weights).flat() : served.model.weights.map((w) => w.read());
    const problems = [];
    if (origWeights.length !== servedWeights.length) problems.push(`${servedWeights.length} weights, original ${origWeights.length}`);
    for (let i = 0; i < Math.min(origWeights.length, servedWeights.length); ++i) {
      if (!bytesEqual(origWeights[i].dataSync(), servedWeights[i].dataSync())) problems.push(`weight ${i} differs`);
    }
    check(`serve.b.${name}.weights`, problems.length === 0, `${origWeights.length} weights bit-identical to the original's`,
        problems.join('; '));

    const origPrediction = await predict(original, shape);
    const servedPrediction = await predict(served, shape);
    const cmp = comparePredictions(origPrediction, servedPrediction);
    check(`serve.b.${name}.predict`, cmp.ok, `${cmp.detail} vs the original files`, cmp.detail);
    if (o.expect) {
      const expect = readJSON(o.expect);
      const memory = {outputs: expect.prediction.outputs.map((x) => ({...x, values: decodeValues(x.values)}))};
      const m = comparePredictions(memory, servedPrediction);
      check(`serve.b.${name}.predict-vs-in-memory-model`, m.ok, `${m.detail} vs the model before tfjs saved it`, m.detail);
    }
    if (o.reference) {
      const ref = readJSON(o.reference).models[o.referenceKey].prediction;
      const problemsRef = [];
      ref.outputs.forEach((r, k) => {
        const s = summarise(servedPrediction.outputs[k], r.first.length);
        for (const key of ['shape', 'sum', 'abs_sum', 'min', 'max', 'first']) {
          if (JSON.stringify(s[key]) !== JSON.stringify(r[key])) problemsRef.push(`${r.name} ${key}: ${JSON.stringify(s[key])} vs ${JSON.stringify(r[key])}`);
        }
      });
      check(`serve.b.${name}.predict-matches-reference.json`, problemsRef.length === 0, 'prediction summary equals reference.json',
          problemsRef.join('; '));
    }
    original.model.dispose();
    served.model.dispose();
  });
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  await initTf();
  if (cmd === 'save' && args.length === 3) await cmdSave(args[0], args[1], args[2]);
  else if (cmd === 'stored' && args.length === 3) await cmdStored(args[0], args[1], args[2]);
  else if (cmd === 'load' && args.length >= 3) await cmdLoad(args[0], args[1], args[2], args.slice(3));
  else {
    fail('usage', 'serve_interop.mjs save BASE TOKEN OUT | stored NAME UPLOAD_DIR STORE_JSON | load BASE NAME ORIG_JSON [options]');
  }
  finish();
}

await main();
