-- wrk script for every Tsunagu load scenario: cycles over the requests of a pool file written by
-- bench/run.py, one request per line: METHOD <tab> PATH <tab> BODY (BODY may be empty).
--   wrk ... -s bench/lua/requests.lua URL -- POOL_FILE [RUN_TAG]
-- "{{N}}" in PATH or BODY is replaced on every use by a token unique across threads,
-- connections and runs (RUN_TAG-thread-counter), so creates never collide. Lines without "{{N}}"
-- are formatted once at start, so the load generator does no per-request work for them.
-- done() prints one machine-readable line with the percentiles wrk --latency does not show (p95).

local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("tid", next_thread)
end

local requests = {}
local count = 0
local index = 0
local serial = 0
local tag = "r"

local function split(text, sep)
  local parts, start = {}, 1
  while true do
    local s, e = string.find(text, sep, start, true)
    if not s then
      parts[#parts + 1] = string.sub(text, start)
      return parts
    end
    parts[#parts + 1] = string.sub(text, start, s - 1)
    start = e + 1
  end
end

function init(args)
  local file = args[1]
  if not file then
    error("requests.lua: give the pool file after --")
  end
  tag = (args[2] or "r") .. "-" .. tostring(tid or 1)
  local f = assert(io.open(file, "r"))
  for line in f:lines() do
    if #line > 0 then
      local fields = split(line, "\t")
      local method, path, body = fields[1], fields[2], fields[3]
      if body == "" then body = nil end
      local headers = {}
      if body then headers["Content-Type"] = "application/json" end
      local dynamic = string.find(path, "{{N}}", 1, true) or
                      (body and string.find(body, "{{N}}", 1, true))
      if dynamic then
        requests[#requests + 1] = {method = method, path = split(path, "{{N}}"),
                                   body = body and split(body, "{{N}}"), headers = headers}
      else
        requests[#requests + 1] = wrk.format(method, path, headers, body)
      end
    end
  end
  f:close()
  count = #requests
  if count == 0 then
    error("requests.lua: no requests in " .. file)
  end
end

local function fill(parts)
  if #parts == 1 then return parts[1] end
  local out = {parts[1]}
  for i = 2, #parts do
    serial = serial + 1
    out[#out + 1] = tag .. "-" .. serial
    out[#out + 1] = parts[i]
  end
  return table.concat(out)
end

function request()
  index = index % count + 1
  local r = requests[index]
  if type(r) == "string" then
    return r
  end
  -- Copy the headers: wrk.format adds Host and Content-Length to the table it is given.
  local headers = {}
  for k, v in pairs(r.headers) do headers[k] = v end
  return wrk.format(r.method, fill(r.path), headers, r.body and fill(r.body))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "TSUNAGU_BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d " ..
    "status=%d timeout=%d mean_us=%.1f p50_us=%d p90_us=%d p95_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max))
end
