--[[
  One change to the service catalog (services kept as data), all or nothing: the definition
  stored or removed, the catalog's version raised, the change written to the audit stream and
  announced to every process.

  KEYS[1] cf:{:catalog}:services  (hash: service id -> definition, JSON)
  KEYS[2] cf:{:catalog}:version   (counter)
  KEYS[3] cf:{:catalog}:audit     (stream)

  ARGV[1] "put" or "delete"
  ARGV[2] the service id
  ARGV[3] the definition (put) or "" (delete)
  ARGV[4] now, in milliseconds
  ARGV[5] the caller (token scope and fingerprint)
  ARGV[6] the caller's address
  ARGV[7] the channel announcing changes
  ARGV[8] the audit stream's approximate length

  Output: { version, changed } where changed is 1 for a new service (put) or one removed
  (delete), else 0; a delete of a service not there changes nothing and returns the version.
]]
local rcall = redis.call
local action, service = ARGV[1], ARGV[2]
local changed
if action == 'put' then
  changed = rcall('HSET', KEYS[1], service, ARGV[3])
else
  changed = rcall('HDEL', KEYS[1], service)
  if changed == 0 then
    return { tonumber(rcall('GET', KEYS[2]) or '0'), 0 }
  end
end
local version = rcall('INCR', KEYS[2])
rcall('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 'at', ARGV[4], 'action', action, 'service', service,
  'version', version, 'caller', ARGV[5], 'address', ARGV[6])
rcall('PUBLISH', ARGV[7], version)
return { version, changed }
