#!/usr/bin/env bash
# Interop checks between the modelport CLI and real TensorFlow.js 4.22.0 (pure JS, CPU backend).
#
#   run_interop.sh <modelport-cli> <fixtures-dir> <work-dir>
#
#   (a) tfjs writes -> modelport reads: `modelport inspect --json --stats` of models tfjs saved
#       (tfjs-node layout and browser layout) agrees with tfjs on every weight's sha256, offset and
#       size and on the byte counts of tfjs's save result.
#   (b) modelport writes -> tfjs reads: `modelport cp` copies (one weights.bin, --shard-bytes
#       shards, from the browser layout, and the quantized-layers / human-age fixtures) load in
#       tf.loadLayersModel / tf.loadGraphModel and predict bit-identically to the originals (and
#       to reference.json for the fixtures).
#   (c) byte level: the model.json modelport writes is the one tfjs-node writes.
#
# Every check prints "PASS name: detail" or "FAIL name: detail"; the last line is
# "N passed, M failed"; the exit status is non-zero when anything failed. The work dir is wiped
# first and kept afterwards for inspection (logs in <work-dir>/log).
#
# MODELPORT_INTEROP_SKIP="name ..." skips the inspect/cp checks of those models (convnet, rich,
# surrogate, quantized-layers, human-age), each reported on a SKIP line; meant only for a known
# bug whose fix is pending.
set -uo pipefail

# shellcheck source=script_support.sh
source "$(dirname "$0")/script_support.sh"
start=$SECONDS
skipped() {
  case " ${MODELPORT_INTEROP_SKIP:-} " in
    *" $1 "*) echo "SKIP $1: listed in MODELPORT_INTEROP_SKIP"; return 0 ;;
  esac
  return 1
}
summary() {
  echo "interop: work dir $work, $((SECONDS - start)) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# --- prerequisites -------------------------------------------------------------------------------
# CTest passes the node CMake found in MODELPORT_INTEROP_NODE; otherwise node from PATH.
node=${MODELPORT_INTEROP_NODE:-node}
if ! command -v "$node" >/dev/null 2>&1; then
  fail setup.node "$node not found (Debian: apt-get install nodejs npm)"
  summary
fi
node_major=$("$node" -p 'process.versions.node.split(".")[0]')
if [ "${node_major:-0}" -lt 18 ]; then
  fail setup.node "node $("$node" --version) is too old, need >= 18"
  summary
fi
if [ ! -f "$here/node_modules/@tensorflow/tfjs/package.json" ]; then
  fail setup.node_modules "$here/node_modules is missing; run: npm ci --prefix tests/interop"
  summary
fi
tfjs_version=$("$node" -p "require('$here/node_modules/@tensorflow/tfjs/package.json').version")
if [ "$tfjs_version" != 4.22.0 ]; then
  fail setup.tfjs "node_modules has @tensorflow/tfjs $tfjs_version, expected 4.22.0; run: npm ci --prefix tests/interop"
  summary
fi
if [ ! -x "$cli" ]; then
  fail setup.cli "$cli is not an executable"
  summary
fi
for f in synthetic/quantized-layers/model.json synthetic/reference.json real/human-age/age.json real/reference.json; do
  if [ ! -f "$fixtures/$f" ]; then
    fail setup.fixtures "$fixtures/$f missing"
    summary
  fi
done
echo "interop: node $("$node" --version), @tensorflow/tfjs $tfjs_version (cpu backend), cli $cli"

rm -rf "$work"
mkdir -p "$work/inspect" "$work/mp" "$work/log"

# --- runners -------------------------------------------------------------------------------------
# node_step NAME ARGS...: runs interop.mjs, echoes its output and counts its PASS/FAIL lines. A run
# that exits non-zero without printing a FAIL line (a crash) counts as one failure.
node_step() {
  local name=$1
  shift
  local log="$work/log/$name.log"
  (cd "$here" && "$node" interop.mjs "$@") >"$log" 2>&1
  local rc=$?
  cat "$log"
  local p f
  p=$(grep -c '^PASS ' "$log")
  f=$(grep -c '^FAIL ' "$log")
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    fail "$name" "node interop.mjs $1 exited with status $rc (see $log)"
  fi
}

# cli_step NAME OUT ARGS...: runs the modelport CLI, stdout to OUT; PASS when it exits 0.
cli_step() {
  local name=$1 out=$2
  shift 2
  local err="$work/log/$name.stderr"
  "$cli" "$@" >"$out" 2>"$err"
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    pass "$name" "modelport $*"
  else
    fail "$name" "modelport $* exited with status $rc: $(head -c 600 "$err" | tr '\n' ' ')"
  fi
  return "$rc"
}

# --- tfjs saves its models -----------------------------------------------------------------------
node_step save save "$work/tfjs"

for dir in "$work"/tfjs/*; do
  m=$(basename "$dir")
  [ -f "$dir/expect.json" ] || continue
  skipped "$m" && continue

  # (a) tfjs writes -> modelport reads
  for layout in node browser; do
    if cli_step "a.$m.$layout.inspect-runs" "$work/inspect/$m-$layout.json" \
        inspect "$dir/$layout/model.json" --json --stats; then
      node_step "a.$m.$layout" inspect "$m.$layout" "$dir/expect.json" "$work/inspect/$m-$layout.json" "$layout"
    fi
  done

  # (b) modelport writes -> tfjs reads, (c) byte level
  cli_step "b.$m.default.cp" /dev/null cp "$dir/node/model.json" "$work/mp/$m-default" &&
    node_step "b.$m.default" copy "$m.default" "$dir/node/model.json" "$work/mp/$m-default/model.json" \
      --same-as "$dir/node/model.json" --expect "$dir/expect.json"
  cli_step "b.$m.sharded.cp" /dev/null cp "$dir/node/model.json" "$work/mp/$m-sharded" --shard-bytes 100 &&
    node_step "b.$m.sharded" copy "$m.sharded" "$dir/node/model.json" "$work/mp/$m-sharded/model.json" \
      --shard-bytes 100 --expect "$dir/expect.json"
  cli_step "b.$m.from-browser.cp" /dev/null cp "$dir/browser/model.json" "$work/mp/$m-from-browser" &&
    node_step "b.$m.from-browser" copy "$m.from-browser" "$dir/browser/model.json" "$work/mp/$m-from-browser/model.json" \
      --same-as "$dir/node/model.json" --expect "$dir/expect.json"
done

# --- fixtures: a converter-style quantized Layers model and a real graph model -------------------
fixture_copy() { # NAME MODEL_JSON REFERENCE KEY INPUT_SHAPE SHARD_BYTES
  local name=$1 src=$2 ref=$3 key=$4 shape=$5 shard=$6
  skipped "$name" && return
  cli_step "b.$name.default.cp" /dev/null cp "$src" "$work/mp/$name-default" &&
    node_step "b.$name.default" copy "$name.default" "$src" "$work/mp/$name-default/model.json" \
      --reference "$ref" "$key" --input-shape "$shape"
  cli_step "b.$name.sharded.cp" /dev/null cp "$src" "$work/mp/$name-sharded" --shard-bytes "$shard" &&
    node_step "b.$name.sharded" copy "$name.sharded" "$src" "$work/mp/$name-sharded/model.json" \
      --shard-bytes "$shard" --reference "$ref" "$key" --input-shape "$shape"
}
fixture_copy quantized-layers "$fixtures/synthetic/quantized-layers/model.json" "$fixtures/synthetic/reference.json" \
  quantized-layers 1,8,8,1 100
fixture_copy human-age "$fixtures/real/human-age/age.json" "$fixtures/real/reference.json" \
  human-age 1,64,64,3 50000

summary
