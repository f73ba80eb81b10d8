#!/usr/bin/env bash
# Runs every suite, adds up their TAP "# pass N" / "# fail N" lines and ends with
#   N passed, N failed
# Suites: C unit tests (plain and ASan+UBSan builds), the store's unit tests again on a
# PostgreSQL started for them (unit-pg, both builds), the simulator's fidelity tests, SEV's
# integration tests against build/sev and build-asan/sev, the browser tests, and a short
# run of each libFuzzer target in tests/fuzz (FUZZ_SECS each, default 20), and the cluster
# tests (several nodes, a Redis and a store they start themselves: tests/cluster), and the
# layering check (scripts/check-layers.sh: includes and calls follow docs/architecture.md's
# module map, no loops between modules or files; on build/'s objects).
# SUITES="layers unit sim integration cluster e2e fuzz" limits what runs; TEST_FILTER is passed to node --test.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/artifacts
log=tests/artifacts/test-output.txt
: > "$log"
pass=0 fail=0
suites=${SUITES:-"layers unit unit-asan unit-pg sim integration integration-asan cluster e2e fuzz"}

count() { # name, then the command; its TAP output is tallied
  local name=$1; shift
  echo "== $name" | tee -a "$log"
  local out rc
  out=$("$@" 2>>"$log"); rc=$?
  printf '%s\n' "$out" >> "$log"
  printf '%s\n' "$out" | grep -E '^(not ok|# (pass|fail))' | sed 's/^/   /'
  local p f
  p=$(printf '%s\n' "$out" | awk '/^# pass /{s+=$3} END{print s+0}')
  f=$(printf '%s\n' "$out" | awk '/^# fail /{s+=$3} END{print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "   $name exited $rc without a failing test: counted as one failure"; fi
  pass=$((pass + p)); fail=$((fail + f))
}

unit() { # build dir
  local rc=0 n=0
  for t in "$1"/unit/test_*; do
    [ -x "$t" ] || continue
    n=$((n + 1))
    echo "# $(basename "$t")"
    ASAN_OPTIONS=detect_leaks=1 "$t" || rc=1
  done
  # a missing build must not pass as "nothing failed"
  if [ "$n" -eq 0 ]; then echo "not ok 1 - no unit tests built in $1 (make; make SAN=1 for build-asan)"; echo "# fail 1"; return 1; fi
  return $rc
}

unit_pg() { # the store's tests on a throwaway PostgreSQL (scripts/pg-test.sh), both builds
  local dir uri rc=0 b
  dir=$(mktemp -d /tmp/sev-pg-XXXXXX)
  if ! uri=$(scripts/pg-test.sh start "$dir" 2>&1); then
    echo "not ok 1 - start PostgreSQL: $uri"; echo "# pass 0"; echo "# fail 1"
    rm -rf "$dir"; return 1
  fi
  for b in build build-asan; do
    [ -x "$b/unit/test_store" ] || continue
    echo "# $b/unit/test_store on $uri"
    SEV_TEST_DATABASE=$uri SEV_TEST_PG_DIR=$dir ASAN_OPTIONS=detect_leaks=1 "$b/unit/test_store" || rc=1
  done
  scripts/pg-test.sh destroy "$dir"
  return $rc
}

node_suite() { # dir, extra env
  local dir=$1; shift
  local files
  files=$(ls "$dir"/*.test.js 2>/dev/null)
  [ -n "$files" ] || { echo "# pass 0"; echo "# fail 0"; return 0; }
  env "$@" node --test --test-concurrency=1 --test-reporter=tap ${TEST_FILTER:+--test-name-pattern="$TEST_FILTER"} $files
}

fuzz() { # each target for FUZZ_SECS on its corpus; new inputs go to tests/fuzz/build/corpus
  if ! make --no-print-directory -s -C tests/fuzz >&2; then
    echo "not ok 1 - fuzz targets build"; echo "# pass 0"; echo "# fail 1"; return 1
  fi
  local n=0 p=0 f=0 t name
  for t in tests/fuzz/build/fuzz_*; do
    case $t in *.d) continue ;; esac
    [ -x "$t" ] || continue
    name=$(basename "$t"); n=$((n + 1))
    mkdir -p "tests/fuzz/build/corpus/$name"
    if "$t" -max_total_time="${FUZZ_SECS:-20}" -print_final_stats=1 \
        -artifact_prefix="tests/artifacts/$name-" "tests/fuzz/build/corpus/$name" \
        "tests/fuzz/corpus/$name" > "tests/artifacts/$name.log" 2>&1; then
      p=$((p + 1)); echo "ok $n - fuzz $name"
    else
      f=$((f + 1)); echo "not ok $n - fuzz $name (see tests/artifacts/$name.log)"
    fi
  done
  echo "1..$n"; echo "# pass $p"; echo "# fail $f"
  [ "$f" -eq 0 ]
}

for s in $suites; do
  case $s in
    layers) count "layers (module map, no loops)" scripts/check-layers.sh ;;
    unit) count "unit (build)" unit build ;;
    unit-asan) count "unit (ASan+UBSan)" unit build-asan ;;
    unit-pg) count "unit on PostgreSQL (store)" unit_pg ;;
    sim) count "twitch-sim fidelity" node_suite tests/sim ;;
    integration) count "integration (build/sev)" node_suite tests/integration SEV_BIN=build/sev ;;
    integration-asan) count "integration (ASan+UBSan build-asan/sev)" node_suite tests/integration SEV_BIN=build-asan/sev \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ;;
    cluster) count "cluster (build/sev nodes, Redis, shared store)" node_suite tests/cluster SEV_BIN=build/sev ;;
    e2e) count "browser (chromium)" node_suite tests/e2e SEV_BIN=build/sev ;;
    fuzz) count "fuzz (libFuzzer, ${FUZZ_SECS:-20} s per target)" fuzz ;;
  esac
done
echo "full output: $log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
