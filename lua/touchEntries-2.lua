--[[
  Records hits counted on an edge node since its last flush, in the service's frequency index.
  Scores are log2 of a sum of hit weights that double every half-life, so older hits weigh less:
  adding n hits now is score = log2(2^score + n * 2^now) = max + log2(1 + 2^-(|difference|)).

  KEYS[1] frequency index  cf:{svc}:idx:freq
  KEYS[2] hit counts       cf:{svc}:idx:hits     (hash: entryHash -> hits, listed by the admin API)

  ARGV[1] the score of one hit now (see src/store/lfu.ts)
  ARGV[2..] pairs of entry hash, number of hits

  Output: the number of entries updated (entries no longer indexed are skipped, not re-added).
]]
local rcall = redis.call
local now = tonumber(ARGV[1])
local log2 = math.log(2)
local updated = 0
for i = 2, #ARGV, 2 do
  local member, hits = ARGV[i], tonumber(ARGV[i + 1])
  local score = rcall('ZSCORE', KEYS[1], member)
  if score then
    local add = now + math.log(hits) / log2
    local high, low = math.max(tonumber(score), add), math.min(tonumber(score), add)
    rcall('ZADD', KEYS[1], high + math.log(1 + 2 ^ (low - high)) / log2, member)
    rcall('HINCRBY', KEYS[2], member, hits)
    updated = updated + 1
  end
end
return updated
