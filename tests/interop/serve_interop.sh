#!/usr/bin/env bash
# Real TensorFlow.js 4.22.0 (pure JS, CPU backend) saving to and loading from `modelport serve`.
#
#   serve_interop.sh <modelport-cli> <fixtures-dir> <work-dir>
#
#   (a) tfjs `model.save(tf.io.http('http://127.0.0.1:PORT/models/NAME', {Authorization}))` of the
#       interop Layers models into a server with a file:// store and --token; the stored model
#       equals what tfjs uploaded (weight bytes and every model.json field), and so does the copy
#       `modelport cp` makes of it (modelport loads it back). A save without the token gets 401.
#   (b) tf.loadLayersModel / tf.loadGraphModel from the server (the saved models, and real
#       fixture graph models copied into the store with `modelport cp`) predict exactly like the
#       original files, and like reference.json for the fixtures.
#
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero on any failure. The server is
# started on a free port (--port 0) and killed on every exit path.
set -uo pipefail

# shellcheck source=script_support.sh
source "$(dirname "$0")/script_support.sh"
node=${MODELPORT_INTEROP_NODE:-node}
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
  fi
}
trap stop_server EXIT
summary() {
  stop_server
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

if ! command -v "$node" >/dev/null 2>&1; then fail setup.node "$node not found"; summary; fi
if [ ! -f "$here/node_modules/@tensorflow/tfjs/package.json" ]; then
  fail setup.node_modules "$here/node_modules is missing; run: npm ci --prefix tests/interop"
  summary
fi
if [ ! -x "$cli" ]; then fail setup.cli "$cli is not an executable"; summary; fi

rm -rf "$work"
mkdir -p "$work/store" "$work/log" "$work/tfjs" "$work/copies"
token="interop-$RANDOM$RANDOM"

# --- the server ----------------------------------------------------------------------------------
"$cli" -q serve --store "$work/store" --port 0 --token "$token" >"$work/log/server.out" 2>"$work/log/server.err" &
server_pid=$!
base=
for _ in $(seq 200); do
  base=$(sed -n 's/^serving .* at \(http:[^ ]*\)$/\1/p' "$work/log/server.out")
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$base" ]; then
  fail setup.server "modelport serve did not start: $(head -c 600 "$work/log/server.err")"
  summary
fi
pass setup.server "$(cat "$work/log/server.out")"

# node_step NAME ARGS...: runs serve_interop.mjs and counts its PASS/FAIL lines.
node_step() {
  local name=$1
  shift
  local log="$work/log/$name.log"
  (cd "$here" && "$node" serve_interop.mjs "$@") >"$log" 2>&1
  local rc=$?
  cat "$log"
  passed=$((passed + $(grep -c '^PASS ' "$log")))
  local f
  f=$(grep -c '^FAIL ' "$log")
  failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$name" "node exited with status $rc (see $log)"; fi
}
cli_step() {
  local name=$1
  shift
  if "$cli" -q "$@" >"$work/log/$name.out" 2>&1; then
    pass "$name" "modelport $*"
  else
    fail "$name" "modelport $* failed: $(head -c 600 "$work/log/$name.out" | tr '\n' ' ')"
    return 1
  fi
}

# --- (a) tfjs saves into the server --------------------------------------------------------------
node_step save save "$base" "$token" "$work/tfjs"
for m in convnet rich; do
  [ -f "$work/store/$m/model.json" ] || { fail "serve.a.$m.stored" "$work/store/$m/model.json missing"; continue; }
  node_step "stored.$m" stored "$m" "$work/tfjs/$m/upload" "$work/store/$m/model.json"
  # modelport loads what the server stored and copies it; the copy is still the upload.
  cli_step "serve.a.$m.cp" cp "file://$work/store/$m" "$work/copies/$m" &&
    node_step "copied.$m" stored "$m" "$work/tfjs/$m/upload" "$work/copies/$m/model.json"
done

# --- (b) tfjs loads from the server --------------------------------------------------------------
for m in convnet rich; do
  [ -f "$work/store/$m/model.json" ] || continue
  node_step "load.$m" load "$base" "$m" "$work/store/$m/model.json" --expect "$work/tfjs/$m/expect.json"
done
cli_step serve.b.human-age.cp cp "$fixtures/real/human-age/age.json" "$work/store/fixtures/human-age" &&
  node_step load.human-age load "$base" fixtures/human-age "$fixtures/real/human-age/age.json" \
    --reference "$fixtures/real/reference.json" human-age --input-shape 1,64,64,3
cli_step serve.b.human-antispoof.cp cp "$fixtures/real/human-antispoof/antispoof.json" "$work/store/fixtures/human-antispoof" &&
  node_step load.human-antispoof load "$base" fixtures/human-antispoof "$fixtures/real/human-antispoof/antispoof.json" \
    --reference "$fixtures/real/reference.json" human-antispoof --input-shape 1,128,128,3

# The server is still up and stops cleanly.
if kill -0 "$server_pid" 2>/dev/null; then
  kill -TERM "$server_pid"
  wait "$server_pid"
  rc=$?
  server_pid=
  if [ "$rc" -eq 0 ]; then pass serve.shutdown "SIGTERM -> exit 0"; else fail serve.shutdown "exit status $rc after SIGTERM"; fi
else
  fail serve.alive "the server died during the run: $(head -c 600 "$work/log/server.err")"
fi
summary
