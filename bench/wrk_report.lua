-- wrk script for bench/load.py: counts the answers by HTTP status in every wrk thread and, when
-- the run ends, prints one JSON line with requests, duration, p50/p99 latency, socket errors and
-- the status counts (wrk itself only reports "non-2xx or 3xx" as one number).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  -- A 503 that says when to come back is the panel holding a request back for HubSpot's rate
  -- limit; one without it would be a failure.
  local key = tostring(status)
  if status == 503 and (headers["Retry-After"] or headers["retry-after"]) then
    key = "503 Retry-After"
  end
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
