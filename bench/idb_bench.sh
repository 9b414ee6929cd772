#!/usr/bin/env bash
# bench/idb_bench.sh: indexeddb:// save and load of a generated model against the sqlite3
# command-line tool moving the same bytes as plain blobs with the same journal settings, and
# against file:// for context. Every comparison runs through `bench/run compare` (alternating
# rounds, medians, MB/s, ratios); see bench/README.md for how to read the tables.
#
#   bench/idb_bench.sh [--build DIR] [--size 1G] [--rounds 5] [--modes truncate,wal] [--work DIR] [--keep]
#
# Needs: a build with bin/modelport, bin/modelport-bench-gen and the indexeddb plugin; the
# sqlite3 shell (Debian package sqlite3; its readfile()/writefile() move the blobs); GNU time
# for RSS (optional). Disk: about 5 x --size per journal mode under --work, removed at the end
# unless --keep.
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
modes=truncate,wal
work=${TMPDIR:-/tmp}/modelport-idb-bench
keep=0
raw=""

die() {
  echo "bench/idb_bench.sh: $*" >&2
  exit 2
}

while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --raw) raw=$2; shift 2 ;;
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
[[ -e $build/lib/modelport/plugins/abi1/libmodelport_plugin_indexeddb.so ]] ||
  die "$build has no indexeddb plugin (lib/modelport/plugins/abi1/libmodelport_plugin_indexeddb.so)"
command -v sqlite3 >/dev/null || die "the sqlite3 shell is missing (apt-get install sqlite3)"

# The source model: --size bytes of float32 in 4 MiB shards, cached like bench/run inspect does.
n_shards=$(((bytes + 4194303) / 4194304))
src=$(bench_cached_model "$gen" "$OUT_DIR" "$bytes")

rm -rf "$work"
mkdir -p "$work"
cleanup() {
  if ((keep == 0)); then rm -rf "$work" /dev/shm/modelport-idb-bench; fi
}
trap cleanup EXIT

# The plugin's settings for 4 MiB chunks (plugins/indexeddb/README.md): 64 KiB pages, cache of
# two chunks + 8 MiB, secure_delete=FAST, journal_size_limit 8 MiB; synchronous FULL with the
# rollback journal, NORMAL with WAL.
pragmas() {
  local mode=$1 sync=FULL
  [[ $mode == wal ]] && sync=NORMAL
  printf 'PRAGMA page_size=65536; PRAGMA journal_mode=%s; PRAGMA synchronous=%s; PRAGMA secure_delete=FAST; ' "$mode" "$sync"
  printf 'PRAGMA cache_size=-16384; PRAGMA journal_size_limit=8388608;\n'
}

# The baseline save does what a plugin save does, in SQL: one write transaction that inserts the
# new version's blobs (readfile() of each shard), then deletes the old version's rows.
write_cli_save_sql() {
  local mode=$1 file=$2 i
  {
    pragmas "$mode"
    echo "CREATE TABLE IF NOT EXISTS c(k INTEGER PRIMARY KEY, v INTEGER NOT NULL, seq INTEGER NOT NULL, d BLOB NOT NULL);"
    echo "BEGIN IMMEDIATE;"
    echo "CREATE TEMP TABLE nv AS SELECT coalesce(max(v), 0) + 1 AS v FROM c;"
    for ((i = 1; i <= n_shards; i++)); do
      echo "INSERT INTO c(v, seq, d) VALUES((SELECT v FROM nv), $i, readfile('$src/group1-shard${i}of$n_shards.bin'));"
    done
    echo "DELETE FROM c WHERE v <> (SELECT v FROM nv);"
    echo "COMMIT;"
    [[ $mode == wal ]] && echo "PRAGMA wal_checkpoint(TRUNCATE);"
    true
  } >"$file"
}

compare_args=(--bytes "$bytes" --rounds "$rounds")
[[ -n $raw ]] && compare_args+=(--raw "$raw")

IFS=',' read -r -a mode_list <<<"$modes"
for mode in "${mode_list[@]}"; do
  case $mode in truncate | wal) ;; *) die "--modes: unknown journal mode '$mode' (truncate, wal)" ;; esac
  dir="$work/$mode"
  mkdir -p "$dir/data"
  write_cli_save_sql "$mode" "$dir/cli-save.sql"
  env_prefix="MODELPORT_DATA_DIR=$dir/data MODELPORT_ORIGIN=bench"
  sync_note="synchronous=FULL"
  [[ $mode == wal ]] && sync_note="synchronous=NORMAL"
  notes=(--note "journal_mode=$mode, $sync_note, page_size=65536, cache_size=-16384 KiB, secure_delete=FAST (both sides)"
    --note "steady state: the warm-up run creates the model, every timed save replaces it (insert new rows, delete old)"
    --note "source: $src ($n_shards x 4 MiB shards, page cache warm)")

  "$SCRIPT_DIR/run" compare "${compare_args[@]}" "${notes[@]}" \
    --title "indexeddb save, $(bench_human "$bytes"), journal_mode=$mode" \
    --name indexeddb --cmd "$env_prefix $modelport -q -o journal_mode=$mode cp file://$src indexeddb://bench" \
    --name sqlite3-cli --cmd "sqlite3 $dir/cli.sqlite < $dir/cli-save.sql" \
    --name file --cmd "$modelport -q cp file://$src file://$dir/filecopy"

  shm=/dev/shm/modelport-idb-bench
  "$SCRIPT_DIR/run" compare "${compare_args[@]}" "${notes[@]}" \
    --note "sqlite3-devnull reads every blob and discards it (writefile to /dev/null); sqlite3-tmpfs keeps them in memory (writefile to $shm), as a load must" \
    --note "file-mmap maps the shards and touches nothing (inspect without --stats): its time is not a read of the bytes" \
    --title "indexeddb load, $(bench_human "$bytes"), journal_mode=$mode" \
    --name indexeddb --cmd "$env_prefix $modelport -q inspect indexeddb://bench" \
    --name sqlite3-devnull --cmd "sqlite3 $dir/cli.sqlite \"SELECT sum(writefile('/dev/null', d)) FROM c\"" \
    --name sqlite3-tmpfs --cmd "rm -rf $shm && mkdir $shm && sqlite3 $dir/cli.sqlite \"SELECT sum(writefile('$shm/' || seq, d)) FROM c\"" \
    --name file-mmap --cmd "$modelport -q inspect file://$src"
  rm -rf "$shm"

  # For context: both schemes loaded and every byte then read by the caller
  # (modelport-bench-io), which is what a mapped file:// load defers to first use.
  if [[ -x $build/bin/modelport-bench-io ]]; then
    "$SCRIPT_DIR/run" compare "${compare_args[@]}" \
      --note "modelport-bench-io load: modelport::load, then an XOR pass over every weight byte (mapped file:// shards fault in here)" \
      --title "indexeddb vs file:// load with every byte read, $(bench_human "$bytes"), journal_mode=$mode" \
      --name indexeddb --cmd "$env_prefix $build/bin/modelport-bench-io load indexeddb://bench 2>/dev/null" \
      --name file --cmd "$build/bin/modelport-bench-io load file://$src/model.json 2>/dev/null"
  fi

  ls -l "$dir/data/indexeddb/bench" "$dir/cli.sqlite" | sed 's/^/  /'
  rm -rf "$dir"
done
