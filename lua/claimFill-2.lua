--[[
  Claims a fleet-wide fill: the first node to ask for a cold variant takes its short lease and
  fetches it. A node that finds the lease taken leaves the waiting flag instead, so the holder
  relays its response and announces its outcome (flightAppend-2.lua, fillDone-2.lua) — in the
  same round trip as the claim.

  KEYS[1] the fill's lease      cf:{svc}:fill:<entryHash>
  KEYS[2] its waiting flag      cf:{svc}:fill-waiting:<entryHash>

  ARGV[1] the lease, ms

  Output: 1 when the caller now holds the fill, 0 when another node does
]]
local rcall = redis.call
if rcall('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then
  return 1
end
rcall('SET', KEYS[2], '1', 'PX', ARGV[1])
return 0
