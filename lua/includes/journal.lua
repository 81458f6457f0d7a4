-- Journal positions (stream ids "<ms>-<seq>") and the marks kept by them: fragment for the
-- scripts that record purges and fills for other regions (docs/regions.md).

-- Is stream id a before stream id b? ("0-0" when there is none.)
local function idBefore(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am) or 0, tonumber(as) or 0, tonumber(bm) or 0, tonumber(bs) or 0
  return am < bm or (am == bm and as < bs)
end

-- Raises a hash field holding a journal position to `id`; never lowers it (deliveries may repeat
-- or come out of order).
local function raise(hash, field, id)
  local current = redis.call('HGET', hash, field)
  if not current or idBefore(current, id) then
    redis.call('HSET', hash, field, id)
  end
end
