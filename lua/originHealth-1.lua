--[[
  The circuit breaker's shared state for one service's origin: consecutive failures seen by any
  edge node, and until when the circuit is open.

  KEYS[1] cf:{svc}:origin   (hash: failures, openUntil, opened)

  ARGV[1] "fail" (count a failure), "ok" (a success: close) or "read"
  ARGV[2] now, in milliseconds
  ARGV[3] failures that open the circuit
  ARGV[4] how long it stays open, in milliseconds

  Output: { failures, openUntil }
]]
local rcall = redis.call
local key, op, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
if op == 'ok' then
  if rcall('EXISTS', key) == 1 then
    rcall('HSET', key, 'failures', 0, 'openUntil', 0)
  end
  return { 0, 0 }
end
if op == 'fail' then
  local failures = rcall('HINCRBY', key, 'failures', 1)
  local openUntil = tonumber(rcall('HGET', key, 'openUntil') or '0')
  -- Open (or open again after a failed probe) once there are enough failures and it is not open.
  if failures >= tonumber(ARGV[3]) and openUntil <= now then
    openUntil = now + tonumber(ARGV[4])
    rcall('HSET', key, 'openUntil', openUntil)
    rcall('HINCRBY', key, 'opened', 1)
  end
  return { failures, openUntil }
end
local state = rcall('HMGET', key, 'failures', 'openUntil')
return { tonumber(state[1] or '0'), tonumber(state[2] or '0') }
