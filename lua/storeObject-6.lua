--[[
  Stores one object — an origin response as the representations the edge serves of it — records the
  Vary names of its URL, indexes the object once and keeps the service within its object cap by
  evicting its least frequently used objects (every key of each).

  KEYS[1] vary key         cf:{svc}:vary:<primaryHash>
  KEYS[2] variants key     cf:{svc}:variants:<primaryHash>   (set of object ids)
  KEYS[3] frequency index  cf:{svc}:idx:freq     (zset: object id -> decayed hit score, log2 scale)
  KEYS[4] expiry index     cf:{svc}:idx:expiry   (zset: object id -> delete time, ms)
  KEYS[5] summary index    cf:{svc}:idx:info     (hash: object id -> summary JSON; see includes/entryIndex)
  KEYS[6] stats            cf:{svc}:stats        (hash of counters)

  ARGV[1] time to live of every key of the object, in milliseconds (> 0)
  ARGV[2] the URL's Vary names, comma-separated and sorted ("" when it varies on nothing)
  ARGV[3] object id
  ARGV[4] primary hash (the URL)
  ARGV[5] service key prefix cf:{svc}: — entry keys (cf:{svc}:e:<hash>) and the keys of other objects
          and URLs of the service are derived from it; they stay inside the service's hash tag
  ARGV[6] now, in milliseconds
  ARGV[7] the score of one hit now: (now - epoch) / half-life (see src/store/lfu.ts)
  ARGV[8] object cap of the service
  ARGV[9] byte cap of the service (0: none)
  ARGV[10] the object's summary JSON (src/store/entry-index.ts); its `k` lists the keys below
  ARGV[11..] pairs: entry hash, packed record (src/store/codec.ts: an entry or an alias)

  Output: { objects removed because the URL's Vary names changed, objects evicted by the caps }
]]
local rcall = redis.call
local vary, variants, freq, expiry, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local ttl, names, member, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[5]
local now, hitScore, cap, byteCap, summary = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]

--- @include "includes/entryIndex"

-- 1. Objects that expired on their own leave the indexes first (bounded work per store).
for _, gone in ipairs(rcall('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 64)) do
  forgetEntry(gone)
end

-- 2. The origin changed its Vary list: objects keyed by the old names can never be selected again.
local removed = 0
local previous = rcall('GET', vary)
if previous and previous ~= names then
  for _, old in ipairs(rcall('SMEMBERS', variants)) do
    if old ~= member then
      forgetEntry(old)
      removed = removed + 1
    end
  end
  rcall('DEL', variants)
end

-- 3. The object replaces what was stored under its id: keys it no longer has go.
local writing = {}
for i = 11, #ARGV, 2 do
  writing[ARGV[i]] = true
end
local before = rcall('HGET', infoKey, member)
if before then
  for _, key in ipairs(keysOf(member, cjson.decode(before))) do
    if not writing[key] then
      rcall('DEL', prefix .. 'e:' .. key)
    end
  end
end

-- 4. Its keys and bookkeeping.
for i = 11, #ARGV, 2 do
  rcall('SET', prefix .. 'e:' .. ARGV[i], ARGV[i + 1], 'PX', ttl)
end
rcall('SET', vary, names, 'KEEPTTL')
rcall('SADD', variants, member)
for _, key in ipairs({ vary, variants }) do
  if rcall('PTTL', key) < ttl then
    rcall('PEXPIRE', key, ttl)
  end
end
-- A replaced object keeps its frequency; a new one starts with one hit's worth.
if not rcall('ZSCORE', freq, member) then
  rcall('ZADD', freq, hitScore, member)
end
rcall('ZADD', expiry, now + ttl, member)
indexEntry(member, summary)

-- 5. The caps: the least frequently used objects of this service go first, every key of each.
local evicted = 0
local function evict(count)
  local popped = rcall('ZPOPMIN', freq, count)
  for i = 1, #popped, 2 do
    if forgetEntry(popped[i]) then
      evicted = evicted + 1
    end
  end
  return #popped
end
local excess = rcall('ZCARD', freq) - cap
while excess > 0 and evict(excess) > 0 do
  excess = rcall('ZCARD', freq) - cap
end
if byteCap > 0 then
  while tonumber(rcall('HGET', stats, 'bytesStored') or '0') > byteCap and evict(1) > 0 do
  end
end
if evicted > 0 then
  rcall('HINCRBY', stats, 'evictions', evicted)
end
return { removed, evicted }
