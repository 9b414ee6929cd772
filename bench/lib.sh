# Shared by the bench scripts (sourced, not run): size arguments and the cached generated model.

# bench_size_bytes SIZE: "1G", "64M", "512K" or a byte count → bytes, rounded down to whole
# float32 values. Prints nothing and fails for anything else.
bench_size_bytes() {
  local size=$1 bytes
  case $size in
    *[kK]) bytes=$((${size%[kK]} * 1024)) ;;
    *[mM]) bytes=$((${size%[mM]} * 1024 * 1024)) ;;
    *[gG]) bytes=$((${size%[gG]} * 1024 * 1024 * 1024)) ;;
    *) bytes=$size ;;
  esac
  [[ $bytes =~ ^[0-9]+$ ]] && ((bytes >= 4)) || return 1
  echo $((bytes - bytes % 4))
}

# bench_human BYTES: "1G" / "64M" when exact, else the byte count.
bench_human() {
  local b=$1
  if ((b % (1024 * 1024 * 1024) == 0)); then echo "$((b / 1024 / 1024 / 1024))G"
  elif ((b % (1024 * 1024) == 0)); then echo "$((b / 1024 / 1024))M"
  else echo "$b"; fi
}

# bench_cached_model GEN OUT_DIR BYTES: the folder of a float32 model of BYTES in 4 MiB shards
# (the converter's default), generated once by GEN (modelport-bench-gen) under OUT_DIR and reused
# by every script (the same cache key as bench/run's). Progress goes to stderr; the path to stdout.
bench_cached_model() {
  local gen=$1 out_dir=$2 bytes=$3 shard=$((4 * 1024 * 1024))
  local src="$out_dir/f32-$(bench_human "$bytes")-shard4M-w4M-seed1"
  if [[ ! -f $src/.complete ]]; then
    local tmp="$src.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$out_dir"
    echo "model: $src (generating)" >&2
    "$gen" --out "$tmp" --bytes "$bytes" --shard-bytes "$shard" --seed 1 >/dev/null
    printf '%s\n' "$gen --out $tmp --bytes $bytes --shard-bytes $shard --seed 1" >"$tmp/.complete"
    rm -rf "$src"
    mv "$tmp" "$src"
  else
    echo "model: $src (cached)" >&2
  fi
  echo "$src"
}
