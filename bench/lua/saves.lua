-- Autosaves: PUT /api/v1/attempts/<id>/items/<position> for the contestants in the data file.
--
-- wrk ... -s saves.lua <url> -- <data file> <seq base> <requests/s per thread, 0 = unpaced>
-- Data file lines: "A<TAB>attempt id<TAB>session cookie<TAB>csrf token<TAB>device id", then its
-- positions: "P<TAB>position<TAB>answer JSON<TAB>another answer JSON". Each thread takes every
-- n-th contestant; requests go round-robin over its contestants, each with a per-attempt seq
-- that only grows, and each save alternates between the two answers of a position.
local contestants = {}
local next_index = 1

function init(args)
  local path, seq_base = args[1], tonumber(args[2] or "1")
  local tid = tonumber(wrk.thread:get("tid") or 0)
  local nthreads = tonumber(args[4] or "1")
  local index, current = 0, nil
  for line in io.lines(path) do
    local fields = tab_fields(line)
    if fields[1] == "A" then
      index = index + 1
      if (index - 1) % nthreads == tid then
        current = {id = fields[2], cookie = fields[3], csrf = fields[4], device = fields[5],
                   items = {}, next_item = 1, seq = seq_base, flip = 0}
        table.insert(contestants, current)
      else
        current = nil
      end
    elseif fields[1] == "P" and current then
      table.insert(current.items, {pos = fields[2], a = fields[3], b = fields[4]})
    end
  end
  pace_start(tonumber(args[3] or "0"))
end

function request()
  local c = contestants[next_index]
  next_index = next_index % #contestants + 1
  local item = c.items[c.next_item]
  c.next_item = c.next_item % #c.items + 1
  c.seq = c.seq + 1
  c.flip = 1 - c.flip
  local answer = c.flip == 1 and item.a or item.b
  pace_sent()
  return wrk.format("PUT", "/api/v1/attempts/" .. c.id .. "/items/" .. item.pos, {
    ["Cookie"] = "session=" .. c.cookie,
    ["X-CSRFToken"] = c.csrf,
    ["X-Device-Id"] = c.device,
    ["Content-Type"] = "application/json",
  }, '{"answer":' .. answer .. ',"seq":' .. c.seq .. '}')
end

function delay()
  return pace_delay()
end

function response(status, headers, body)
  count_status(status, body)
  if status == 200 then
    if string.find(body, '"saved":%s*true') then
      saved_true = saved_true + 1
    else
      saved_false = saved_false + 1
    end
  end
end
