--[[
  Stores an object's keys and queues it for indexing: the whole of a miss's write, kept small so a
  store costs Redis little (the indexes, caps and LFU bookkeeping follow in batches,
  lua/indexPending-2.lua; docs/redis-layout.md, "The write path").

  KEYS[1] vary key       cf:{svc}:vary:<primaryHash>
  KEYS[2] variants key   cf:{svc}:variants:<primaryHash>
  KEYS[3] pending queue  cf:{svc}:idx:pending

  ARGV[1] time to live of every key of the object, in milliseconds (> 0)
  ARGV[2] the URL's Vary names, comma-separated and sorted ("" when it varies on nothing)
  ARGV[3] object id
  ARGV[4] primary hash (the URL)
  ARGV[5] service key prefix cf:{svc}: (entry keys cf:{svc}:e:<hash> are derived from it)
  ARGV[6] the queue item (includes/entryIndex.lua, indexBatch)
  ARGV[7..] pairs: entry hash, packed record (src/store/codec.ts: an entry or an alias)

  Output: { items queued, 1 when the URL's Vary names changed (a "V" item was queued before it) }
]]
local rcall = redis.call
local vary, variants, pending = KEYS[1], KEYS[2], KEYS[3]
local ttl, names, object, primary, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]

for i = 7, #ARGV, 2 do
  rcall('SET', prefix .. 'e:' .. ARGV[i], ARGV[i + 1], 'PX', ttl)
end
-- A URL's bookkeeping only ever lives longer: it must outlive every object stored under it.
local previous = rcall('SET', vary, names, 'KEEPTTL', 'GET')
local keys = { vary }
-- A URL that varies on nothing the origin named has one object, whose id is the URL's hash: only
-- objects of varying URLs need the variants set (invalidation finds the others by id).
if object ~= primary then
  rcall('SADD', variants, object)
  keys[2] = variants
end
for _, key in ipairs(keys) do
  if rcall('PTTL', key) < ttl then
    rcall('PEXPIRE', key, ttl)
  end
end
local changed = 0
if previous and previous ~= names then
  -- Objects stored under the old names can never be selected again: the drain removes them.
  rcall('RPUSH', pending, 'V\n' .. primary .. '\n' .. object)
  changed = 1
end
return { rcall('RPUSH', pending, ARGV[6]), changed }
