--[[
  Claims a fleet-wide fill: the first node to ask for a cold variant takes its short lease and
  fetches it. A node that finds the lease taken leaves the waiting flag instead, so the holder
  announces its outcome (fillDone-2.lua) — in the same round trip as the claim — and the first
  node to wait says so on the fill channel, so the holder relays its response (flightAppend-2.lua)
  only when someone waits: a miss nobody else asked for costs no relay call.

  KEYS[1] the fill's lease      cf:{svc}:fill:<entryHash>
  KEYS[2] its waiting flag      cf:{svc}:fill-waiting:<entryHash>

  ARGV[1] the lease, ms
  ARGV[2] the channel           cf:fill
  ARGV[3] the message           JSON { service, entry, outcome: "waiting" }

  Output: 1 when the caller now holds the fill, 0 when another node does
]]
local rcall = redis.call
if rcall('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then
  return 1
end
if not rcall('SET', KEYS[2], '1', 'PX', ARGV[1], 'GET') then
  rcall('PUBLISH', ARGV[2], ARGV[3])
end
return 0
