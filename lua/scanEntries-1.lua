--[[
  One bounded step of listing a service's entries: walks an index from a cursor, keeps the entries
  passing a filter, and removes dangling members on the way (entries Redis evicted or expired on
  its own), so the indexes heal as they are read. Bounded work per call: callers loop.

  KEYS[1] the index walked: a lex zset of includes/entryIndex (idx:path, idx:tag:<t>)

  ARGV[1] service key prefix cf:{svc}:
  ARGV[2] lex range start ("-", "[value" or "(member" after a cursor)
  ARGV[3] lex range end ("+" or "[value" / "(value")
  ARGV[4] most members to look at
  ARGV[5] most matches to return
  ARGV[6] now, in milliseconds
  ARGV[7] filter JSON: t exact media type, tm media type major ("image" for image/*), smin, smax,
          pp path prefix, pg anchored Lua pattern for the path, g tag, s status, a stored at or
          after, b stored before, hmin, hmax (see src/store/redis-store.ts)
  ARGV[8] "items" (summary JSON and hits per match), "hashes" or "count"

  Output: { next cursor ("" when nothing in the range is left to match), members looked at, members
            healed, matches, then per match: hash [, summary JSON, hits] }. A page that ends at the
            last match has no cursor: the walk looks on, within its budget, for one more match.
]]
local rcall = redis.call
local index, prefix, from, to = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local budget, want, now, mode = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[8]
local f = cjson.decode(ARGV[7])

--- @include "includes/entryIndex"

local function hitsOf(hash)
  return tonumber(rcall('HGET', hitsKey, hash) or '0')
end

local function passes(hash, info)
  if f.t and info.t ~= f.t then return false end
  if f.tm and info.t:sub(1, #f.tm + 1) ~= f.tm .. '/' then return false end
  if f.smin and info.b < f.smin then return false end
  if f.smax and info.b > f.smax then return false end
  if f.pp and info.pa:sub(1, #f.pp) ~= f.pp then return false end
  if f.pg and not string.find(info.pa, f.pg) then return false end
  if f.s and info.s ~= f.s then return false end
  if f.a and info.at < f.a then return false end
  if f.b and info.at >= f.b then return false end
  if f.g then
    local tagged = false
    for _, tag in ipairs(info.g) do
      if tag == f.g then tagged = true break end
    end
    if not tagged then return false end
  end
  if f.hmin or f.hmax then
    local hits = hitsOf(hash)
    if f.hmin and hits < f.hmin then return false end
    if f.hmax and hits > f.hmax then return false end
  end
  return true
end

local members = rcall('ZRANGEBYLEX', index, from, to, 'LIMIT', 0, budget)
local out = { '', 0, 0, 0 }
local healed, matched, scanned, lastMatch = 0, 0, 0, nil
for _, member in ipairs(members) do
  scanned = scanned + 1
  local hash = member:match('(%S+)$')
  local json = rcall('HGET', infoKey, hash)
  if not json then
    rcall('ZREM', index, member)
    healed = healed + 1
  else
    local info = cjson.decode(json)
    if info.da <= now or rcall('EXISTS', prefix .. 'e:' .. keysOf(hash, info)[1]) == 0 then
      forgetEntry(hash)
      healed = healed + 1
    elseif passes(hash, info) then
      if matched >= want then
        -- One match beyond the page: there is a next page, and it starts after the last match kept.
        out[1] = lastMatch
        scanned = scanned - 1
        break
      end
      matched = matched + 1
      lastMatch = member
      if mode == 'items' then
        out[#out + 1] = hash
        out[#out + 1] = json
        out[#out + 1] = hitsOf(hash)
      elseif mode == 'hashes' then
        out[#out + 1] = hash
      end
    end
  end
end
if out[1] == '' and #members == budget then
  -- The budget ran out before the range did: the caller continues after the last member looked at
  -- (a full page found exactly at the budget's end may be followed by an empty one).
  out[1] = members[#members]
end
out[2], out[3], out[4] = scanned, healed, matched
return out
