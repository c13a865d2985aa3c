#!/usr/bin/env bash
# The whole test suite, from a clean checkout on Debian 12:
#   1. install what is missing (scripts/deps.sh test)
#   2. build hearthd as the README runs it (no tests) and the bench/ programs; build and run the
#      unit and integration tests with ctest
#   3. every test under AddressSanitizer + UndefinedBehaviorSanitizer: unit, integration and the
#      browser tests (real Chromium, aiortc, GStreamer, coturn against hearthd). The browser tests
#      run once, there: they take most of the suite's time (one at a time, two cores), and under
#      the sanitizers they check the same behaviour and memory safety besides
#   4. build the libFuzzer targets and run each on its corpus briefly
# The last line is "N passed, N failed"; the exit status is non-zero on any failure.
# Environment: HX_FUZZ_SECONDS (default 20 per target), HX_SKIP_ASAN=1, HX_SKIP_FUZZ=1.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
jobs=$(nproc)

# playwright-core for the browser tests (registered by CMake when present); TypeScript for
# browser/sdk_package, which type-checks the SDK's declarations.
for d in tests/browser clients/js; do
  if ! (cd "$d" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "=== npm ci in $d FAILED"; failed=$((failed + 1))
  fi
done

ctest_stage() { # name builddir ctest-label-exclusion cmake-args...
  local name=$1 dir=$2 exclude=$3; shift 3
  echo "=== $name: build ($dir)"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >/dev/null || ! cmake --build "$dir" -j "$jobs"; then
    echo "=== $name: BUILD FAILED"; failed=$((failed + 1)); return
  fi
  echo "=== $name: ctest"
  local log="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j "$jobs" ${exclude:+-LE "$exclude"}) 2>&1 |
    tee "$log"
  # ctest's own summary: "93% tests passed, 1 tests failed out of 14"
  local summary f n
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$summary" ]; then
    echo "=== $name: no ctest summary"; failed=$((failed + 1)); return
  fi
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  n=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
  passed=$((passed + n - f)); failed=$((failed + f))
}

# The build the README runs (scripts/run-dev.sh: no tests, so no invariant checks compiled in)
# and the benchmark programs on it: both must build with -Werror as they are.
echo "=== run build (build-run) and bench/"
if cmake -S . -B build-run -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_TESTS=OFF >/dev/null &&
   cmake --build build-run -j "$jobs" && BUILD_DIR=build-run bench/build.sh; then
  passed=$((passed + 1))
else
  echo "=== run build: FAILED"; failed=$((failed + 1))
fi

# The browser tests run in the sanitizer stage (3.), or here when that stage is skipped.
release_exclude=browser
[ "${HX_SKIP_ASAN:-0}" = 1 ] && release_exclude=""
ctest_stage "release" build "$release_exclude" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_TESTS=ON \
  -DHX_SANITIZE=OFF

if [ "${HX_SKIP_ASAN:-0}" != 1 ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest_stage "asan+ubsan" build-asan "" -DCMAKE_BUILD_TYPE=Debug -DHX_TESTS=ON -DHX_SANITIZE=ON
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [ "${HX_SKIP_FUZZ:-0}" != 1 ]; then
  echo "=== fuzz: build (build-fuzz)"
  if CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHX_FUZZ=ON >/dev/null &&
     cmake --build build-fuzz -j "$jobs"; then
    # One target per core at a time; each writes its report, printed in order once all are done.
    results=$(mktemp -d)
    fuzz_one() {
      local bin=$1 name corpus work
      name=$(basename "$bin"); corpus="fuzz/corpus/${name#fuzz_}"
      work=$(mktemp -d)
      {
        echo "=== fuzz: $name (${HX_FUZZ_SECONDS:-20} s, seeds in $corpus)"
        # The API and signaling targets keep a SQLite store: on /dev/shm its syncs are free.
        if TMPDIR=$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}" ) "$bin" -max_total_time="${HX_FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
             -artifact_prefix=fuzz/ "$work" "$corpus" >"$work.log" 2>&1; then
          tail -1 "$work.log"; echo ok >"$results/$name.rc"
        else
          tail -40 "$work.log"; echo "=== fuzz: $name FAILED"; echo failed >"$results/$name.rc"
        fi
      } >"$results/$name.out"
      rm -rf "$work" "$work.log"
    }
    for bin in build-fuzz/fuzz_*; do
      while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
      fuzz_one "$bin" &
    done
    wait
    for bin in build-fuzz/fuzz_*; do
      name=$(basename "$bin")
      cat "$results/$name.out" 2>/dev/null
      if [ "$(cat "$results/$name.rc" 2>/dev/null)" = ok ]; then
        passed=$((passed + 1))
      else
        failed=$((failed + 1))
      fi
    done
    rm -rf "$results"
  else
    echo "=== fuzz: BUILD FAILED"; failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
