-- Every request a URL nobody asked for before: each one is an edge miss (origin fetch + store).
local counter = 0
local thread_id = math.random(1, 1000000000)
request = function()
  counter = counter + 1
  return wrk.format("GET", "/miss/" .. thread_id .. "-" .. counter)
end
