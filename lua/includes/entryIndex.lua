-- The per-service object indexes, kept in step with the objects (src/store/entry-index.ts says what
-- a summary holds). An object is one origin response; its representations (and aliases) are the
-- entry keys listed in its summary's `k`, which leave with it. Every index key is derived from the
-- service prefix, inside its hash tag:
--   idx:info    hash  object id -> summary JSON (the source of truth for the members below)
--   idx:freq    zset  object id -> decayed hit score (LFU eviction order)
--   idx:expiry  zset  object id -> delete time, ms
--   idx:hits    hash  object id -> hits counted so far
--   idx:stored, idx:size, idx:path   lex zsets "<sortable value> <entryHash>", all scores 0
--   idx:type:<media type>, idx:tag:<tag>   lex zsets of entry hashes
--   idx:types   hash  media type -> entries of that type (resolves "image/*")
-- Expects locals: rcall, prefix.
local infoKey, freqKey, expiryKey = prefix .. 'idx:info', prefix .. 'idx:freq', prefix .. 'idx:expiry'
local hitsKey, typesKey, statsKey = prefix .. 'idx:hits', prefix .. 'idx:types', prefix .. 'stats'

local function sortable(n)
  return string.format('%015.0f', n)
end

-- The lex index members an entry's summary puts it under, as { key, member } pairs.
local function indexMembers(hash, info)
  local members = {
    { prefix .. 'idx:stored', sortable(info.at) .. ' ' .. hash },
    { prefix .. 'idx:size', sortable(info.b) .. ' ' .. hash },
    { prefix .. 'idx:path', info.pa .. ' ' .. hash },
    { prefix .. 'idx:type:' .. info.t, hash },
  }
  for _, tag in ipairs(info.g) do
    members[#members + 1] = { prefix .. 'idx:tag:' .. tag, hash }
  end
  return members
end

local function unindex(hash, info)
  for _, pair in ipairs(indexMembers(hash, info)) do
    rcall('ZREM', pair[1], pair[2])
  end
  if rcall('HINCRBY', typesKey, info.t, -1) <= 0 then
    rcall('HDEL', typesKey, info.t)
  end
  rcall('HINCRBY', statsKey, 'bytesStored', -info.b)
  rcall('HDEL', infoKey, hash)
end

-- Indexes an entry under its summary, replacing what an earlier entry under the hash left.
local function indexEntry(hash, json)
  local old = rcall('HGET', infoKey, hash)
  if old then
    unindex(hash, cjson.decode(old))
  end
  local info = cjson.decode(json)
  for _, pair in ipairs(indexMembers(hash, info)) do
    rcall('ZADD', pair[1], 0, pair[2])
  end
  rcall('HSET', infoKey, hash, json)
  rcall('HINCRBY', typesKey, info.t, 1)
  rcall('HINCRBY', statsKey, 'bytesStored', info.b)
  return info
end

-- The entry keys of an object (a summary written before objects had several keys names none: the
-- object id is then its one key).
local function keysOf(hash, info)
  if info and info.k and #info.k > 0 then
    return info.k
  end
  return { hash }
end

-- Removes an object: every entry key of it, its members in every index of its service, and its id
-- from its URL's variants set (deleting the URL's bookkeeping when no object is left). Returns
-- whether it was indexed at all.
local function forgetEntry(hash)
  rcall('ZREM', freqKey, hash)
  rcall('ZREM', expiryKey, hash)
  rcall('HDEL', hitsKey, hash)
  local json = rcall('HGET', infoKey, hash)
  if not json then
    rcall('DEL', prefix .. 'e:' .. hash)
    return false
  end
  local info = cjson.decode(json)
  for _, key in ipairs(keysOf(hash, info)) do
    rcall('DEL', prefix .. 'e:' .. key)
  end
  unindex(hash, info)
  local set = prefix .. 'variants:' .. info.p
  rcall('SREM', set, hash)
  if rcall('SCARD', set) == 0 then
    rcall('DEL', set, prefix .. 'vary:' .. info.p)
  end
  return true
end
