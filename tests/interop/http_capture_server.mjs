// A small HTTP(S) server that records what an uploader sends, for comparing modelport's http
// save with what TensorFlow.js 4.22 sends (tests/fixtures/golden/http-save/capture.json).
//
//   node http_capture_server.mjs --out DIR [--tls CERT.pem KEY.pem]
//
// Prints "listening PORT" once it accepts connections. For request number N it writes
// DIR/N.json (method, url, raw headers in order, and the multipart structure: boundary,
// preamble/epilogue sizes, each part's raw headers, name, filename, content type, size, and for
// JSON parts the top-level keys and manifest paths) and DIR/N/<part name> with each part's bytes.
// It answers 200 with {"ok":true}, or the status N of a URL ending in /status/N (with a short
// text body). Stops on SIGTERM or SIGINT.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

const args = process.argv.slice(2);
let out = null;
let tls = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = args[++i];
  else if (args[i] === '--tls') tls = { cert: fs.readFileSync(args[++i]), key: fs.readFileSync(args[++i]) };
  else {
    console.error(`unknown argument ${args[i]}`);
    process.exit(2);
  }
}
if (!out) {
  console.error('usage: node http_capture_server.mjs --out DIR [--tls CERT KEY]');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

function parseMultipart(body, boundary) {
  const delim = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const first = body.indexOf(delim);
  const result = { boundary, closed: false, preamble_bytes: first, epilogue_bytes: null, parts: [] };
  if (first < 0) return result;
  let pos = first;
  for (;;) {
    const after = pos + delim.length;
    if (body.subarray(after, after + 2).toString('latin1') === '--') {
      result.closed = true;
      result.epilogue_bytes = body.length - (after + 2);
      return result;
    }
    if (body.subarray(after, after + 2).toString('latin1') !== '\r\n') return result;
    const headerEnd = body.indexOf('\r\n\r\n', after + 2);
    if (headerEnd < 0) return result;
    const end = body.indexOf(next, headerEnd + 4);
    if (end < 0) return result;
    const rawHeaders = body.subarray(after + 2, headerEnd).toString('utf8').split('\r\n');
    const content = body.subarray(headerEnd + 4, end);
    const disposition = rawHeaders.find((h) => /^content-disposition:/i.test(h)) || '';
    const type = rawHeaders.find((h) => /^content-type:/i.test(h)) || '';
    const part = {
      name: (disposition.match(/; name="([^"]*)"/) || [])[1] ?? null,
      filename: (disposition.match(/; filename="([^"]*)"/) || [])[1] ?? null,
      content_type: type.replace(/^content-type:\s*/i, '') || null,
      raw_headers: rawHeaders,
      bytes: content.length,
      content,
    };
    if (part.content_type === 'application/json') {
      try {
        const json = JSON.parse(content.toString('utf8'));
        part.json_top_level_keys = Object.keys(json);
        if (Array.isArray(json.weightsManifest)) part.weightsManifest_paths = json.weightsManifest.map((g) => g.paths);
      } catch (e) {
        part.json_error = String(e);
      }
    }
    result.parts.push(part);
    pos = end + 2;
  }
}

let seq = 0;
function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const n = seq++;
    const body = Buffer.concat(chunks);
    const rawHeaders = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const contentType = req.headers['content-type'] || '';
    const boundary = (contentType.match(/boundary=(.*)$/) || [])[1];
    const saw = { seq: n, method: req.method, url: req.url, httpVersion: req.httpVersion, rawHeaders, body_bytes: body.length };
    if (boundary) {
      const mp = parseMultipart(body, boundary);
      const dir = path.join(out, String(n));
      fs.mkdirSync(dir, { recursive: true });
      for (const p of mp.parts) {
        if (p.name && !p.name.includes('/')) fs.writeFileSync(path.join(dir, p.name), p.content);
        delete p.content;
      }
      saw.multipart = mp;
    }
    fs.writeFileSync(path.join(out, `${n}.json`), JSON.stringify(saw, null, 1));
    const status = Number((req.url.match(/\/status\/(\d{3})$/) || [])[1] || 200);
    if (status === 200) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`capture server: answering ${status} as asked`);
    }
  });
}

const server = tls ? https.createServer(tls, handle) : http.createServer(handle);
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 200).unref();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
