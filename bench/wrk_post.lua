-- POST one JSON body; count responses by status in every thread and, when WRK_IDS names
-- a file, keep each 2xx's executionId so the bench can match them to stored rows.
local threads = {}

wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local keep_ids = (os.getenv("WRK_IDS") or "") ~= ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  ids = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if keep_ids and status >= 200 and status < 300 then
    local id = string.match(body, '"executionId": ?"([0-9a-f-]+)"')
    if id then ids[#ids + 1] = id end
  end
end

function done(summary, latency, requests)
  local totals = {}
  local out = keep_ids and io.open(os.getenv("WRK_IDS"), "w") or nil
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
    if out then
      for _, id in ipairs(thread:get("ids")) do out:write(id, "\n") end
    end
  end
  if out then out:close() end
  local parts = {}
  for status, count in pairs(totals) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
