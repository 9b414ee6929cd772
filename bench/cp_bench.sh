#!/usr/bin/env bash
# bench/cp_bench.sh: `modelport cp` streams shard by shard. For each pair of schemes it measures
# the copy's wall time and peak RSS against baselines taken in the same run:
#   - memory: `modelport inspect SRC`, which loads the whole model (what cp did before ABI 1.1);
#     the copy should stay near the size of a few shards however big the model is;
#   - time: coreutils `cp -r` of the same folder for file -> file (no fsync on either side:
#     the copy runs with -o durable=0), and the whole-model load of the source for the others.
#
#   bench/cp_bench.sh [--build DIR] [--size 1G] [--rounds 3] [--work DIR] [--keep]
#
# Needs: a build with bin/modelport, bin/modelport-bench-gen and the file, indexeddb and http
# plugins; GNU time (/usr/bin/time). Disk: about 6 x --size under --work, removed at the end
# unless --keep. Prints one table; medians of --rounds alternating rounds.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
OUT_DIR=${MODELPORT_BENCH_OUT:-$SCRIPT_DIR/out}
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

build="$REPO_ROOT/build"
size=1G
rounds=3
work=${TMPDIR:-/tmp}/modelport-cp-bench
keep=0

die() {
  echo "bench/cp_bench.sh: $*" >&2
  exit 2
}

while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

bytes=$(bench_size_bytes "$size") || die "--size: not a size: '$size'"
[[ -d $build ]] || die "build directory not found: $build (pass --build DIR)"
build=$(cd "$build" && pwd)
modelport=$build/bin/modelport
gen=$build/bin/modelport-bench-gen
[[ -x $modelport && -x $gen ]] || die "$build has no bin/modelport or bin/modelport-bench-gen"
[[ -x /usr/bin/time ]] || die "GNU time is missing (apt-get install time)"

src=$(bench_cached_model "$gen" "$OUT_DIR" "$bytes")
rm -rf "$work"
mkdir -p "$work"
export MODELPORT_DATA_DIR="$work/data" MODELPORT_ORIGIN=bench
export MODELPORT_DOWNLOADS_DIR="$work/downloads"

server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  ((keep)) || rm -rf "$work"
}
trap cleanup EXIT

# The http side: a modelport serve on a free loopback port over a file:// store.
mkfifo "$work/server.out"
"$modelport" -q serve --store "file://$work/served" --bind 127.0.0.1 --port 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
exec 3<"$work/server.out"
read -r -t 10 banner <&3 || die "modelport serve did not start: $(cat "$work/server.err")"
base=$(grep -o 'http://[0-9.:]*' <<<"$banner" | head -n 1)
cat <&3 >/dev/null &
exec 3<&-

# Sources for the pairs that read from a store, made once (not measured).
"$modelport" -q -o durable=0 cp "$src" indexeddb://bench-src >/dev/null
"$modelport" -q cp "$src" "$base/models/bench-src" >/dev/null

# measure NAME CMD...: one run; appends "seconds max_rss_kib" to $work/NAME.txt.
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" >/dev/null 2>"$work/err.out" ||
    die "$name failed: $* ($(tail -n 3 "$work/err.out"))"
  cat "$work/time.out" >>"$work/$name.txt"
}

copy() { # copy NAME SRC DST: the streamed copy, destination removed first
  local name=$1 from=$2 to=$3
  case $to in
    file://*) rm -rf "${to#file://}" ;;
    indexeddb://*) "$modelport" -q rm "$to" >/dev/null 2>&1 || true ;;
  esac
  measure "$name" "$modelport" -q -o durable=0 cp "$from" "$to"
}

pairs=(
  "file-file|file://$src|file://$work/copy-file"
  "file-indexeddb|file://$src|indexeddb://bench-dst"
  "indexeddb-file|indexeddb://bench-src|file://$work/copy-from-idb"
  "file-http|file://$src|$base/models/bench-dst"
  "http-file|$base/models/bench-src/model.json|file://$work/copy-from-http"
)

for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  rm -rf "$work/coreutils-copy"
  measure coreutils-cp cp -r "$src" "$work/coreutils-copy"
  for pair in "${pairs[@]}"; do
    IFS='|' read -r name from to <<<"$pair"
    measure "load-${from%%://*}" "$modelport" -q inspect "$from"
    copy "$name" "$from" "$to"
  done
done

# The copies must be the model: verify each once.
for pair in "${pairs[@]}"; do
  IFS='|' read -r name from to <<<"$pair"
  check=$to
  [[ $to == http://* ]] && check="$to/model.json"
  "$modelport" -q verify "$check" >/dev/null || die "the copy $name does not verify"
done

median() { # median COLUMN FILE
  cut -d' ' -f"$1" "$2" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

mib=$((bytes / 1024 / 1024))
printf '\nmodelport cp, %s MiB model in 4 MiB shards, medians of %s rounds (%s)\n' "$mib" "$rounds" "$(date -u +%FT%TZ)"
printf '%-16s %9s %11s %12s %13s %11s\n' "pair" "cp s" "cp RSS MiB" "RSS/model" "whole-load s" "load RSS MiB"
for pair in "${pairs[@]}"; do
  IFS='|' read -r name from _ <<<"$pair"
  load="load-${from%%://*}"
  t=$(median 1 "$work/$name.txt")
  m=$(median 2 "$work/$name.txt")
  lt=$(median 1 "$work/$load.txt")
  lm=$(median 2 "$work/$load.txt")
  awk -v n="$name" -v t="$t" -v m="$m" -v lt="$lt" -v lm="$lm" -v mib="$mib" \
    'BEGIN {printf "%-16s %9.3f %11.1f %12.3f %13.3f %11.1f\n", n, t, m/1024, m/1024/mib, lt, lm/1024}'
done
ct=$(median 1 "$work/coreutils-cp.txt")
ft=$(median 1 "$work/file-file.txt")
awk -v ct="$ct" -v ft="$ft" 'BEGIN {printf "\ncoreutils cp -r: %.3f s; modelport cp file->file / cp -r = %.2fx the time\n", ct, ft/ct}'
