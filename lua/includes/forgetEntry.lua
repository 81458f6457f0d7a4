-- Removes an entry hash from every index of its service and from its URL's variants set (deleting
-- the URL's bookkeeping when no variant is left). The entry key itself is the caller's to delete.
-- Expects locals: rcall, prefix, freq, expiry, owner.
local function forgetEntry(hash)
  rcall('ZREM', freq, hash)
  rcall('ZREM', expiry, hash)
  local url = rcall('HGET', owner, hash)
  rcall('HDEL', owner, hash)
  if url then
    local set = prefix .. 'variants:' .. url
    rcall('SREM', set, hash)
    if rcall('SCARD', set) == 0 then
      rcall('DEL', set, prefix .. 'vary:' .. url)
    end
  end
end
