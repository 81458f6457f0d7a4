--[[
  Appends to a fleet-wide fill's flight: the response head, a body chunk, its end or its abort, as
  the holder receives them, for nodes waiting for that fill to stream to their clients. Tells them
  on the fill channel that there is more to read. The stream lives a minute past its last entry.

  KEYS[1] the flight            cf:{svc}:flight:<entryHash>   (stream: field h, c, e or x)

  ARGV[1] time to live, ms
  ARGV[2] the channel           cf:fill
  ARGV[3] the message           JSON { service, entry, outcome: "flight" }
  ARGV[4] the field             h (head JSON), c (chunk), e (end), x (aborted)
  ARGV[5] its value

  Output: the entry's id
]]
local rcall = redis.call
local id = rcall('XADD', KEYS[1], '*', ARGV[4], ARGV[5])
rcall('PEXPIRE', KEYS[1], ARGV[1])
rcall('PUBLISH', ARGV[2], ARGV[3])
return id
