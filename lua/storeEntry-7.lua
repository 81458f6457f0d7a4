--[[
  Stores one cache entry, records the Vary names of its URL, indexes the entry and keeps the
  service within its object cap by evicting its least frequently used entries.

  KEYS[1] entry key        cf:{svc}:e:<entryHash>
  KEYS[2] vary key         cf:{svc}:vary:<primaryHash>
  KEYS[3] variants key     cf:{svc}:variants:<primaryHash>
  KEYS[4] frequency index  cf:{svc}:idx:freq     (zset: entryHash -> decayed hit score, log2 scale)
  KEYS[5] expiry index     cf:{svc}:idx:expiry   (zset: entryHash -> delete time, ms)
  KEYS[6] summary index    cf:{svc}:idx:info     (hash: entryHash -> summary JSON; see includes/entryIndex)
  KEYS[7] stats            cf:{svc}:stats        (hash of counters)

  ARGV[1] packed record (see src/store/codec.ts)
  ARGV[2] time to live of the entry, in milliseconds (> 0)
  ARGV[3] the entry's Vary names, comma-separated and sorted ("" when it varies on nothing)
  ARGV[4] entry hash
  ARGV[5] primary hash (the URL)
  ARGV[6] service key prefix cf:{svc}: — keys of other entries and URLs of the service are derived
          from it (entries evicted or replaced); they stay inside the service's hash tag
  ARGV[7] now, in milliseconds
  ARGV[8] the score of one hit now: (now - epoch) / half-life (see src/store/lfu.ts)
  ARGV[9] object cap of the service
  ARGV[10] byte cap of the service (0: none)
  ARGV[11] the entry's summary JSON (src/store/entry-index.ts)

  Output: { variants removed because the URL's Vary names changed, entries evicted by the cap }
]]
local rcall = redis.call
local entry, vary, variants, freq, expiry, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7]
local record, ttl, names, member, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[6]
local now, hitScore, cap, byteCap, summary = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]

--- @include "includes/entryIndex"

-- 1. Entries that expired on their own leave the indexes first (bounded work per store).
for _, gone in ipairs(rcall('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 64)) do
  forgetEntry(gone)
end

-- 2. The origin changed its Vary list: variants keyed by the old names can never be selected again.
local removed = 0
local previous = rcall('GET', vary)
if previous and previous ~= names then
  for _, old in ipairs(rcall('SMEMBERS', variants)) do
    if old ~= member then
      removed = removed + rcall('DEL', prefix .. 'e:' .. old)
      forgetEntry(old)
    end
  end
  rcall('DEL', variants)
end

-- 3. The entry and its bookkeeping.
rcall('SET', entry, record, 'PX', ttl)
rcall('SET', vary, names, 'KEEPTTL')
rcall('SADD', variants, member)
for _, key in ipairs({ vary, variants }) do
  if rcall('PTTL', key) < ttl then
    rcall('PEXPIRE', key, ttl)
  end
end
-- A replaced entry keeps its frequency; a new one starts with one hit's worth.
if not rcall('ZSCORE', freq, member) then
  rcall('ZADD', freq, hitScore, member)
end
rcall('ZADD', expiry, now + ttl, member)
indexEntry(member, summary)

-- 4. The caps: the least frequently used entries of this service go first.
local evicted = 0
local function evict(count)
  local popped = rcall('ZPOPMIN', freq, count)
  for i = 1, #popped, 2 do
    local victim = popped[i]
    evicted = evicted + rcall('DEL', prefix .. 'e:' .. victim)
    forgetEntry(victim)
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
