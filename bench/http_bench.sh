#!/usr/bin/env bash
# bench/http_bench.sh: the http:// plugin loading a generated model from Debian's nginx on
# loopback, against curl fetching the same files over keep-alive connections and against
# TensorFlow.js 4.22's tf.io.http(url).load() in Node, all in the same run (issue #7, target (a)).
# Every comparison runs through `bench/run compare` (alternating rounds, medians, MB/s, peak RSS
# from GNU time); see bench/README.md.
#
#   bench/http_bench.sh [--build DIR] [--size 1G] [--rounds 5] [--connections 8] [--no-tfjs] [--work DIR]
#
# Needs: a build with bin/modelport-bench-io, bin/modelport-bench-gen and the http plugin; nginx
# (nginx-light), curl, GNU time; node with tests/interop/node_modules (npm ci --prefix
# tests/interop) unless --no-tfjs. The model is cached in bench/out/ like bench/run's.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
OUT_DIR=${MODELPORT_BENCH_OUT:-$SCRIPT_DIR/out}
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

build="$REPO_ROOT/build"
size=1G
rounds=5
connections=8
tfjs=1
work=${TMPDIR:-/tmp}/modelport-http-bench
nginx=${NGINX:-/usr/sbin/nginx}

die() {
  echo "bench/http_bench.sh: $*" >&2
  exit 2
}

while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --no-tfjs) tfjs=0; shift ;;
    --work) work=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

bytes=$(bench_size_bytes "$size") || die "--size: not a size: '$size'"

[[ -d $build ]] || die "build directory not found: $build (pass --build DIR)"
build=$(cd "$build" && pwd)
io=$build/bin/modelport-bench-io
gen=$build/bin/modelport-bench-gen
[[ -x $io && -x $gen ]] || die "$build has no bin/modelport-bench-io or bin/modelport-bench-gen"
[[ -e $build/lib/modelport/plugins/abi1/libmodelport_plugin_http.so ]] || die "$build has no http plugin"
[[ -x $nginx ]] || die "$nginx is missing (apt-get install nginx-light)"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
if ((tfjs)); then
  command -v node >/dev/null || die "node is missing (or pass --no-tfjs)"
  [[ -f $REPO_ROOT/tests/interop/node_modules/@tensorflow/tfjs/package.json ]] ||
    die "tests/interop/node_modules is missing: npm ci --prefix tests/interop (or pass --no-tfjs)"
fi

# The model: --size bytes of float32 in 4 MiB shards (the converter's default), cached.
src=$(bench_cached_model "$gen" "$OUT_DIR" "$bytes")

# nginx on a free loopback port, private prefix, in the foreground (killed at exit).
rm -rf "$work"
mkdir -p "$work/tmp"
nginx_pid=""
cleanup() {
  if [[ -n $nginx_pid ]]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$work" "${shm:-/nonexistent}"
}
trap cleanup EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)))
cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  types { application/json json; application/octet-stream bin; }
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $src; }
}
CONF
"$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/model.json" && break
  sleep 0.05
done
curl -sf -o /dev/null "http://127.0.0.1:$port/model.json" || die "nginx did not come up: $(cat "$work/error.log")"
base="http://127.0.0.1:$port"

# curl: one process, every URL (model.json first, then the shards in manifest order), one
# keep-alive connection (serial) or up to --connections at once (parallel).
n_shards=$(ls "$src" | grep -c '^group1-shard.*\.bin$')
{
  echo "url = \"$base/model.json\""
  echo 'output = "/dev/null"'
  for ((i = 1; i <= n_shards; i++)); do
    echo "url = \"$base/group1-shard${i}of$n_shards.bin\""
    echo 'output = "/dev/null"'
  done
} >"$work/curl.cfg"

# For context, curl keeping the bytes in memory as a loader must (files on tmpfs), not dropping
# them into /dev/null from one small reused buffer.
shm=/dev/shm/modelport-http-bench-$$
sed "s|output = \"/dev/null\"|output = \"$shm/f\"|" "$work/curl.cfg" | awk -v d="$shm" '
  /^output/ { n++; print "output = \"" d "/" n "\""; next } { print }' >"$work/curl-tmpfs.cfg"

summary_dir="$work/summary"
mkdir -p "$summary_dir"
compare_args=(--bytes "$bytes" --rounds "$rounds" --warmup 1)
notes=(--note "source: nginx $("$nginx" -v 2>&1 | sed 's/.*\///') on 127.0.0.1 (sendfile, 1 worker), $n_shards x 4 MiB shards, page cache warm"
  --note "modelport: modelport-bench-io load (modelport::load over http://, then an XOR pass over every weight byte)"
  --note "curl: one process for all URLs, one keep-alive connection (serial) or up to $connections (-Z); bodies to /dev/null (no buffer kept)"
  --note "curl-tmpfs: curl serial writing every body to a file on /dev/shm (bytes kept in memory, as a loader must; not a target)")
cmds=(--name "modelport-c$connections" --cmd "$io load $base/model.json -o connections=$connections 2>/dev/null"
  --name modelport-c1 --cmd "$io load $base/model.json -o connections=1 2>/dev/null"
  --name curl-serial --cmd "curl -s -K $work/curl.cfg"
  --name "curl-parallel$connections" --cmd "curl -s --no-progress-meter -Z --parallel-max $connections -K $work/curl.cfg"
  --name curl-tmpfs --cmd "rm -rf $shm && mkdir -p $shm && curl -s -K $work/curl-tmpfs.cfg")
if ((tfjs)); then
  cmds+=(--name tfjs --cmd "cd $REPO_ROOT/tests/interop && node http_load_bench.mjs $base/model.json 2>/dev/null")
  notes+=(--note "tfjs: tf.io.http(url).load() in Node $(node --version) (global fetch), then a pass over every weight word")
fi
"$SCRIPT_DIR/run" compare "${compare_args[@]}" "${notes[@]}" --summary "$summary_dir/load.tsv" \
  --title "http load, $(bench_human "$bytes") ($n_shards shards) from nginx" "${cmds[@]}"

# Targets: >= 0.8x curl's throughput (the better of serial and parallel), >= 5x tfjs's.
median() { awk -v n="$1" '$1 == n { print $2 }' "$summary_dir/load.tsv"; }
rss() { awk -v n="$1" '$1 == n { print $5 }' "$summary_dir/load.tsv"; }
mp=$(median "modelport-c$connections")
curl_best=$(median curl-serial)
cp=$(median "curl-parallel$connections")
((cp < curl_best)) && curl_best=$cp
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "MET" : "MISSED") }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "targets (medians):"
r=$(ratio "$mp" "$curl_best")
echo "  modelport-c$connections vs the faster curl: ${r}x throughput (target >= 0.8x): $(verdict "$r" 0.8)"
if ((tfjs)); then
  r=$(ratio "$mp" "$(median tfjs)")
  echo "  modelport-c$connections vs tfjs: ${r}x throughput (target >= 5x): $(verdict "$r" 5)"
  echo "  peak RSS: modelport $(($(rss "modelport-c$connections") / 1024)) MiB, tfjs $(($(rss tfjs) / 1024)) MiB, curl $(($(rss curl-serial) / 1024)) MiB (weights: $((bytes / 1024 / 1024)) MiB)"
fi
