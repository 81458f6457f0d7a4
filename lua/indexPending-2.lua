--[[
  Indexes the objects stored since the last call (a store is a plain MULTI of SETs that also pushes
  the object onto idx:pending; see src/store/redis-store.ts), keeps the service within its caps by
  evicting its least frequently used objects, and drops objects that expired on their own from the
  indexes. One call does bounded work; callers call again while items are left.

  KEYS[1] pending queue  cf:{svc}:idx:pending
  KEYS[2] stats          cf:{svc}:stats

  ARGV[1] service key prefix cf:{svc}: (every other key of the service is derived from it, inside
          its hash tag)
  ARGV[2] now, in milliseconds
  ARGV[3] most items to index

  Output: { objects indexed, objects removed by a Vary change, objects evicted, items left }
]]
local rcall = redis.call
local prefix, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

--- @include "includes/entryIndex"

forgetMany(rcall('ZRANGEBYSCORE', expiryKey, '-inf', now, 'LIMIT', 0, 64))
return drainPending(limit)
