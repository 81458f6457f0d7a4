--[[
  Appends to a fleet-wide fill's flight what its holder received since its last append — the
  response head, body chunks, the end or an abort — for nodes waiting for that fill to stream to
  their clients, and tells them on the fill channel that there is more to read. A batch that starts
  with the head is appended only if a node waits (its waiting flag is set): a fill nobody else
  asked for relays nothing. The stream lives a minute past its last entry.

  KEYS[1] the flight            cf:{svc}:flight:<entryHash>        (stream: field h, c, k, e or x)
  KEYS[2] its waiting flag      cf:{svc}:fill-waiting:<entryHash>

  ARGV[1] time to live, ms
  ARGV[2] the channel           cf:fill
  ARGV[3] the message           JSON { service, entry, outcome: "flight" }
  ARGV[4], ARGV[5], …           field and value of each part, in order: h (head JSON), c (chunk),
                                k (the chunks stored so far: JSON [id, size, written]), e (end),
                                x (aborted)

  Output: 1 when appended, 0 when nobody waits for the head
]]
local rcall = redis.call
if ARGV[4] == 'h' and rcall('EXISTS', KEYS[2]) == 0 then
  return 0
end
for i = 4, #ARGV - 1, 2 do
  rcall('XADD', KEYS[1], '*', ARGV[i], ARGV[i + 1])
end
rcall('PEXPIRE', KEYS[1], ARGV[1])
rcall('PUBLISH', ARGV[2], ARGV[3])
return 1
