# Sourced by the interop scripts (run_interop.sh, serve_interop.sh): their common command line
# `<modelport-cli> <fixtures-dir> <work-dir>` and the PASS/FAIL counters.
if [ $# -ne 3 ]; then
  echo "usage: $0 <modelport-cli> <fixtures-dir> <work-dir>" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
cli=$(abspath "$1")
fixtures=$(abspath "$2")
work=$(abspath "$3")

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1${2:+: $2}"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
