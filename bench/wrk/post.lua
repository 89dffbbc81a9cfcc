-- wrk script of B4 (bench/gateway.py): POST one fixed JSON body, count answers, report in JSON.
--
-- Environment: WRK_BODY_FILE (the body, read once per thread), WRK_API_KEY (sent as X-API-Key
-- when set). The body carries no event_id: the gateway gives every event its own, so one
-- prepared request (wrk's fast path: no Lua call to build each request) still posts distinct
-- events. done() prints one line "WRK_JSON {...}" that bench/gateway.py parses: wrk's totals,
-- its latency percentiles (microseconds), the answers by status code and the 2xx answers that
-- say "spooled" (the broker was not acknowledging: the figure would not be the broker path's).

local body_file = os.getenv("WRK_BODY_FILE")
local f = assert(io.open(body_file, "rb"), "cannot read WRK_BODY_FILE " .. tostring(body_file))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("WRK_API_KEY")
if key and key ~= "" then
  wrk.headers["X-API-Key"] = key
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per thread (each thread has its own Lua state; done() collects them through thread:get).
statuses = {}
spooled = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 300 and body and string.find(body, '"spooled"', 1, true) then
    spooled = spooled + 1
  end
end

function done(summary, latency, requests)
  local by_status, total_spooled = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
    total_spooled = total_spooled + thread:get("spooled")
  end
  local parts = {}
  for status, n in pairs(by_status) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"statuses":{%s},"spooled":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(parts, ","), total_spooled))
end
