#!/usr/bin/env bash
# Credentials checked on every request against none (issue 19's target: at least 90 % of the
# rate without auth): retrieve by id and PATCH one attribute of one entity, at 10 connections for
# 8 s each, with the server pinned to CPU 0 and wrk to CPU 1 (docs/benchmarks.md, "Bearer
# tokens", "API keys").
#   bench/auth.sh [BINARY] [ROWS]  (default build/tsunagu and every row; needs wrk and
#                                   python3-cryptography)
# Rows: none (no auth); rs256, es256 (a bearer token); apikey (an API key, made through the admin
# API); tenant (an API key of tenant "bench", which has no settings) and rated (the same, the
# tenant given a request rate it never reaches: the cost of its bucket, docs/security.md,
# "Tenants"); role (an API key of tenant "bench" holding a role whose rules let it write
# Sensors with an id pattern: the role's lookup and rules, docs/security.md, "Roles"). Each
# client sends one credential again and again, as clients do.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/tsunagu}")
rows=${2:-none,rs256,es256,apikey}
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
local authorization = os.getenv("AUTHORIZATION")
if os.getenv("BODY") and #os.getenv("BODY") > 0 then
  wrk.method = "PATCH"
  wrk.body = os.getenv("BODY")
  wrk.headers["Content-Type"] = "application/json"
end
if authorization and #authorization > 0 then wrk.headers["Authorization"] = authorization end
local tenant = os.getenv("TENANT")
if tenant and #tenant > 0 then wrk.headers["NGSILD-Tenant"] = tenant end
LUA
run() {  # run LABEL CREDENTIAL SERVER_ARGS...; CREDENTIAL: a token file, "apikey", "tenant",
        # "rated", "role" or ""
  local label=$1 credential=$2; shift 2
  local port=$((20000 + RANDOM % 20000)) data; data=$(mktemp -d -p "$work")
  taskset -c 0 "$bin" --threads 1 --sync normal --port "$port" --data-dir "$data" \
    --log-level warn "$@" 2>/dev/null &
  local pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "localhost:$port/health" && break; sleep 0.1; done
  local authorization="" tenant="" key_body='{"name":"bench","access":"write"}'
  local admin=(-H "Authorization: ApiKey $(cat "$work/admin.key" 2>/dev/null)" \
               -H 'Content-Type: application/json')
  if [ "$credential" = tenant ] || [ "$credential" = rated ] || [ "$credential" = role ]; then
    tenant=bench
    key_body='{"name":"bench","access":"write","tenant":"bench"}'
  fi
  if [ "$credential" = role ]; then
    curl -s -o /dev/null "${admin[@]}" -d '{"name":"bench","roles":[{"name":"sensors","rules":[
      {"access":"write","types":["Sensor"],"idPattern":"urn:ngsi-ld:Sensor:[0-9]+"}]}]}' \
      "localhost:$port/admin/v1/tenants"
    key_body='{"name":"bench","access":"write","tenant":"bench","role":"sensors"}'
  fi
  if [ "$credential" = rated ]; then
    curl -s -o /dev/null "${admin[@]}" \
      -d '{"name":"bench","quotas":{"requestsPerSecond":10000000}}' \
      "localhost:$port/admin/v1/tenants"
  fi
  if [ "$credential" = apikey ] || [ -n "$tenant" ]; then
    authorization="ApiKey $(curl -s "${admin[@]}" -d "$key_body" \
      "localhost:$port/admin/v1/apiKeys" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')"
  elif [ -n "$credential" ]; then
    authorization="Bearer $(cat "$work/$credential")"
  fi
  local in_tenant=()
  [ -n "$tenant" ] && in_tenant=(-H "NGSILD-Tenant: $tenant")
  curl -s -o /dev/null -H "Authorization: $authorization" -H 'Content-Type: application/json' \
    "${in_tenant[@]}" \
    -d '{"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","temperature":{"type":"Property","value":20}}' \
    "localhost:$port/ngsi-ld/v1/entities"
  local url="http://localhost:$port/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1"
  # The server's CPU per request beside the rate: on a machine shared with other work the rate
  # follows whatever else runs on CPU 0, the CPU a request costs much less so.
  cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  measure() {  # measure URL [BODY]: "RATE USEC_PER_REQUEST"
    local before after out
    before=$(cpu_ticks)
    out=$(AUTHORIZATION=$authorization TENANT=$tenant BODY=${2:-} taskset -c 1 wrk -t1 -c10 -d8s \
          -s "$work/req.lua" "$1")
    after=$(cpu_ticks)
    echo "$out" | awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
      /requests in/ {n = $1} /Requests\/sec/ {rate = $2} /Non-2xx/ {rate = "ERRORS"}
      END {printf "%s %.2f", rate, ticks / hz * 1e6 / n}'
  }
  local get patch
  get=$(measure "$url")
  patch=$(measure "$url/attrs/temperature" '{"value": 21.5}')
  printf '%-20s GET %10s req/s %6s us CPU/req   PATCH %10s req/s %6s us CPU/req\n' "$label" \
    $get $patch
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for row in ${rows//,/ }; do
  case $row in
    none) run "no auth" "" ;;
    rs256) run "RS256 bearer token" RS256 --auth-jwks-file "$work/jwks.json" ;;
    es256) run "ES256 bearer token" ES256 --auth-jwks-file "$work/jwks.json" ;;
    apikey) run "API key" apikey --admin-key-file "$work/admin.key" ;;
    tenant) run "API key, tenant" tenant --admin-key-file "$work/admin.key" ;;
    rated) run "API key, tenant rate" rated --admin-key-file "$work/admin.key" ;;
    role) run "API key, role" role --admin-key-file "$work/admin.key" ;;
    *) echo "unknown row '$row' (none, rs256, es256, apikey, tenant, rated, role)" >&2; exit 2 ;;
  esac
done
