// TensorFlow.js side of the interop checks; run_interop.sh drives it. Subcommands:
//
//   save WORK/tfjs
//       Builds the models of models.mjs and saves each one as
//         <model>/node/     tfjs-node file:// layout (model.json + weights.bin), via withSaveHandler
//         <model>/browser/  browser layout (model.json + model.weights.bin), via withSaveHandler
//         <model>/http/     the multipart parts the real tf.io.http saver uploads
//       and <model>/expect.json: the save results (modelArtifactsInfo), per-weight offsets,
//       sha256 and stats computed from the artifacts, and the in-memory model's prediction.
//
//   inspect LABEL EXPECT_JSON INSPECT_JSON
//       (a) Compares `modelport inspect --json --stats` output with expect.json.
//
//   copy LABEL ORIGINAL_MODEL_JSON COPY_MODEL_JSON [options]
//       (b) Loads both with tf.loadLayersModel / tf.loadGraphModel (files read from disk) and
//       compares the artifacts, the decoded weights and a prediction on a fixed input;
//       (c) compares the copy's model.json with what tfjs-node would write for those artifacts.
//       Options: --shard-bytes N (the copy must be converter-style shards of N bytes, else one
//       weights.bin), --same-as FILE (the copy's model.json must equal FILE byte for byte),
//       --expect EXPECT_JSON (also compare with the in-memory prediction),
//       --reference REFERENCE_JSON MODEL_KEY (also compare with reference.json's prediction),
//       --input-shape 1,64,64,3.
import fs from 'node:fs';
import path from 'node:path';
import {
  bytesEqual, browserLayoutSaver, check, comparePredictions, decodeValues, describeDifference,
  encodeValues, fail, finish, guarded, httpCaptureSaver, initTf, joinWeightData, loadArtifacts,
  loadModel, nodeLayoutModelJSON, nodeLayoutSaver, pass, predict, readJSON, readModelFiles, sha256,
  summarise, tf, valueStats, weightLayout, writeJSON,
} from './lib/common.mjs';
import {MODELS} from './models.mjs';

function infoCounts(info) {
  return {
    modelTopologyBytes: info.modelTopologyBytes,
    weightSpecsBytes: info.weightSpecsBytes,
    weightDataBytes: info.weightDataBytes,
  };
}

// ---------------------------------------------------------------------------------------------
async function cmdSave(outRoot) {
  for (const [name, def] of Object.entries(MODELS)) {
    await guarded(`save.${name}`, async () => {
      const dir = path.join(outRoot, name);
      fs.rmSync(dir, {recursive: true, force: true});
      const {model, saveConfig} = def.build();
      const memoryPrediction = await predict({kind: 'layers', model});

      const node = {}, browser = {};
      const nodeResult = await model.save(nodeLayoutSaver(path.join(dir, 'node'), node), saveConfig);
      const browserResult = await model.save(browserLayoutSaver(path.join(dir, 'browser'), browser), saveConfig);
      await model.save(httpCaptureSaver(path.join(dir, 'http')), saveConfig);

      // The browser layout written through withSaveHandler is what the real http saver uploads.
      for (const file of ['model.json', 'model.weights.bin']) {
        const a = fs.readFileSync(path.join(dir, 'http', file));
        const b = fs.readFileSync(path.join(dir, 'browser', file));
        check(`save.${name}.browser-layout-equals-tf.io.http-upload.${file}`, bytesEqual(a, b),
            `${b.length} bytes`, describeDifference(a, b, {binary: file.endsWith('.bin')}));
      }

      // Per-weight expectations from the artifacts tfjs handed to the save handler.
      const artifacts = node.artifacts;
      const joined = joinWeightData(artifacts.weightData);
      const layout = weightLayout(artifacts.weightSpecs, joined);
      const decoded = tf.io.decodeWeights(tf.io.CompositeArrayBuffer.join(artifacts.weightData), artifacts.weightSpecs);
      const weights = artifacts.weightSpecs.map((spec, k) => ({
        name: spec.name,
        dtype: spec.dtype,
        shape: spec.shape,
        quantization: spec.quantization ? spec.quantization.dtype : null,
        offset: layout[k].offset,
        byteLength: layout[k].byteLength,
        sha256: sha256(layout[k].bytes),
        ...valueStats(decoded[spec.name].dataSync()),
      }));
      tf.dispose(Object.values(decoded));
      const endOfWeights = layout.length ? layout[layout.length - 1].offset + layout[layout.length - 1].byteLength : 0;
      check(`save.${name}.weight-stream`, endOfWeights === joined.length,
          `${weights.length} weights, ${joined.length} bytes`, `specs cover ${endOfWeights} of ${joined.length} bytes`);

      // The files tfjs wrote load back in tfjs and predict exactly like the in-memory model.
      for (const which of ['node', 'browser']) {
        const reloaded = await loadModel(path.join(dir, which, 'model.json'));
        const cmp = comparePredictions(memoryPrediction, await predict(reloaded));
        check(`save.${name}.${which}-layout-reloads-in-tfjs`, cmp.ok, cmp.detail);
        reloaded.model.dispose();
      }

      writeJSON(path.join(dir, 'expect.json'), {
        model: name,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        saveResults: {node: infoCounts(nodeResult.modelArtifactsInfo), browser: infoCounts(browserResult.modelArtifactsInfo)},
        weights,
        prediction: {
          inputs: memoryPrediction.inputs,
          outputs: memoryPrediction.outputs.map((o) => ({shape: o.shape, dtype: o.dtype, values: encodeValues(o.values)})),
        },
      });
      pass(`save.${name}`, `node ${JSON.stringify(infoCounts(nodeResult.modelArtifactsInfo))}, ${weights.length} weights`);
      model.dispose();
    });
  }
}

// ---------------------------------------------------------------------------------------------
function closeEnough(a, b, scale) {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  return Math.abs(a - b) <= 1e-9 * Math.max(scale, 1e-30);
}

async function cmdInspect(label, expectFile, inspectFile, layout) {
  const expect = readJSON(expectFile);
  let got;
  try {
    got = readJSON(inspectFile);
  } catch (e) {
    fail(`a.${label}.inspect-json`, `cannot parse ${inspectFile}: ${e.message}`);
    return;
  }
  const saveResult = expect.saveResults[layout];
  const counts = ['modelTopologyBytes', 'weightSpecsBytes', 'weightDataBytes'];
  const bad = counts.filter((k) => got[k] !== saveResult[k]);
  check(`a.${label}.byte-counts`, bad.length === 0,
      counts.map((k) => `${k}=${got[k]}`).join(' ') + ' (= tfjs modelArtifactsInfo)',
      bad.map((k) => `${k}: tfjs reported ${saveResult[k]}, modelport ${got[k]}`).join('; '));

  const meta = ['format', 'generatedBy', 'convertedBy'].filter((k) => got[k] !== expect[k]);
  check(`a.${label}.metadata`, meta.length === 0, `format=${got.format}`,
      meta.map((k) => `${k}: expected ${JSON.stringify(expect[k])}, modelport ${JSON.stringify(got[k])}`).join('; '));

  const gw = got.weights || [];
  if (!check(`a.${label}.weight-list`, gw.length === expect.weights.length &&
      gw.every((w, k) => w.name === expect.weights[k].name),
      `${gw.length} weights in manifest order`,
      `names ${JSON.stringify(gw.map((w) => w.name))}, expected ${JSON.stringify(expect.weights.map((w) => w.name))}`)) {
    return;
  }
  const specProblems = [], shaProblems = [], statProblems = [];
  let statsExact = true;
  expect.weights.forEach((e, k) => {
    const w = gw[k];
    for (const key of ['dtype', 'quantization', 'offset', 'byteLength']) {
      if (w[key] !== e[key]) specProblems.push(`${e.name}.${key}: expected ${JSON.stringify(e[key])}, got ${JSON.stringify(w[key])}`);
    }
    if (JSON.stringify(w.shape) !== JSON.stringify(e.shape)) {
      specProblems.push(`${e.name}.shape: expected ${JSON.stringify(e.shape)}, got ${JSON.stringify(w.shape)}`);
    }
    if (w.sha256 !== e.sha256) shaProblems.push(`${e.name}: tfjs bytes ${e.sha256}, modelport ${w.sha256}`);
    for (const key of ['sum', 'absSum', 'min', 'max']) {
      if (w[key] !== e[key]) statsExact = false;
      if (!closeEnough(w[key], e[key], e.absSum)) statProblems.push(`${e.name}.${key}: tfjs ${e[key]}, modelport ${w[key]}`);
    }
  });
  check(`a.${label}.weight-specs`, specProblems.length === 0, 'dtype, shape, quantization, offset, byteLength match tfjs',
      specProblems.join('; '));
  check(`a.${label}.sha256`, shaProblems.length === 0,
      `${gw.length} weights: sha256 equals that of the bytes tfjs produced`, shaProblems.join('; '));
  check(`a.${label}.stats`, statProblems.length === 0,
      `sum/absSum/min/max match tfjs's decoded values ${statsExact ? 'exactly' : 'within 1e-9 relative'}`,
      statProblems.join('; '));
}

// ---------------------------------------------------------------------------------------------
function parseCopyOptions(args) {
  const o = {};
  for (let i = 0; i < args.length; ++i) {
    const a = args[i];
    if (a === '--shard-bytes') o.shardBytes = Number(args[++i]);
    else if (a === '--same-as') o.sameAs = args[++i];
    else if (a === '--expect') o.expect = args[++i];
    else if (a === '--reference') { o.reference = args[++i]; o.referenceKey = args[++i]; }
    else if (a === '--input-shape') o.inputShape = args[++i].split(',').map(Number);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function expectedShardPaths(total, shardBytes) {
  if (!shardBytes) return ['weights.bin'];
  const n = Math.ceil(total / shardBytes);
  return Array.from({length: n}, (_, i) => `group1-shard${i + 1}of${n}.bin`);
}

function checkLayout(label, copyJsonPath, total, shardBytes) {
  const {modelJSON, shards} = readModelFiles(copyJsonPath);
  const paths = (modelJSON.weightsManifest || []).map((g) => g.paths);
  const want = expectedShardPaths(total, shardBytes);
  const problems = [];
  if (JSON.stringify(paths) !== JSON.stringify([want])) {
    problems.push(`manifest paths ${JSON.stringify(paths)}, expected ${JSON.stringify([want])}`);
  }
  shards.forEach((s, i) => {
    const expectedSize = shardBytes ? (i + 1 < shards.length ? shardBytes : total - shardBytes * (shards.length - 1)) : total;
    if (s.bytes.length !== expectedSize) problems.push(`${s.path} has ${s.bytes.length} bytes, expected ${expectedSize}`);
  });
  const files = fs.readdirSync(path.dirname(copyJsonPath)).sort();
  const wantFiles = ['model.json', ...want].sort();
  if (JSON.stringify(files) !== JSON.stringify(wantFiles)) {
    problems.push(`folder holds ${JSON.stringify(files)}, expected ${JSON.stringify(wantFiles)}`);
  }
  const what = shardBytes ? `${want.length} converter-style shards of ${shardBytes} bytes (last ${total - shardBytes * (want.length - 1)})`
      : 'model.json + weights.bin';
  check(`b.${label}.layout`, problems.length === 0, what, problems.join('; '));
}

function artifactFieldsText(a) {
  const out = {};
  for (const key of ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'trainingConfig', 'signature',
    'userDefinedMetadata', 'modelInitializer', 'initializerSignature']) {
    out[key] = a[key] === undefined ? '<absent>' : JSON.stringify(a[key]);
  }
  return out;
}

function compareArtifacts(label, orig, copy) {
  const a = artifactFieldsText(orig), b = artifactFieldsText(copy);
  const diff = Object.keys(a).filter((k) => a[k] !== b[k]);
  check(`b.${label}.artifacts`, diff.length === 0, 'topology, format, generatedBy, convertedBy, trainingConfig, signature, metadata equal',
      diff.map((k) => `${k}: ${describeDifference(Buffer.from(a[k]), Buffer.from(b[k]))}`).join('; '));

  const sa = JSON.stringify(orig.weightSpecs), sb = JSON.stringify(copy.weightSpecs);
  check(`b.${label}.weight-specs`, sa === sb, `${orig.weightSpecs.length} specs equal (names, shapes, dtypes, quantization)`,
      describeDifference(Buffer.from(sa), Buffer.from(sb)));

  const da = tf.io.decodeWeights(tf.io.CompositeArrayBuffer.join(orig.weightData), orig.weightSpecs);
  const db = tf.io.decodeWeights(tf.io.CompositeArrayBuffer.join(copy.weightData), copy.weightSpecs);
  const problems = [];
  for (const name of Object.keys(da)) {
    if (!db[name]) { problems.push(`${name} missing`); continue; }
    if (da[name].dtype === 'string') {
      if (JSON.stringify(da[name].arraySync()) !== JSON.stringify(db[name].arraySync())) problems.push(`${name} differs`);
    } else if (!bytesEqual(da[name].dataSync(), db[name].dataSync())) {
      problems.push(`${name} differs`);
    }
  }
  check(`b.${label}.decoded-weights`, problems.length === 0,
      `${Object.keys(da).length} weights decoded by tf.io.decodeWeights are bit-identical`, problems.join('; '));
  tf.dispose([...Object.values(da), ...Object.values(db)]);
}

function referenceProblems(pred, refPrediction) {
  const problems = [];
  if (refPrediction.outputs.length !== pred.outputs.length) {
    return [`${pred.outputs.length} outputs, reference has ${refPrediction.outputs.length}`];
  }
  refPrediction.outputs.forEach((ref, k) => {
    const s = summarise(pred.outputs[k], ref.first.length);
    for (const key of ['shape', 'sum', 'abs_sum', 'min', 'max', 'first']) {
      if (JSON.stringify(s[key]) !== JSON.stringify(ref[key])) {
        problems.push(`output ${ref.name} ${key}: ${JSON.stringify(s[key])}, reference ${JSON.stringify(ref[key])}`);
      }
    }
  });
  return problems;
}

async function cmdCopy(label, origJsonPath, copyJsonPath, args) {
  const o = parseCopyOptions(args);
  if (!fs.existsSync(copyJsonPath)) {
    fail(`b.${label}.exists`, `${copyJsonPath} missing (did modelport cp fail?)`);
    return;
  }
  const original = await loadArtifacts(origJsonPath);
  const copy = await guarded(`b.${label}.load-artifacts`, () => loadArtifacts(copyJsonPath));
  if (!copy) return;
  const total = tf.io.CompositeArrayBuffer.join(original.weightData).byteLength;

  await guarded(`b.${label}.layout`, () => checkLayout(label, copyJsonPath, total, o.shardBytes));
  await guarded(`b.${label}.artifacts`, () => compareArtifacts(label, original, copy));

  // Predictions, each model loaded the same way (tfjs, files read from disk).
  await guarded(`b.${label}.predict`, async () => {
    const shape = o.inputShape ? [o.inputShape] : undefined;
    const origModel = await loadModel(origJsonPath);
    const origPrediction = await predict(origModel, shape);
    const copyModel = await loadModel(copyJsonPath);
    const copyPrediction = await predict(copyModel, shape);
    const cmp = comparePredictions(origPrediction, copyPrediction);
    check(`b.${label}.predict`, cmp.ok,
        `${copyModel.kind === 'graph' ? 'tf.loadGraphModel' : 'tf.loadLayersModel'} of the copy: ${cmp.detail} vs the original`,
        cmp.detail);
    if (o.expect) {
      const expect = readJSON(o.expect);
      const memory = {outputs: expect.prediction.outputs.map((x) => ({...x, values: decodeValues(x.values)}))};
      const m = comparePredictions(memory, copyPrediction);
      check(`b.${label}.predict-vs-in-memory-model`, m.ok, `${m.detail} vs the model before tfjs saved it`, m.detail);
    }
    if (o.reference) {
      const ref = readJSON(o.reference).models[o.referenceKey].prediction;
      const po = referenceProblems(origPrediction, ref);
      check(`b.${label}.original-matches-reference.json`, po.length === 0,
          'original prediction summary equals reference.json (harness sanity)', po.join('; '));
      const pc = referenceProblems(copyPrediction, ref);
      const s = summarise(copyPrediction.outputs[0], 3);
      check(`b.${label}.predict-matches-reference.json`, pc.length === 0,
          `copy prediction sum=${s.sum} min=${s.min} max=${s.max} first=${JSON.stringify(s.first)} equal reference.json`, pc.join('; '));
    }
    origModel.model.dispose();
    copyModel.model.dispose();
  });

  // (c) The copy's files, byte for byte.
  await guarded(`c.${label}.model.json`, () => {
    const actual = fs.readFileSync(copyJsonPath);
    const expectedText = JSON.stringify(nodeLayoutModelJSON(original, expectedShardPaths(total, o.shardBytes)));
    const expected = Buffer.from(expectedText, 'utf8');
    check(`c.${label}.model.json`, bytesEqual(expected, actual),
        `${actual.length} bytes, identical to JSON.stringify of the tfjs-node layout of the original's artifacts`,
        describeDifference(expected, actual));
    if (o.sameAs) {
      const want = fs.readFileSync(o.sameAs);
      check(`c.${label}.model.json-equals-tfjs-written`, bytesEqual(want, actual),
          `byte-identical to ${o.sameAs}`, `vs ${o.sameAs}: ${describeDifference(want, actual)}`);
    }
  });
  await guarded(`c.${label}.weights`, () => {
    const a = readModelFiles(origJsonPath).joined, b = readModelFiles(copyJsonPath).joined;
    check(`c.${label}.weight-bytes`, bytesEqual(a, b), `${b.length} weight bytes identical to the original's shards joined`,
        describeDifference(a, b, {binary: true}));
  });
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  await initTf();
  if (cmd === 'save' && args.length === 1) await cmdSave(args[0]);
  else if (cmd === 'inspect' && args.length === 4) await cmdInspect(args[0], args[1], args[2], args[3]);
  else if (cmd === 'copy' && args.length >= 3) await cmdCopy(args[0], args[1], args[2], args.slice(3));
  else {
    console.error('usage: interop.mjs save OUT | inspect LABEL EXPECT_JSON INSPECT_JSON node|browser | copy LABEL ORIG COPY [options]');
    process.exitCode = 2;
    return;
  }
  finish();
}

await main();
