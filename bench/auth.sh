#!/usr/bin/env bash
# Bearer-token checking against none (issue 19's target: at least 90 % of the rate without
# auth): retrieve by id and PATCH one attribute of one entity, at 10 connections for 8 s each,
# with the server pinned to CPU 0 and wrk to CPU 1 (docs/benchmarks.md, "Bearer tokens").
#   bench/auth.sh [BINARY]        (default build/tsunagu; needs wrk and python3-cryptography)
# Rows: no auth; an RS256 token; an ES256 token. Each client sends one token again and again,
# as clients do until it expires.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/tsunagu}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import json, os, sys, time
sys.path.insert(0, "tests/lib")
import jws
work = sys.argv[1]
rsa, ec = jws.SigningKey("RS256", "bench-rsa"), jws.SigningKey("ES256", "bench-ec")
json.dump({"keys": [rsa.jwk, ec.jwk]}, open(os.path.join(work, "jwks.json"), "w"))
claims = {"sub": "bench", "exp": int(time.time()) + 3600}
open(os.path.join(work, "RS256"), "w").write(rsa.sign(claims))
open(os.path.join(work, "ES256"), "w").write(ec.sign(claims))
PY
cat > "$work/req.lua" <<'LUA'
local token = os.getenv("TOKEN")
if os.getenv("BODY") then
  wrk.method = "PATCH"
  wrk.body = os.getenv("BODY")
  wrk.headers["Content-Type"] = "application/json"
end
if token and #token > 0 then wrk.headers["Authorization"] = "Bearer " .. token end
LUA
run() {  # run LABEL TOKEN_FILE AUTH_ARGS...
  local label=$1 tokfile=$2; shift 2
  local port=$((20000 + RANDOM % 20000)) data; data=$(mktemp -d -p "$work")
  taskset -c 0 "$bin" --threads 1 --sync normal --port "$port" --data-dir "$data" \
    --log-level warn "$@" 2>/dev/null &
  local pid=$!
  local token=""; [ -n "$tokfile" ] && token=$(cat "$work/$tokfile")
  for _ in $(seq 50); do curl -s -o /dev/null "localhost:$port/health" && break; sleep 0.1; done
  curl -s -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","temperature":{"type":"Property","value":20}}' \
    "localhost:$port/ngsi-ld/v1/entities"
  local url="http://localhost:$port/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1"
  local get patch
  get=$(TOKEN=$token taskset -c 1 wrk -t1 -c10 -d8s -s "$work/req.lua" "$url" |
        awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "ERRORS"}')
  patch=$(TOKEN=$token BODY='{"value": 21.5}' taskset -c 1 wrk -t1 -c10 -d8s -s "$work/req.lua" \
          "$url/attrs/temperature" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "ERRORS"}')
  printf '%-28s GET %10s req/s   PATCH %10s req/s\n' "$label" "$get" "$patch"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
run "no auth" ""
run "RS256 bearer token" RS256 --auth-jwks-file "$work/jwks.json"
run "ES256 bearer token" ES256 --auth-jwks-file "$work/jwks.json"
