-- The comparison bench's load for wrk: one scenario per run, chosen by the first script argument.
--   wrk -t1 -c32 -d8s -s bench/wrk/scenarios.lua http://127.0.0.1:PORT -- SCENARIO LIVE_ID UNKNOWN_ID
-- Scenarios: create, get, head, unknown, loop. `loop` creates a session, reads it with HEAD and
-- GET once the create answered, and deletes it once the GET answered (ids from the answers).
-- At the end it prints one JSON line (prefixed "BENCH ") with counts, statuses and latencies.

local SESSION = "/api/v1/session"
local scenario, live_id, unknown_id
local pending = {}   -- requests the loop owes to sessions it created, oldest first
statuses = {}  -- status code -> count, per thread (a global: done reads it with thread:get)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  scenario, live_id, unknown_id = args[1], args[2], args[3]
  statuses = {}
end

local function session_path(id)
  return SESSION .. "/" .. id
end

function request()
  if scenario == "create" then
    return wrk.format("POST", SESSION)
  elseif scenario == "get" then
    return wrk.format("GET", session_path(live_id))
  elseif scenario == "head" then
    return wrk.format("HEAD", session_path(live_id))
  elseif scenario == "unknown" then
    return wrk.format("GET", session_path(unknown_id))
  end
  local step = table.remove(pending, 1)
  if step == nil then
    return wrk.format("POST", SESSION)
  end
  return wrk.format(step[1], session_path(step[2]))
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if scenario ~= "loop" or body == nil then
    return
  end
  local id = string.match(body, '"sessionId"%s*:%s*"([%x%-]+)"')
  if id == nil then
    return
  end
  if string.find(body, '"createdAt"', 1, true) then
    table.insert(pending, {"DELETE", id})
  elseif string.find(body, "created successfully", 1, true) then
    table.insert(pending, {"HEAD", id})
    table.insert(pending, {"GET", id})
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, n in pairs(counts) do
      merged[code] = (merged[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
