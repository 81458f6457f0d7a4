--[[
  Marks a purge in one key space, before its objects are removed: the purge's counter goes up, so
  a fill that began before it stores nothing (lua/storeKeys-9.lua compares the counter it read
  at lookup); and, with regions, the purge is journaled for the other regions and marked, so that
  no copy of an object filled before it is ever accepted here (docs/regions.md). Its receipt
  here is written once its objects are removed (RedisStore.applied).

  Removal follows in separate calls (one for a URL, batches for a filter). Marking first is the
  safe order: from the mark on, nothing older can be stored, and what is stored is then removed.

  KEYS[1] the counter         cf:{svc}:gen:<primaryHash> (one URL) or cf:{svc}:epoch (broader)
  KEYS[2] its marks           cf:{svc}:purged:<primaryHash> or cf:{svc}:purged-all (hash: the
                              latest purge's journal position per region/space)
  KEYS[3] the journal         cf:{svc}:journal (stream)
  KEYS[4] positions applied   cf:{svc}:applied (hash: per region/space, the last journal position
                              of it applied here)

  ARGV[1] the counter's and the marks' time to live, ms (0: none)
  ARGV[2] this region ("": no regions, nothing journaled)
  ARGV[3] this key space's field "<region>/<space>"
  ARGV[4] applying another region's purge: its field "<region>/<space>" ("" for a purge made here)
  ARGV[5] and its journal position there
  ARGV[6] kind: url, filter or all
  ARGV[7] "1" for a soft purge
  ARGV[8] the selector: the URL, or the filter as JSON
  ARGV[9] time, ms

  Output: the purge's journal position here ("" when not journaled)
]]
local rcall = redis.call
--- @include "includes/journal"

local ttl = tonumber(ARGV[1])
local generation = rcall('INCR', KEYS[1])
if ttl > 0 then
  rcall('PEXPIRE', KEYS[1], ttl)
end
if ARGV[4] ~= '' then
  raise(KEYS[2], ARGV[4], ARGV[5])
  raise(KEYS[4], ARGV[4], ARGV[5])
  if ttl > 0 and rcall('PTTL', KEYS[2]) < ttl then
    rcall('PEXPIRE', KEYS[2], ttl)
  end
  return ''
end
if ARGV[2] == '' then
  return ''
end
local id = rcall('XADD', KEYS[3], '*', 't', 'p', 'r', ARGV[2], 'g', generation, 'k', ARGV[6], 's', ARGV[7], 'x', ARGV[8], 'at', ARGV[9])
raise(KEYS[2], ARGV[3], id)
if ttl > 0 and rcall('PTTL', KEYS[2]) < ttl then
  rcall('PEXPIRE', KEYS[2], ttl)
end
return id
