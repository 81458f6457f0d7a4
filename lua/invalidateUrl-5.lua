--[[
  Invalidates a URL: removes every object stored for it (RFC 9111 §4.4), every key of each, with
  their bookkeeping and index entries.

  KEYS[1] vary key         cf:{svc}:vary:<primaryHash>
  KEYS[2] variants key     cf:{svc}:variants:<primaryHash>
  KEYS[3] frequency index  cf:{svc}:idx:freq
  KEYS[4] expiry index     cf:{svc}:idx:expiry
  KEYS[5] summary index    cf:{svc}:idx:info

  ARGV[1] service key prefix cf:{svc}: — the objects' entry keys are derived with it (from their
          summaries); they stay inside the service's hash tag.
  ARGV[2] the URL's hash (the id of its object when it varies on nothing the origin named)

  Output: the object ids that were removed (so callers can drop them from in-process caches).
]]
local rcall = redis.call
local prefix = ARGV[1]

--- @include "includes/entryIndex"

-- Objects stored for the URL but not indexed yet are indexed first, so they go too.
while drainPending(1000)[4] > 0 do
end
local members = objectsOf(ARGV[2])
forgetMany(members)
rcall('DEL', KEYS[1], KEYS[2])
return members
