-- The per-service object indexes, kept in step with the objects (src/store/entry-index.ts says what
-- a summary holds). An object is one origin response; its representations (and aliases) are the
-- entry keys listed in its summary's `k`, which leave with it. Every index key is derived from the
-- service prefix, inside its hash tag:
--   idx:pending list  objects stored but not yet indexed (see drainPending below)
--   idx:info    hash  object id -> summary JSON (the source of truth for the members below)
--   idx:freq    zset  object id -> decayed hit score (LFU eviction order)
--   idx:expiry  zset  object id -> delete time, ms
--   idx:hits    hash  object id -> hits counted so far
--   idx:path    lex zset "<path> <object id>", all scores 0: every object, by path (prefix walks)
--   idx:tag:<tag>  lex zset of object ids (purge by tag)
-- The index is lean, and written a batch at a time: every member costs every miss a skiplist
-- insert and every eviction a removal, and every redis.call from Lua costs microseconds of its
-- own. Other filters (type, size, time, status, hits) are checked on the summaries walked.
-- Expects locals: rcall, prefix.
local infoKey, freqKey, expiryKey = prefix .. 'idx:info', prefix .. 'idx:freq', prefix .. 'idx:expiry'
local hitsKey, statsKey, pendingKey = prefix .. 'idx:hits', prefix .. 'stats', prefix .. 'idx:pending'
local pathKey = prefix .. 'idx:path'

-- Calls a command with a fixed head and a long tail of arguments, in slices (Lua's unpack has a limit).
local function callMany(command, key, args, head)
  local step = 2000
  for i = 1, #args, step do
    local slice = {}
    for j = i, math.min(i + step - 1, #args) do
      slice[#slice + 1] = args[j]
    end
    if head then
      rcall(command, key, head, unpack(slice))
    elseif key then
      rcall(command, key, unpack(slice))
    else
      rcall(command, unpack(slice))
    end
  end
end

-- Appends values to the list under `key` of a table of lists (members grouped by the key they go to).
local function push(lists, key, ...)
  local list = lists[key] or {}
  lists[key] = list
  for _, value in ipairs({ ... }) do
    list[#list + 1] = value
  end
end

-- Removes path members ("<path> <id>") and tag members (ids grouped by tag) from their indexes.
local function removeMembers(paths, tagged)
  if #paths > 0 then
    callMany('ZREM', pathKey, paths)
  end
  for tag, members in pairs(tagged) do
    callMany('ZREM', prefix .. 'idx:tag:' .. tag, members)
  end
end

-- The entry keys of an object (a summary written before objects had several keys names none: the
-- object id is then its one key).
local function keysOf(hash, info)
  if info and info.k and #info.k > 0 then
    return info.k
  end
  return { hash }
end

-- The chunk keys of a large object's body (summary field `c` = { id, n }; src/store/chunks.ts),
-- appended to `keys`. They are not entry keys: a soft purge never reads them as records.
local function addChunkKeys(keys, info)
  local c = info and info.c
  if c then
    for i = 0, c.n - 1 do
      keys[#keys + 1] = prefix .. 'ch:' .. c.id .. ':' .. i
    end
  end
end

-- Removes objects: every entry key of each (and its chunks), their members in every index of the service, and their
-- ids from their URLs' variants sets (Redis drops a set when it empties; a URL's Vary record lives
-- out its own TTL). Returns how many were indexed at all, and their ids.
local function forgetMany(given)
  local hashes, seen = {}, {}
  for _, hash in ipairs(given) do
    if not seen[hash] then
      seen[hash] = true
      hashes[#hashes + 1] = hash
    end
  end
  if #hashes == 0 then
    return 0, {}
  end
  local infos = rcall('HMGET', infoKey, unpack(hashes))
  local keys, paths, tagged, known, bytes = {}, {}, {}, 0, 0
  local variants, indexed = {}, {}
  for i, hash in ipairs(hashes) do
    local json = infos[i]
    if json then
      local info = cjson.decode(json)
      known = known + 1
      indexed[known] = hash
      bytes = bytes + info.b
      for _, key in ipairs(keysOf(hash, info)) do
        keys[#keys + 1] = prefix .. 'e:' .. key
      end
      addChunkKeys(keys, info)
      paths[#paths + 1] = info.pa .. ' ' .. hash
      for _, tag in ipairs(info.g) do
        push(tagged, tag, hash)
      end
      if info.p ~= hash then
        push(variants, info.p, hash)
      end
    else
      keys[#keys + 1] = prefix .. 'e:' .. hash
    end
  end
  callMany('DEL', nil, keys)
  callMany('ZREM', freqKey, hashes)
  callMany('ZREM', expiryKey, hashes)
  callMany('HDEL', hitsKey, hashes)
  callMany('HDEL', infoKey, hashes)
  removeMembers(paths, tagged)
  for primary, members in pairs(variants) do
    callMany('SREM', prefix .. 'variants:' .. primary, members)
  end
  if bytes ~= 0 then
    rcall('HINCRBY', statsKey, 'bytesStored', -bytes)
  end
  return known, indexed
end

local function forgetEntry(hash)
  return (forgetMany({ hash })) > 0
end

-- The objects stored under a URL (indexed: callers drain first): the one that varies on nothing the
-- origin named (its id is the URL's hash) and those in its variants set.
local function objectsOf(primary)
  local objects = rcall('SMEMBERS', prefix .. 'variants:' .. primary)
  if rcall('HEXISTS', infoKey, primary) == 1 and rcall('SISMEMBER', prefix .. 'variants:' .. primary, primary) == 0 then
    objects[#objects + 1] = primary
  end
  return objects
end

-- The URL's Vary names changed: objects keyed by the old names can never be selected again.
local function varyChanged(primary, keep)
  local old = {}
  for _, hash in ipairs(objectsOf(primary)) do
    if hash ~= keep then
      old[#old + 1] = hash
    end
  end
  return (forgetMany(old))
end

-- Evicts the least frequently used objects (every key of each) while the service is over a cap.
local function enforceCaps(cap, byteCap)
  local evicted = 0
  local excess = rcall('ZCARD', freqKey) - cap
  while excess > 0 do
    local popped = rcall('ZPOPMIN', freqKey, excess)
    if #popped == 0 then
      break
    end
    local hashes = {}
    for i = 1, #popped, 2 do
      hashes[#hashes + 1] = popped[i]
    end
    evicted = evicted + (forgetMany(hashes))
    excess = rcall('ZCARD', freqKey) - cap
  end
  if byteCap > 0 then
    while tonumber(rcall('HGET', statsKey, 'bytesStored') or '0') > byteCap do
      local popped = rcall('ZPOPMIN', freqKey, 1)
      if #popped == 0 then
        break
      end
      evicted = evicted + (forgetMany({ popped[1] }))
    end
  end
  if evicted > 0 then
    rcall('HINCRBY', statsKey, 'evictions', evicted)
  end
  return evicted
end

-- Indexes a batch of stored objects, each an item of idx:pending:
--   O \n id \n URL hash \n delete time \n one hit's score \n cap \n byte cap \n body bytes \n
--     entry keys (comma-separated) \n tags (comma-separated) \n path \n summary JSON
-- An object stored twice in the batch is indexed as last stored; a replaced object keeps its
-- frequency and loses the keys the new one does not have.
local function indexBatch(items)
  local order, byHash, superseded = {}, {}, {}
  for _, item in ipairs(items) do
    local hash, primary, deleteAt, score, cap, byteCap, b, keys, tags, path, json = item:match(
      '^O\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n(.*)$'
    )
    if not byHash[hash] then
      order[#order + 1] = hash
    elseif json:find('"c":', 1, true) or byHash[hash].json:find('"c":', 1, true) then
      -- Stored twice before indexing: the earlier body's chunks go unless the later names them.
      local earlier, later = cjson.decode(byHash[hash].json), cjson.decode(json)
      if earlier.c and (later.c or {}).id ~= earlier.c.id then
        addChunkKeys(superseded, earlier)
      end
    end
    byHash[hash] = {
      primary = primary, deleteAt = deleteAt, score = score, cap = tonumber(cap), byteCap = tonumber(byteCap),
      b = tonumber(b), keys = keys, tags = tags, path = path, json = json,
    }
  end
  local befores = rcall('HMGET', infoKey, unpack(order))
  local stale, oldPaths, oldTags = {}, {}, {}
  local infoArgs, pathArgs, freqArgs, expiryArgs, tagged, variants = {}, {}, {}, {}, {}, {}
  local bytes, last = 0, nil
  for i, hash in ipairs(order) do
    local o = byHash[hash]
    last = o
    local writing = {}
    for key in o.keys:gmatch('[^,]+') do
      writing[key] = true
    end
    if befores[i] then
      local old = cjson.decode(befores[i])
      for _, key in ipairs(keysOf(hash, old)) do
        if not writing[key] then
          stale[#stale + 1] = prefix .. 'e:' .. key
        end
      end
      -- A replaced body's chunks go, unless the new summary names the same ones.
      if old.c and (cjson.decode(o.json).c or {}).id ~= old.c.id then
        addChunkKeys(stale, old)
      end
      oldPaths[#oldPaths + 1] = old.pa .. ' ' .. hash
      for _, tag in ipairs(old.g) do
        push(oldTags, tag, hash)
      end
      bytes = bytes - old.b
    end
    bytes = bytes + o.b
    infoArgs[#infoArgs + 1] = hash
    infoArgs[#infoArgs + 1] = o.json
    pathArgs[#pathArgs + 1] = 0
    pathArgs[#pathArgs + 1] = o.path .. ' ' .. hash
    freqArgs[#freqArgs + 1] = o.score
    freqArgs[#freqArgs + 1] = hash
    expiryArgs[#expiryArgs + 1] = o.deleteAt
    expiryArgs[#expiryArgs + 1] = hash
    for tag in o.tags:gmatch('[^,]+') do
      push(tagged, tag, 0, hash)
    end
  end
  for _, key in ipairs(superseded) do
    stale[#stale + 1] = key
  end
  if #stale > 0 then
    callMany('DEL', nil, stale)
  end
  removeMembers(oldPaths, oldTags)
  callMany('HSET', infoKey, infoArgs)
  callMany('ZADD', pathKey, pathArgs)
  callMany('ZADD', freqKey, freqArgs, 'NX')
  callMany('ZADD', expiryKey, expiryArgs)
  for tag, args in pairs(tagged) do
    callMany('ZADD', prefix .. 'idx:tag:' .. tag, args)
  end
  if bytes ~= 0 then
    rcall('HINCRBY', statsKey, 'bytesStored', bytes)
  end
  return #order, last
end

-- Stores write the object's keys and push it onto idx:pending in one MULTI (src/store/redis-store.ts);
-- this indexes up to `limit` of them and then applies the caps the newest one carried. Anything
-- that reads or purges by index drains first, so nothing stored before it is missed.
-- Returns { objects indexed, objects removed by a Vary change, objects evicted, items left }.
local function drainPending(limit)
  local items = rcall('LPOP', pendingKey, limit)
  if not items then
    return { 0, 0, 0, 0 }
  end
  local indexed, removed, evicted, batch, last = 0, 0, 0, {}, nil
  local function flush()
    if #batch > 0 then
      local n, newest = indexBatch(batch)
      indexed, last, batch = indexed + n, newest, {}
    end
  end
  for _, item in ipairs(items) do
    if item:sub(1, 1) == 'O' then
      batch[#batch + 1] = item
    else
      -- "V \n URL hash \n the object stored under the new names": in order with the stores around it.
      flush()
      local primary, keep = item:match('^V\n([^\n]*)\n(.*)$')
      removed = removed + varyChanged(primary, keep)
    end
  end
  flush()
  if last then
    evicted = enforceCaps(last.cap, last.byteCap)
  end
  return { indexed, removed, evicted, rcall('LLEN', pendingKey) }
end
