// Real TensorFlow.js 4.22 (pure JS, CPU backend) against models the modelport CLI writes with
// integrity digests and with `modelport quantize`:
//
//   node digest_interop.mjs <modelport-cli> <fixtures-dir> <work-dir>
//
//   digests:  `modelport cp --digest --shard-bytes 50000` of human-age loads in tf.loadGraphModel
//             through tfjs's own http loader (a local static server) and from disk, predicts
//             bit-identically to the original, and every recorded digest is the SHA-256 of its
//             shard as Node computes it;
//   quantize: `modelport quantize --dtype uint8|uint16` results decode in tfjs to exactly the
//             values the converter's arithmetic (written out again below) gives, with the same
//             min and scale; float16 decodes within half precision; the models still predict.
//
// Prints PASS/FAIL lines; exits non-zero when a check failed.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  check, comparePredictions, fail, finish, guarded, initTf, loadModel, predict, readModelFiles, sha256, tf,
} from './lib/common.mjs';

const [cli, fixtures, work] = process.argv.slice(2);
if (!cli || !fixtures || !work) {
  console.error('usage: node digest_interop.mjs <modelport-cli> <fixtures-dir> <work-dir>');
  process.exit(2);
}
const INPUT_SHAPE = [[1, 64, 64, 3]];
const original = path.join(fixtures, 'real/human-age/age.json');

function modelport(...args) {
  const env = {...process.env, MODELPORT_DATA_DIR: path.join(work, 'data'), MODELPORT_PROGRESS: '0'};
  return execFileSync(cli, args, {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}

// A static file server for `work` on a free loopback port: what tf.io.http fetches from.
function serve(root) {
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream'});
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function loadOverHttp(base, folder) {
  return {kind: 'graph', model: await tf.loadGraphModel(`${base}/${folder}/model.json`)};
}

// numpy's round (halves to even), as the converter uses it.
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The converter's affine quantizer (spec §1.5 writer side), independent of modelport's code.
function converterAffine(values, qmax) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === hi) return {min: lo, scale: 1, stored: values.map(() => 0)};
  const scale = (hi - lo) / qmax;
  let min = lo, max = hi;
  if (lo <= 0 && 0 <= hi) {
    const zeroPoint = roundHalfEven((0 - lo) / scale);
    min = -zeroPoint * scale;
    max = qmax * scale + min;
  }
  // The converter's numpy 1.x keeps `data.clip(min, max) - min) / scale` in float32 (value-based
  // casting: float64 scalars do not widen a float32 array), so every step rounds to float32.
  const [min32, max32, scale32] = [Math.fround(min), Math.fround(max), Math.fround(scale)];
  const stored = values.map((v) => roundHalfEven(Math.fround(Math.fround(Math.min(Math.max(v, min32), max32) - min32) / scale32)));
  return {min, scale, stored};
}

function float32Weights(jsonPath) {
  const {specs, joined} = readModelFiles(jsonPath);
  const out = new Map();
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'float32' && !spec.quantization) {
      out.set(spec.name, Array.from(new Float32Array(joined.slice(offset, offset + 4 * n).buffer)));
    }
    offset += n * 4;
  }
  return out;
}

async function checkDigests(base) {
  await guarded('digest.model', async () => {
    modelport('cp', original, path.join(work, 'digest'), '--digest', '--shard-bytes', '50000');
    const {modelJSON, shards} = readModelFiles(path.join(work, 'digest/model.json'));
    const record = modelJSON.modelportDigests;
    if (!check('digest.record-present', record && Array.isArray(record.sha256), `${shards.length} shards`)) return;
    check('digest.one-per-shard', record.sha256.length === shards.length,
        `${record.sha256.length} digests for ${shards.length} shards`);
    shards.forEach((s, i) => check(`digest.sha256.${s.path}`, record.sha256[i] === sha256(s.bytes), record.sha256[i]));

    const reference = await predict(await loadModel(original), INPUT_SHAPE);
    const overHttp = await loadOverHttp(base, 'digest');
    const c1 = comparePredictions(reference, await predict(overHttp, INPUT_SHAPE));
    check('digest.tf.io.http-loads-and-predicts', c1.ok, c1.detail);
    const c2 = comparePredictions(reference, await predict(await loadModel(path.join(work, 'digest/model.json')), INPUT_SHAPE));
    check('digest.disk-loads-and-predicts', c2.ok, c2.detail);
    overHttp.model.dispose();
  });
}

async function checkQuantized(base, dtype) {
  await guarded(`quantize.${dtype}`, async () => {
    const folder = `q-${dtype}`;
    modelport('-q', 'quantize', original, path.join(work, folder), '--dtype', dtype);
    const originals = float32Weights(original);
    const {specs} = readModelFiles(path.join(work, folder, 'model.json'));
    // tfjs's own decoder, on the artifacts its http loader fetched.
    const artifacts = await tf.io.http(`${base}/${folder}/model.json`).load();
    const decoded = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
    let checked = 0, mismatched = 0, worst = 0;
    const problems = [];
    for (const spec of specs) {
      const values = originals.get(spec.name);
      if (!values) continue;
      if (!spec.quantization || spec.quantization.dtype !== dtype) {
        problems.push(`${spec.name} not quantized`);
        continue;
      }
      const got = decoded[spec.name].dataSync();
      if (dtype === 'float16') {
        values.forEach((v, i) => {
          const err = Math.abs(got[i] - v);
          const bound = Math.max(Math.abs(v) * 2 ** -11, 2 ** -24);
          worst = Math.max(worst, err / bound);
          if (err > bound) ++mismatched;
        });
      } else {
        const expected = converterAffine(values, dtype === 'uint8' ? 255 : 65535);
        if (spec.quantization.min !== expected.min || spec.quantization.scale !== expected.scale) {
          problems.push(`${spec.name}: min/scale ${spec.quantization.min}/${spec.quantization.scale}, ` +
              `expected ${expected.min}/${expected.scale}`);
        }
        expected.stored.forEach((q, i) => {
          if (got[i] !== Math.fround(q * expected.scale + expected.min)) ++mismatched;
        });
      }
      checked += values.length;
    }
    tf.dispose(Object.values(decoded));
    check(`quantize.${dtype}.manifest`, problems.length === 0, `${checked} values`, problems.slice(0, 3).join('; '));
    check(`quantize.${dtype}.values`, checked > 0 && mismatched === 0,
        dtype === 'float16' ? `${checked} values within half precision (worst ${worst.toFixed(3)} of the bound)`
                            : `${checked} values decode exactly to the converter's`,
        `${mismatched} of ${checked} values differ`);
    const loaded = await loadOverHttp(base, folder);
    const out = await predict(loaded, INPUT_SHAPE);
    const finite = out.outputs.every((o) => Array.from(o.values).every(Number.isFinite));
    check(`quantize.${dtype}.predicts`, finite, `outputs ${JSON.stringify(out.outputs.map((o) => o.shape))}`);
    loaded.model.dispose();
  });
}

async function main() {
  await initTf();
  fs.rmSync(work, {recursive: true, force: true});
  fs.mkdirSync(work, {recursive: true});
  const server = await serve(fs.realpathSync(work));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await checkDigests(base);
    for (const dtype of ['uint8', 'uint16', 'float16']) await checkQuantized(base, dtype);
  } catch (e) {
    fail('digest_interop', String(e && e.stack || e));
  } finally {
    server.close();
  }
  finish();
}

await main();
