--[[
  Ends a fleet-wide fill: the lease goes, and when nodes are waiting for it (they left the waiting
  flag when their claim failed), they hear the outcome on the fill channel. A fill nobody waited
  for publishes nothing, so a miss costs the fleet no message.

  KEYS[1] the fill's lease      cf:{svc}:fill:<entryHash>
  KEYS[2] its waiting flag      cf:{svc}:fill-waiting:<entryHash>

  ARGV[1] the channel           cf:fill
  ARGV[2] the message           JSON { service, entry, outcome }

  Output: 1 when the outcome was published, else 0
]]
local rcall = redis.call
rcall('DEL', KEYS[1])
if rcall('DEL', KEYS[2]) == 1 then
  rcall('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0
