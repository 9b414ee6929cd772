#!/usr/bin/env bash
# Benchmarks of `modelport serve` (issue #7 targets b and c), each against a baseline in the same run.
#
#   bench/serve_bench.sh [shards|upload|all] [options]
#
# shards (target b): a --size model in 4 MiB shards (modelport-bench-gen, cached in bench/out/)
#   served by `modelport serve --store file://<dir>` and by nginx (nginx-light, started on
#   127.0.0.1 with a private config: sendfile on, as many workers as --threads) from the same
#   files. wrk with --connections clients on --wrk-threads threads fetches the shard URLs in
#   rotation (a Lua script) for --duration; rounds alternate between the servers. Reported:
#   requests/s and MiB/s of each, medians over --rounds, and the ratio (target >= 0.8 x nginx).
# upload (target c): Node + TensorFlow.js 4.22 saves a Layers model with --upload-mb MB of float32
#   weights into `modelport serve` with tf.io.http (the multipart POST a tfjs app sends), --rounds
#   times. Reported: time of each save (median) and the server's peak RSS during the upload above
#   its RSS before it (VmHWM, reset before each upload through /proc/PID/clear_refs), as a
#   multiple of the body size (target < 1.3: the body is not held twice).
#
# Options:
#   --build DIR        build tree with bin/modelport and bin/modelport-bench-gen (default: build)
#   --size BYTES       model size for `shards` (default 1G; K/M/G suffixes)
#   --rounds N         rounds per measurement (default 3)
#   --duration D       wrk duration per round (default 10s)
#   --connections N    concurrent wrk connections (default 32)
#   --wrk-threads N    wrk threads (default 2)
#   --threads N        server threads: modelport --threads and nginx worker_processes (default 2)
#   --upload-mb N      weight megabytes of the uploaded model (default 100)
#   --keep             keep the work folder (logs, configs) in bench/out/serve-work
# Environment: NGINX_SENDFILE=on|off (default on), NGINX_EXTRA='directives;' added to nginx's http{}.
#
# Needs: nginx (nginx-light), wrk, curl, awk, node and tests/interop/node_modules (npm ci --prefix tests/interop).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=all
build=$root/build
size=1G
rounds=3
duration=10s
connections=32
wrk_threads=2
threads=2
upload_mb=100
keep=0
if [ $# -gt 0 ] && [[ $1 != -* ]]; then mode=$1; shift; fi
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --upload-mb) upload_mb=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case $mode in shards|upload|all) ;; *) echo "serve_bench.sh: unknown mode $mode (shards|upload|all)" >&2; exit 2 ;; esac

cli=$build/bin/modelport
gen=$build/bin/modelport-bench-gen
out=${MODELPORT_BENCH_OUT:-$here/out}
work=$out/serve-work
rm -rf "$work"
mkdir -p "$work"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

to_bytes() {
  local v=$1
  case $v in
    *G) echo $(( ${v%G} * 1024 * 1024 * 1024 )) ;;
    *M) echo $(( ${v%M} * 1024 * 1024 )) ;;
    *K) echo $(( ${v%K} * 1024 )) ;;
    *) echo "$v" ;;
  esac
}
calc() { awk "BEGIN {print $1}"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# start_modelport STORE [ARGS...]: starts the server, sets $mp_pid and $mp_url.
start_modelport() {
  local store=$1
  shift
  "$cli" -q serve --store "$store" --port 0 --threads "$threads" "$@" >"$work/modelport.out" 2>"$work/modelport.err" &
  mp_pid=$!
  pids+=("$mp_pid")
  mp_url=
  for _ in $(seq 100); do
    mp_url=$(sed -n 's/^serving .* at \(http:[^ ]*\)$/\1/p' "$work/modelport.out")
    [ -n "$mp_url" ] && return 0
    sleep 0.1
  done
  echo "modelport serve did not start: $(cat "$work/modelport.err")" >&2
  exit 1
}
stop_modelport() {
  kill -TERM "$mp_pid"
  wait "$mp_pid" || { echo "modelport serve exited with status $?" >&2; exit 1; }
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- (b) shards: modelport serve vs nginx ---------------------------------------------------------
bench_shards() {
  local bytes shard=$((4 * 1024 * 1024))
  bytes=$(to_bytes "$size")
  local model=$out/f32-$size-shard4M-w4M-seed1
  if [ ! -f "$model/model.json" ]; then
    echo "generating $model"
    "$gen" --out "$model" --bytes "$bytes" --shard-bytes "$shard" --seed 1 >/dev/null
  fi
  local n
  n=$(ls "$model" | grep -c '^group1-shard.*\.bin$')
  # One store folder for both servers: <store>/models/m -> the model (a symlink), so the same
  # URL path /models/m/<shard> names the same file in both.
  local store=$work/store
  mkdir -p "$store/models"
  ln -s "$model" "$store/models/m"

  cat >"$work/shards.lua" <<EOF
-- Rotates over the $n shard URLs; each wrk thread starts at a different shard.
local n = $n
local i = 0
function setup(thread) thread:set("offset", math.random(n)) end
function request()
  i = i + 1
  return wrk.format("GET", "/models/m/group1-shard" .. ((i + offset) % n + 1) .. "of" .. n .. ".bin")
end
EOF

  local nginx_port
  nginx_port=$(free_port)
  mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile ${NGINX_SENDFILE:-on};
  ${NGINX_EXTRA:-}
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  types { application/octet-stream bin; application/json json; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $store;
  }
}
EOF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>"$work/nginx/stderr" &
  local nginx_pid=$!
  pids+=("$nginx_pid")
  start_modelport "file://$store/models"
  # modelport serves /models/<name>/...: its store is <store>/models, so "m" is the model.
  sleep 0.5
  curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/models/m/group1-shard1of$n.bin" || { echo "nginx does not serve: $(cat "$work/nginx/stderr" "$work/nginx/logs/error.log")" >&2; exit 1; }
  curl -sf -o /dev/null "${mp_url}models/m/model.json" || { echo "modelport does not serve the model" >&2; exit 1; }
  # Warm-up: every shard once from each (page cache, modelport's model cache and shard ETags).
  for i in $(seq "$n"); do
    printf 'url = "http://127.0.0.1:%s/models/m/group1-shard%dof%d.bin"\noutput = /dev/null\n' "$nginx_port" "$i" "$n"
    printf 'url = "%smodels/m/group1-shard%dof%d.bin"\noutput = /dev/null\n' "$mp_url" "$i" "$n"
  done >"$work/warm.curl"
  curl -sf -K "$work/warm.curl"

  echo "shards: $n x 4 MiB, $connections connections, wrk -t$wrk_threads, $duration per round, $rounds rounds, server threads $threads"
  echo "  modelport: $cli serve --store file://$store/models --port 0 --threads $threads"
  echo "  nginx:     nginx -p $work/nginx -c nginx.conf (worker_processes $threads, sendfile ${NGINX_SENDFILE:-on} ${NGINX_EXTRA:-})"
  echo "  client:    wrk -t$wrk_threads -c$connections -d$duration -s shards.lua URL"
  : >"$work/modelport.rps"
  : >"$work/nginx.rps"
  for r in $(seq "$rounds"); do
    for who in modelport nginx; do
      local url
      if [ $who = modelport ]; then url=${mp_url%/}; else url=http://127.0.0.1:$nginx_port; fi
      wrk -t"$wrk_threads" -c"$connections" -d"$duration" -s "$work/shards.lua" "$url" >"$work/wrk-$who-$r.txt"
      local rps errors
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk-$who-$r.txt")
      errors=$(grep -E 'Non-2xx|Socket errors' "$work/wrk-$who-$r.txt" || true)
      echo "$rps" >>"$work/$who.rps"
      printf '  round %d %-9s %10.1f req/s %9.1f MiB/s %s\n' "$r" "$who" "$rps" "$(calc "$rps * 4")" "$errors"
    done
  done
  local mp ng
  mp=$(median <"$work/modelport.rps")
  ng=$(median <"$work/nginx.rps")
  printf 'shards median: modelport %.1f req/s (%.1f MiB/s), nginx %.1f req/s (%.1f MiB/s), ratio %.2f (target >= 0.80)\n' \
    "$mp" "$(calc "$mp * 4")" "$ng" "$(calc "$ng * 4")" "$(calc "$mp / $ng")"
  stop_modelport
  kill -TERM "$nginx_pid"
  wait "$nginx_pid" || true
}

# --- (c) a tfjs upload into modelport serve -------------------------------------------------------
bench_upload() {
  local node_modules=$root/tests/interop/node_modules
  [ -f "$node_modules/@tensorflow/tfjs/package.json" ] || { echo "run: npm ci --prefix tests/interop" >&2; exit 1; }
  mkdir -p "$work/upload-store"
  start_modelport "file://$work/upload-store"
  cat >"$work/upload.mjs" <<'EOF'
// Saves a Layers model with UPLOAD_MB MB of float32 weights into URL with tf.io.http, ROUNDS
// times; before each save it tells the bench (on stdout) and waits for "go" on stdin, so the
// bench can reset the server's peak RSS; after each save it prints the time.
import {createRequire} from 'node:module';
import readline from 'node:readline';
const tf = createRequire(`${process.env.INTEROP_DIR}/package.json`)('@tensorflow/tfjs');
const [url, mb, rounds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
tf.env().set('PROD', true);
await tf.setBackend('cpu');
const units = 1000;
const inputs = Math.round(mb * 1e6 / 4 / units);
const model = tf.sequential();
model.add(tf.layers.dense({inputShape: [inputs], units, useBias: false, kernelInitializer: 'zeros'}));
const lines = readline.createInterface({input: process.stdin})[Symbol.asyncIterator]();
for (let r = 1; r <= rounds; ++r) {
  console.log(`ready ${r}`);
  await lines.next();
  const start = performance.now();
  const result = await model.save(tf.io.http(`${url}models/upload-${r}`));
  const ms = performance.now() - start;
  console.log(`saved ${r} ${ms.toFixed(1)} ms status ${result.responses[0].status} bytes ${result.modelArtifactsInfo.weightDataBytes}`);
}
process.exit(0);
EOF
  local fifo=$work/upload.fifo
  mkfifo "$fifo"
  INTEROP_DIR=$root/tests/interop node "$work/upload.mjs" "$mp_url" "$upload_mb" "$rounds" <"$fifo" >"$work/upload.log" 2>&1 &
  local node_pid=$!
  exec 7>"$fifo"
  echo "upload: tfjs 4.22 model.save(tf.io.http('${mp_url}models/upload-N')) of a Dense layer with $upload_mb MB of weights, $rounds rounds"
  echo "  server: $cli serve --store file://$work/upload-store --port 0 --threads $threads"
  : >"$work/upload.ms"
  : >"$work/upload.ratio"
  for r in $(seq "$rounds"); do
    until grep -q "^ready $r" "$work/upload.log" 2>/dev/null; do
      kill -0 "$node_pid" 2>/dev/null || { echo "node failed: $(cat "$work/upload.log")" >&2; exit 1; }
      sleep 0.2
    done
    local before
    before=$(awk '/^VmRSS:/ {print $2}' "/proc/$mp_pid/status")
    echo 5 >"/proc/$mp_pid/clear_refs"  # resets VmHWM to the current RSS
    echo go >&7
    until grep -q "^saved $r " "$work/upload.log" 2>/dev/null; do
      kill -0 "$node_pid" 2>/dev/null || { echo "node failed: $(cat "$work/upload.log")" >&2; exit 1; }
      sleep 0.1
    done
    local peak line ms body
    peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$mp_pid/status")
    line=$(grep "^saved $r " "$work/upload.log")
    ms=$(echo "$line" | awk '{print $3}')
    body=$(echo "$line" | awk '{print $8}')
    echo "$ms" >>"$work/upload.ms"
    calc "($peak - $before) * 1024 / $body" >>"$work/upload.ratio"
    printf '  round %d: %s ms, server RSS before %d KiB, peak %d KiB: +%.1f MiB = %.2f x the %d weight bytes (%s)\n' \
      "$r" "$ms" "$before" "$peak" "$(calc "($peak - $before) / 1024")" "$(tail -1 "$work/upload.ratio")" "$body" \
      "$(echo "$line" | awk '{print $5, $6}')"
  done
  exec 7>&-
  wait "$node_pid" || true
  printf 'upload median: %.1f ms, peak RSS above baseline %.2f x the body (target < 1.3)\n' \
    "$(median <"$work/upload.ms")" "$(median <"$work/upload.ratio")"
  stop_modelport
}

[ -x "$cli" ] || { echo "no $cli; build first (or --build DIR)" >&2; exit 1; }
case $mode in
  shards) bench_shards ;;
  upload) bench_upload ;;
  all) bench_shards; bench_upload ;;
esac
