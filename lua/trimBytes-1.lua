--[[
  A byte quota's clean-up (docs/large-objects.md, "Quotas"): indexes what is pending, then evicts
  the key space's least frequently used objects, every key and chunk of each, until the bytes it
  stores are at most the target.

  KEYS[1] stats  cf:{svc}:stats

  ARGV[1] service key prefix cf:{svc}: (every other key is derived from it, inside its hash tag)
  ARGV[2] the target, bytes (> 0)

  Output: objects evicted
]]
local rcall = redis.call
local prefix, target = ARGV[1], tonumber(ARGV[2])

--- @include "includes/entryIndex"

local left = 1
while left > 0 do
  left = drainPending(256)[4]
end
return enforceCaps(math.huge, target)
