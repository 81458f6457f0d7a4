--[[
  Purges a batch of a service's objects. Hard: every key of the object and its index members go.
  Soft: the object stays but is stale from now (each representation's staleAt and the summary's
  fresh-until rewritten in place), so it is revalidated before use and still there for
  stale-if-error until its own delete time.

  KEYS[1] stats  cf:{svc}:stats

  ARGV[1] service key prefix cf:{svc}:
  ARGV[2] now, in milliseconds (an integer, written into the records as it is)
  ARGV[3] "soft" or "hard"
  ARGV[4..] object ids

  Output: the ids of the objects purged (dangling ids are cleaned up and not counted).
]]
local rcall = redis.call
local prefix, nowText, soft = ARGV[1], ARGV[2], ARGV[3] == 'soft'
local now = tonumber(nowText)

--- @include "includes/entryIndex"

-- Objects stored but not indexed yet are indexed first (their summaries name all their keys).
while drainPending(1000)[4] > 0 do
end

-- Rewrites the first `"field":<number>` of a JSON text when that number is later than now.
local function staleFrom(json, field)
  local value = tonumber(json:match('"' .. field .. '":(%-?[%d%.eE+]+)'))
  if not value or value <= now then return json, false end
  local rewritten = json:gsub('"' .. field .. '":%-?[%d%.eE+]+', '"' .. field .. '":' .. nowText, 1)
  return rewritten, true
end

-- Marks one entry key stale from now; true when it holds an entry (not an alias).
local function staleKey(key)
  -- Record layout (src/store/codec.ts): version, kind (1 = entry, 3 = alias), uint32 meta length, meta, body.
  local record = rcall('GET', key)
  if not record or record:byte(2) ~= 1 then
    return record ~= false and record:byte(2) == 3
  end
  local length = struct.unpack('>I4', record, 3)
  local meta, changed = staleFrom(record:sub(7, 6 + length), 'staleAt')
  if changed then
    rcall('SET', key, record:sub(1, 2) .. struct.pack('>I4', #meta) .. meta .. record:sub(7 + length), 'KEEPTTL')
  end
  return true
end

local purged = {}
if soft then
  for i = 4, #ARGV do
    local hash = ARGV[i]
    local json = rcall('HGET', infoKey, hash)
    local present = false
    for _, key in ipairs(keysOf(hash, json and cjson.decode(json))) do
      if staleKey(prefix .. 'e:' .. key) then
        present = true
      end
    end
    if present then
      if json then
        rcall('HSET', infoKey, hash, (staleFrom(json, 'fa')))
      end
      purged[#purged + 1] = hash
    else
      forgetEntry(hash)
    end
  end
else
  local hashes = {}
  for i = 4, #ARGV do
    hashes[#hashes + 1] = ARGV[i]
  end
  local _, indexed = forgetMany(hashes)
  purged = indexed
end
if #purged > 0 then
  rcall('HINCRBY', KEYS[1], 'purges', #purged)
end
return purged
