#!/usr/bin/env bash
# The load benchmarks in one command: installs wrk if missing, builds in Release, then runs every
# scenario beside the null-handler baselines and prints one table (also written to
# bench/results/latest.md). docs/benchmarks.md describes the scenarios.
#   bench/run.sh                         everything (about 20 minutes; S9 about 5 of them)
#   bench/run.sh --quick                 3 s runs, small data sets (about 6 minutes)
#   bench/run.sh --only S1,S6 --duration 10
#   bench/run.sh --micro [gbench args]   the Google Benchmark micro-benchmarks instead
#   bench/run.sh --help                  every option
# --no-build skips the install and build steps.
set -euo pipefail
cd "$(dirname "$0")/.."

micro=0
build=1
args=()
for a in "$@"; do
  case "$a" in
    --micro) micro=1 ;;
    --no-build) build=0 ;;
    *) args+=("$a") ;;
  esac
done

if [ "$build" = 1 ]; then
  scripts/install-deps bench
  scripts/build -DTSUNAGU_BENCH=ON -DTSUNAGU_TESTS=OFF >/dev/null
fi
dir=${TSUNAGU_BUILD_DIR:-build}

if [ "$micro" = 1 ]; then
  [ -x "$dir/tsunagu_micro" ] || { echo "bench: $dir/tsunagu_micro is missing" >&2; exit 1; }
  exec taskset -c 0 "$dir/tsunagu_micro" ${args[@]+"${args[@]}"}
fi

# The driver runs in the background so that this shell can forward INT/TERM to it at once; it
# stops its servers on SIGTERM (and they get SIGTERM by themselves if it dies).
export TSUNAGU_BENCH_COMMAND="bench/run.sh $*"
python3 bench/run.py ${args[@]+"${args[@]}"} &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null; exit 130' INT TERM
wait "$driver"
