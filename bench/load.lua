-- wrk script for the benchmarks: one request shape, purchase ids taken in turn.
--
-- Read from the environment (bench/load.py sets them):
--   BENCH_METHOD         GET or POST
--   BENCH_PATH           the path, "{id}" replaced by a purchase id
--   BENCH_BODY           the body, "{id}" replaced likewise (empty: none)
--   BENCH_IDS            purchase ids separated by spaces (empty: none)
--   BENCH_AUTHORIZATION, BENCH_CONTENT_TYPE, BENCH_COOKIE   headers, when set
-- At the end one line "BENCH_JSON {...}" carries the counts, the errors and the
-- latency distribution in microseconds.

local ids = {}
local method, path, body
local n = 0

local function header(name, variable)
  local value = os.getenv(variable)
  if value and value ~= "" then
    wrk.headers[name] = value
  end
end

local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  method = os.getenv("BENCH_METHOD") or "GET"
  path = os.getenv("BENCH_PATH") or "/"
  body = os.getenv("BENCH_BODY") or ""
  header("Authorization", "BENCH_AUTHORIZATION")
  header("Content-Type", "BENCH_CONTENT_TYPE")
  header("Cookie", "BENCH_COOKIE")
  for id in string.gmatch(os.getenv("BENCH_IDS") or "", "%S+") do
    ids[#ids + 1] = id
  end
  -- each thread starts at its own place in the list
  n = ((offset or 0) * 7) % math.max(#ids, 1)
end

function request()
  local id = ""
  if #ids > 0 then
    n = n % #ids + 1
    id = ids[n]
  end
  local b = nil
  if body ~= "" then
    b = body:gsub("{id}", id)
  end
  return wrk.format(method, (path:gsub("{id}", id)), nil, b)
end

function done(summary, latency, requests)
  local e = summary.errors
  local points = {}
  local marks = {}
  for p = 1, 99 do
    marks[#marks + 1] = p
  end
  for _, p in ipairs({99.5, 99.9, 100}) do
    marks[#marks + 1] = p
  end
  for _, p in ipairs(marks) do
    points[#points + 1] = string.format("[%g,%d]", p, latency:percentile(p))
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"cdf":[%s]}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(points, ",")))
end
