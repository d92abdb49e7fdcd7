-- Submissions: POST /api/v1/attempts/<id>/submission, once per attempt in the data file.
--
-- wrk ... -s submit.lua <url> -- <data file> <submissions/s per thread> <threads> <connections
-- per thread>
-- Data file lines: "S<TAB>attempt id<TAB>session cookie<TAB>csrf token<TAB>device id". Each
-- thread takes every n-th attempt and submits them in order at its pace; when its attempts are
-- used up its connections wait for the end of the run. (wrk builds one request before the run
-- to check the script: the first attempt of the first thread is never submitted.)
local attempts = {}
local next_index = 1
local margin = 0 -- the thread's connections

function init(args)
  local path = args[1]
  local tid = tonumber(wrk.thread:get("tid") or 0)
  local nthreads = tonumber(args[3] or "1")
  margin = tonumber(args[4] or "0")
  local index = 0
  for line in io.lines(path) do
    local fields = tab_fields(line)
    if fields[1] == "S" then
      index = index + 1
      if (index - 1) % nthreads == tid then
        table.insert(attempts, {id = fields[2], cookie = fields[3], csrf = fields[4],
                                device = fields[5]})
      end
    end
  end
  pace_start(tonumber(args[2] or "0"))
end

function delay()
  -- Sent plus waiting for their slot: when that comes within one per connection of every
  -- attempt, idle to the end. (wrk sends without asking delay() when it reconnects after an
  -- error; the margin keeps an attempt for each such send.)
  if (next_index - 1) + pace_pending() + margin >= #attempts then
    return 1000000000
  end
  return pace_delay()
end

function request()
  pace_sent()
  local a = attempts[next_index]
  if a == nil then error("submit.lua: more sends than attempts") end
  next_index = next_index + 1
  return wrk.format("POST", "/api/v1/attempts/" .. a.id .. "/submission", {
    ["Cookie"] = "session=" .. a.cookie,
    ["X-CSRFToken"] = a.csrf,
    ["X-Device-Id"] = a.device,
  })
end

function response(status, headers, body)
  count_status(status, body)
end
