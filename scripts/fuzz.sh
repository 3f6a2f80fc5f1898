#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang++, ASan + UBSan) into build-fuzz/
# and runs each for FUZZ_SECONDS (default 30) from a copy of its seed corpus
# tests/fuzz/corpus/<name> (the repository is never modified). Any crash, abort,
# sanitizer report, timeout or out-of-memory fails the run; the reproducer is kept
# and its path printed. Last line: "fuzz: N passed, M failed".
#   FUZZ_SECONDS=20 scripts/fuzz.sh                 # every target, 20 s each
#   FUZZ_TARGETS="go_template scp_path" scripts/fuzz.sh
#   scripts/fuzz.sh --reproduce tests/fuzz/crashes/go_template-1   # run one input
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-2}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "scripts/fuzz.sh: clang++ is missing (scripts/install-deps.sh installs clang)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_DIR="${CCACHE_DIR:-/var/cache/ccache}" CCACHE_NOHASHDIR=1
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DDMACHINE_FUZZ=ON "${launcher[@]}" >/dev/null
if ! build_log=$(ninja -C "$build" -j"$jobs" fuzzers 2>&1); then
  printf '%s\n' "$build_log" | tail -40
  echo "fuzz: the fuzz targets do not build"
  exit 1
fi

# A reproducer input names its target: tests/fuzz/crashes/<target>-<n>.
if [ "${1:-}" = "--reproduce" ]; then
  shift
  status=0
  for input in "$@"; do
    name=$(basename "$input")
    name=${name%-*}
    echo "== fuzz_$name $input"
    "$build/fuzz_$name" "$input" || status=1
  done
  exit $status
fi

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  for source in tests/fuzz/fuzz_*.cpp; do
    name=$(basename "$source" .cpp)
    targets+=("${name#fuzz_}")
  done
fi

work=$(mktemp -d /tmp/dmachine-fuzz.XXXXXX)
passed=0
failed=0
failures=()
for name in "${targets[@]}"; do
  binary="$build/fuzz_$name"
  if [ ! -x "$binary" ]; then
    echo "fuzz_$name: no such target ($binary)" >&2
    failed=$((failed + 1))
    failures+=("$name")
    continue
  fi
  corpus="$work/$name/corpus"
  artifacts="$work/$name/artifacts"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  fi
  # Past crashes are seeds too: each run checks that they stay fixed.
  for crash in tests/fuzz/crashes/"$name"-*; do
    [ -f "$crash" ] && cp "$crash" "$corpus/"
  done
  # A dictionary of the input's tokens helps the mutator reach fields of the wrong type.
  dict=()
  case $name in
  machine_record | cluster_record | engine_api | swarm | service_account | gce_json) dict=(-dict=tests/fuzz/json.dict) ;;
  *) [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict") ;;
  esac
  log="$work/$name/log"
  start=$(date +%s)
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: runaway memory is a failure.
  if "$binary" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz_$name: ok ($(($(date +%s) - start)) s, ${runs:-?} runs, $(ls "$corpus" | wc -l) corpus entries)"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "fuzz_$name: FAILED after $(($(date +%s) - start)) s"
    for artifact in "$artifacts"/*; do
      [ -e "$artifact" ] || continue
      echo "  reproducer: $artifact"
      echo "  run it again: $binary $artifact"
      echo "  input (first 200 bytes, escaped): $(head -c 200 "$artifact" | od -An -c | tr -s ' ' | tr -d '\n')"
    done
    # The report: from the sanitizer's or libFuzzer's first line to the summary.
    grep -n -m1 -E '^==[0-9]+==|^fuzz invariant broken|terminate called|runtime error|^ALARM|out-of-memory' "$log" \
      | cut -d: -f1 | { read -r first || first=1; tail -n +"${first:-1}" "$log" | head -60; } | sed 's/^/  | /'
  fi
done

if [ "$failed" -eq 0 ]; then
  rm -rf "$work"
else
  echo "fuzz: failing targets: ${failures[*]}; reproducers and logs kept in $work"
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
