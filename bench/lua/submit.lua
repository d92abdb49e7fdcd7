-- Submissions: POST /api/v1/attempts/<id>/submission, once per attempt in the data file.
--
-- wrk ... -s submit.lua <url> -- <data file> <submissions/s per thread> <threads>
-- Data file lines: "S<TAB>attempt id<TAB>session cookie<TAB>csrf token<TAB>device id". Each
-- thread takes every n-th attempt and submits them in order at its pace; when its attempts are
-- used up its connections wait for the end of the run.
local attempts = {}
local next_index = 1
local handed_out = 0

function init(args)
  local path = args[1]
  local tid = tonumber(wrk.thread:get("tid") or 0)
  local nthreads = tonumber(args[3] or "1")
  local index = 0
  for line in io.lines(path) do
    local fields = {}
    for part in string.gmatch(line, "[^\t]+") do table.insert(fields, part) end
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
  if handed_out >= #attempts then return 1000000000 end -- none left: idle to the end
  handed_out = handed_out + 1
  return pace_delay()
end

function request()
  local a = attempts[next_index]
  next_index = next_index + 1
  pace_sent()
  return wrk.format("POST", "/api/v1/attempts/" .. a.id .. "/submission", {
    ["Cookie"] = "session=" .. a.cookie,
    ["X-CSRFToken"] = a.csrf,
    ["X-Device-Id"] = a.device,
  })
end

function response(status, headers, body)
  count_status(status, body)
end
