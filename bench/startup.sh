#!/usr/bin/env bash
# Start-up time and memory per entity with 100,000 template entities: preloads a data dir,
# stops the server, starts it 3 times and times exec -> 200 on /health (with the state_loaded
# log line's seconds), and reports VmRSS before and after loading. Writes
# bench/results/startup.md.
#   bench/startup.sh [--entities 100000] [--runs 3] [--sync full|normal] [--keep] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) args+=("$a") ;;
  esac
done
if [ "$build" = 1 ]; then
  scripts/install-deps bench
  scripts/build -DTSUNAGU_BENCH=ON -DTSUNAGU_TESTS=OFF >/dev/null
fi

export TSUNAGU_BENCH_COMMAND="bench/startup.sh $*"
python3 bench/startup.py ${args[@]+"${args[@]}"} &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null; exit 130' INT TERM
wait "$driver"
