#!/usr/bin/env bash
# Builds every fuzz target (cargo fuzz, no sanitizer: the code under test is safe Rust, and
# what is hunted is panics, broken invariants and hangs), runs each for SECONDS against its
# corpus (fuzz/seeds plus what earlier runs found, kept in target/fuzz/corpus), then prints
# executions and findings per target and in total. Exit status 1 if anything was found.
#   fuzz/run.sh SECONDS [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
dir="$PWD/target/fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz/fuzz_targets && ls ./*.rs | sed 's|^\./||; s|\.rs$||')

cargo fuzz build -s none --fuzz-dir fuzz --target-dir "$dir"
bin="$dir/x86_64-unknown-linux-gnu/release"

total=0
found=0
printf '%-14s %14s %12s %8s %8s\n' target executions "exec/s" corpus findings
for target in "${targets[@]}"; do
  corpus="$dir/corpus/$target"
  artifacts="$dir/artifacts/$target"
  log="$dir/logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  dict=()
  [ -f "fuzz/dict/$target.dict" ] && dict=("-dict=fuzz/dict/$target.dict")
  status=0
  "$bin/$target" "$corpus" "fuzz/seeds/$target" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$log" 2>&1 || status=$?
  runs="$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")"
  rate="$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")"
  units="$(find "$corpus" -type f | wc -l)"
  if [ "$status" -ne 0 ]; then
    found=$((found + 1))
    printf '%-14s %14s %12s %8s %8s\n' "$target" "${runs:-?}" "${rate:-?}" "$units" "FOUND"
    grep -E "panicked|ERROR: libFuzzer|Test unit written" "$log" | head -5 >&2
  else
    printf '%-14s %14s %12s %8s %8s\n' "$target" "$runs" "$rate" "$units" 0
  fi
  total=$((total + ${runs:-0}))
done
echo "total: $total executions in ${#targets[@]} targets, ${seconds}s each; $found with findings"
echo "(logs and any crashing input under $dir)"
[ "$found" -eq 0 ]
