#!/usr/bin/env bash
# Checks that every ```cpp block of docs/user-guide.md appears, line for line (leading spaces
# ignored), in tests/cli/user_guide_example.cpp, which CTest compiles and runs: the guide's code
# cannot drift from code that works.
#
#   check_guide_snippets.sh <user-guide.md> <user_guide_example.cpp>
set -euo pipefail
guide=$1
example=$2
# The example as one line per source line, indentation removed, joined with a separator that
# cannot occur in source.
joined=$(sed -e 's/^[[:space:]]*//' "$example" | tr '\n' '\001')
blocks=0
failed=0
block=""
inside=0
while IFS= read -r line; do
  if [ $inside -eq 0 ] && [ "$line" = '```cpp' ]; then
    inside=1
    block=""
  elif [ $inside -eq 1 ] && [ "$line" = '```' ]; then
    inside=0
    blocks=$((blocks + 1))
    if [[ "$joined" != *"$block"* ]]; then
      echo "FAIL: this snippet of $guide is not in $example:"
      printf '%s\n' "$block" | tr '\001' '\n'
      failed=$((failed + 1))
    fi
  elif [ $inside -eq 1 ]; then
    stripped="${line#"${line%%[![:space:]]*}"}"
    block+="$stripped"$'\001'
  fi
done <"$guide"
if [ $blocks -eq 0 ]; then
  echo "FAIL: no cpp snippets found in $guide"
  exit 1
fi
echo "$blocks snippets checked, $failed missing"
[ $failed -eq 0 ]
