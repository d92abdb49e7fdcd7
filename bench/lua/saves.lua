-- Autosaves: PUT /api/v1/attempts/<id>/items/<position> for the contestants in the data file.
--
-- wrk ... -s saves.lua <url> -- <data file> <seq base> <requests/s per thread, 0 = unpaced>
-- Data file lines: "A<TAB>attempt id<TAB>session cookie<TAB>csrf token<TAB>device id", then its
-- positions: "P<TAB>position<TAB>answer JSON<TAB>another answer JSON". Each thread takes every
-- n-th contestant; requests go round-robin over its contestants, each with a per-attempt seq
-- that only grows, and each save alternates between the two answers of a position.
local contestants = {}
local next_index = 1
local rate = 0
local started = 0
local reserved = 0 -- paced: send slots handed out so far (one per delay() call)
local due = {}  -- paced: the due times of reserved slots not yet sent, oldest first
local due_head, due_tail = 1, 0

function init(args)
  local path, seq_base = args[1], tonumber(args[2] or "1")
  rate = tonumber(args[3] or "0")
  local tid = tonumber(wrk.thread:get("tid") or 0)
  local nthreads = tonumber(args[4] or "1")
  local index, current = 0, nil
  for line in io.lines(path) do
    local fields = {}
    for part in string.gmatch(line, "[^\t]+") do table.insert(fields, part) end
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
  started = now_ms()
end

function request()
  local c = contestants[next_index]
  next_index = next_index % #contestants + 1
  local item = c.items[c.next_item]
  c.next_item = c.next_item % #c.items + 1
  c.seq = c.seq + 1
  c.flip = 1 - c.flip
  local answer = c.flip == 1 and item.a or item.b
  if due_head <= due_tail then
    -- Timers fire in due order, so this send is the oldest reserved slot: how late is it?
    note_late(now_ms() - due[due_head])
    due[due_head] = nil
    due_head = due_head + 1
  end
  return wrk.format("PUT", "/api/v1/attempts/" .. c.id .. "/items/" .. item.pos, {
    ["Cookie"] = "session=" .. c.cookie,
    ["X-CSRFToken"] = c.csrf,
    ["X-Device-Id"] = c.device,
    ["Content-Type"] = "application/json",
  }, '{"answer":' .. answer .. ',"seq":' .. c.seq .. '}')
end

function delay()
  if rate <= 0 then return 0 end
  -- Open-loop pacing per thread: each connection that is free reserves the next slot, slot n
  -- being due at start + n / rate, so sends are spread evenly (not one burst per connection
  -- round) and a connection held by a slow answer leaves its slots to the others. A send later
  -- than its slot is counted (late_ms): latency is measured from the send, so lateness is the
  -- part a closed loop would hide.
  reserved = reserved + 1
  local at = started + (reserved - 1) * 1000 / rate
  due_tail = due_tail + 1
  due[due_tail] = at
  local wait = at - now_ms()
  if wait < 0 then return 0 end
  return wait
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
