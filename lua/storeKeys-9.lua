--[[
  Stores an object's keys and queues it for indexing: the whole of a miss's write, kept small so a
  store costs Redis little (the indexes, caps and LFU bookkeeping follow in batches,
  lua/indexPending-2.lua; docs/redis-layout.md, "The write path").

  A fill that a purge overtook stores nothing: the lookup read the URL's purge counter and the
  key space's (lua/markPurge-4.lua), and either has moved since. With regions, the fill is
  journaled in the same step, with the positions of the other regions' journals applied here so
  far — what it knew of their purges (docs/regions.md).

  An object copied from another region (the sync worker's pre-warming) is stored only if it knew
  of every purge marked here for its URL and for the key space — its own region's up to its own
  journal position, the others' up to what its region had applied — and only where this region
  holds nothing of it yet. A copy is not journaled: the other regions read the original.

  KEYS[1] vary key           cf:{svc}:vary:<primaryHash>
  KEYS[2] variants key       cf:{svc}:variants:<primaryHash>
  KEYS[3] pending queue      cf:{svc}:idx:pending
  KEYS[4] URL purge counter  cf:{svc}:gen:<primaryHash>
  KEYS[5] purge counter      cf:{svc}:epoch
  KEYS[6] the journal        cf:{svc}:journal
  KEYS[7] positions applied  cf:{svc}:applied
  KEYS[8] URL purge marks    cf:{svc}:purged:<primaryHash>
  KEYS[9] purge marks        cf:{svc}:purged-all

  ARGV[1] time to live of every key of the object, in milliseconds (> 0)
  ARGV[2] the URL's Vary names, comma-separated and sorted ("" when it varies on nothing)
  ARGV[3] object id
  ARGV[4] primary hash (the URL)
  ARGV[5] service key prefix cf:{svc}: (entry keys cf:{svc}:e:<hash> are derived from it)
  ARGV[6] the queue item (includes/entryIndex.lua, indexBatch)
  ARGV[7] the URL's purge counter as the lookup read it ("": unchecked)
  ARGV[8] the key space's purge counter as the lookup read it ("": unchecked)
  ARGV[9] this region ("": no regions, nothing journaled)
  ARGV[10] the fill as journaled: JSON { object, primary, url, at, … }
  ARGV[11] a copy: its journal's field "<region>/<space>" ("": not a copy)
  ARGV[12] a copy: its position in that journal
  ARGV[13] a copy: what its region had applied of other journals, "<field>=<position>,…"
  ARGV[14] a chunked body's chunks, "<id>:<count>" ("": none): written before (putChunk) with a
           short life, they are given the object's
  ARGV[15..] pairs: entry hash, packed record (src/store/codec.ts: an entry or an alias)

  Output: { items queued, 1 when the URL's Vary names changed (a "V" item was queued before it) },
          or { -1, 0 } when a purge overtook the fill (nothing stored), { -2, 0 } when a copy lost
          to a purge it did not know of, { -3, 0 } when a copy found the object already here
]]
local rcall = redis.call
local vary, variants, pending = KEYS[1], KEYS[2], KEYS[3]
local ttl, names, object, primary, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]

--- @include "includes/journal"

local function counter(key)
  return tonumber(rcall('GET', key)) or 0
end
if (ARGV[7] ~= '' and counter(KEYS[4]) ~= tonumber(ARGV[7])) or (ARGV[8] ~= '' and counter(KEYS[5]) ~= tonumber(ARGV[8])) then
  return { -1, 0 }
end

local copy = ARGV[11]
if copy ~= '' then
  local known = {}
  for field, position in string.gmatch(ARGV[13], '([^,=]+)=([^,]+)') do
    known[field] = position
  end
  known[copy] = ARGV[12]
  for _, marks in ipairs({ KEYS[8], KEYS[9] }) do
    local flat = rcall('HGETALL', marks)
    for i = 1, #flat, 2 do
      local seen = known[flat[i]]
      if not seen or idBefore(seen, flat[i + 1]) then
        return { -2, 0 }
      end
    end
  end
  for i = 15, #ARGV, 2 do
    if rcall('EXISTS', prefix .. 'e:' .. ARGV[i]) == 1 then
      return { -3, 0 }
    end
  end
end

for i = 15, #ARGV, 2 do
  rcall('SET', prefix .. 'e:' .. ARGV[i], ARGV[i + 1], 'PX', ttl)
end
local chunkId, chunkCount = ARGV[14]:match('^([^:]+):(%d+)$')
if chunkId then
  for i = 0, tonumber(chunkCount) - 1 do
    rcall('PEXPIRE', prefix .. 'ch:' .. chunkId .. ':' .. i, ttl)
  end
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
if ARGV[9] ~= '' and copy == '' then
  local applied = rcall('HGETALL', KEYS[7])
  local known = {}
  for i = 1, #applied, 2 do
    known[#known + 1] = applied[i] .. '=' .. applied[i + 1]
  end
  rcall('XADD', KEYS[6], '*', 't', 'f', 'r', ARGV[9], 'g', counter(KEYS[4]), 'd', ARGV[10], 'c', table.concat(known, ','))
end
return { rcall('RPUSH', pending, ARGV[6]), changed }
