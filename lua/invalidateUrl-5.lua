--[[
  Invalidates a URL: removes every stored variant of it (RFC 9111 §4.4), with its bookkeeping and
  its index entries.

  KEYS[1] vary key         cf:{svc}:vary:<primaryHash>
  KEYS[2] variants key     cf:{svc}:variants:<primaryHash>
  KEYS[3] frequency index  cf:{svc}:idx:freq
  KEYS[4] expiry index     cf:{svc}:idx:expiry
  KEYS[5] summary index    cf:{svc}:idx:info

  ARGV[1] service key prefix cf:{svc}: — the variants' entry keys are derived from the members
          of KEYS[2] with it; they stay inside the service's hash tag.

  Output: the entry hashes that were removed (so callers can drop them from in-process caches).
]]
local rcall = redis.call
local prefix = ARGV[1]

--- @include "includes/entryIndex"

local members = rcall('SMEMBERS', KEYS[2])
for _, member in ipairs(members) do
  rcall('DEL', prefix .. 'e:' .. member)
  forgetEntry(member)
end
rcall('DEL', KEYS[1], KEYS[2])
return members
