// TensorFlow.js 4.22's own HTTP loader, for bench/http_bench.sh: tf.io.http(URL).load() (model.json,
// then every shard fetched in parallel with Node's global fetch), then a pass that reads every
// weight byte, as modelport-bench-io does on its side. Prints the byte count and a checksum to
// stderr.
//
//   node http_load_bench.mjs URL
import * as tf from '@tensorflow/tfjs';

const url = process.argv[2];
if (!url) {
  console.error('usage: node http_load_bench.mjs URL');
  process.exit(2);
}
const artifacts = await tf.io.http(url).load();
const buffers = Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData];
let bytes = 0;
let xor = 0;
for (const b of buffers) {
  const words = new Int32Array(b, 0, b.byteLength >> 2);
  for (let i = 0; i < words.length; i++) xor ^= words[i];
  bytes += b.byteLength;
}
console.error(`tfjs: ${buffers.length} buffers, ${bytes} bytes, xor ${xor}`);
