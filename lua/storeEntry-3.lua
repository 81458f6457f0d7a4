--[[
  Stores one cache entry and records the Vary names of its URL.

  KEYS[1] entry key        cf:{svc}:e:<entryHash>
  KEYS[2] vary key         cf:{svc}:vary:<primaryHash>
  KEYS[3] variants key     cf:{svc}:variants:<primaryHash>

  ARGV[1] packed record (see src/store/codec.ts)
  ARGV[2] time to live of the entry, in milliseconds (> 0)
  ARGV[3] the entry's Vary names, comma-separated and sorted ("" when it varies on nothing)
  ARGV[4] entry hash (member of the variants set)
  ARGV[5] entry key prefix cf:{svc}:e: — used to derive the keys of variants stored under other
          Vary names, which are removed. Derived keys stay inside the service's hash tag.

  Output: the number of variants removed because the URL's Vary names changed.
]]
local rcall = redis.call
local entry, vary, variants = KEYS[1], KEYS[2], KEYS[3]
local record, ttl, names, member, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]

local removed = 0
local previous = rcall('GET', vary)
if previous and previous ~= names then
  -- The origin changed its Vary list: variants keyed by the old names can never be selected again.
  for _, old in ipairs(rcall('SMEMBERS', variants)) do
    if old ~= member then
      removed = removed + rcall('DEL', prefix .. old)
    end
  end
  rcall('DEL', variants)
end

rcall('SET', entry, record, 'PX', ttl)
rcall('SET', vary, names, 'KEEPTTL')
rcall('SADD', variants, member)

-- The URL's bookkeeping lives as long as its longest-lived variant.
for _, key in ipairs({ vary, variants }) do
  if rcall('PTTL', key) < ttl then
    rcall('PEXPIRE', key, ttl)
  end
end
return removed
