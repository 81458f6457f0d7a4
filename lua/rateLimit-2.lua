--[[
  Sliding-window rate limit, approximated with two fixed windows: the previous window's count
  weighs in proportion to how much of it still overlaps the sliding window.

  KEYS[1] counter of the current window    cf:{svc}:rl:<client>:<window index>
  KEYS[2] counter of the previous window   cf:{svc}:rl:<client>:<window index - 1>

  ARGV[1] limit (requests per window)
  ARGV[2] window length, in milliseconds
  ARGV[3] milliseconds elapsed in the current window

  Output: { allowed (1/0), milliseconds until a request would be allowed (0 when allowed) }
]]
local rcall = redis.call
local limit, window, elapsed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local current = tonumber(rcall('GET', KEYS[1]) or '0')
local previous = tonumber(rcall('GET', KEYS[2]) or '0')
local weight = (window - elapsed) / window
local estimate = previous * weight + current
if estimate + 1 > limit then
  -- The estimate falls as the previous window slides out; when nothing more can slide out, wait
  -- for the next window.
  local wait = window - elapsed
  if previous > 0 then
    local needed = (estimate + 1 - limit) / previous * window
    if needed < wait then wait = math.ceil(needed) end
  end
  return { 0, math.max(1, wait) }
end
rcall('INCR', KEYS[1])
rcall('PEXPIRE', KEYS[1], window * 2)
return { 1, 0 }
