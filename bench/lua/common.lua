-- Shared by every bench script: a wall clock for pacing, per-thread counters, and a done()
-- that prints one JSON line ("BENCH_JSON {...}") the harness parses.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

wrk.headers["User-Agent"] = "contest-bench/1"

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

statuses = {}
saved_true = 0
saved_false = 0

first_error = ""

function tab_fields(line)
  local fields = {}
  for part in string.gmatch(line, "[^\t]+") do table.insert(fields, part) end
  return fields
end

late = {}  -- paced scripts: sends per whole ms of lateness behind their slot

-- Open-loop pacing per thread (scripts that pace call pace_start(rate) in init, return
-- pace_delay() from delay() and call pace_sent() in request(); pace_pending() is how many
-- reserved slots have not been sent yet). Each connection that is free
-- reserves the next send slot, slot n being due at start + n / rate: sends are spread evenly
-- (not one burst per round of the connections) and a connection held by a slow answer leaves
-- its slots to the others. A send later than its slot is counted in `late`: latency is measured
-- from the send, so lateness is the part a closed loop would hide.
local pace_rate, pace_started, reserved = 0, 0, 0
local due, due_head, due_tail = {}, 1, 0 -- due times of reserved slots not yet sent, oldest first

function pace_start(rate)
  pace_rate, pace_started = rate, now_ms()
end

function pace_delay()
  if pace_rate <= 0 then return 0 end
  reserved = reserved + 1
  local at = pace_started + (reserved - 1) * 1000 / pace_rate
  due_tail = due_tail + 1
  due[due_tail] = at
  local wait = at - now_ms()
  if wait < 0 then return 0 end
  return wait
end

function pace_sent()
  if due_head > due_tail then
    -- A request() without a reserved slot: wrk builds one request to check the script before
    -- the run starts. It is never sent.
    return
  end
  -- Timers fire in due order (those due in the same turn of wrk's loop possibly swapped), so
  -- this send is the oldest reserved slot, give or take a turn.
  local ms = now_ms() - due[due_head]
  due[due_head] = nil
  due_head = due_head + 1
  local bucket = ms > 0 and math.floor(ms) or 0
  late[bucket] = (late[bucket] or 0) + 1
end

function pace_pending()
  return due_tail - due_head + 1
end

local function late_summary(merged)
  local keys, total = {}, 0
  for k, v in pairs(merged) do table.insert(keys, k); total = total + v end
  table.sort(keys)
  local function at(q)
    local seen = 0
    for _, k in ipairs(keys) do
      seen = seen + merged[k]
      if seen >= q * total then return k end
    end
    return 0
  end
  return string.format('{"sends":%d,"p50":%d,"p99":%d,"max":%d}',
    total, at(0.5), at(0.99), keys[#keys] or 0)
end

function count_status(status, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 300 and first_error == "" and body then
    first_error = key .. " " .. string.sub(string.gsub(body, '[%c"\\]', " "), 1, 300)
  end
end

function done(summary, latency, requests)
  local merged, yes, no, example, lates = {}, 0, 0, "", {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("late") or {}) do lates[k] = (lates[k] or 0) + v end
    local s = thread:get("statuses") or {}
    for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
    yes = yes + (thread:get("saved_true") or 0)
    no = no + (thread:get("saved_false") or 0)
    if example == "" then example = thread:get("first_error") or "" end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s":%d', k, v)) end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"saved_true":%d,"saved_false":%d,"statuses":{%s},"first_error":"%s","late_ms":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, yes, no, table.concat(parts, ","), example, late_summary(lates)))
end
