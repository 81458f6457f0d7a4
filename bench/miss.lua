-- Every request a URL nobody asked for before: each one a miss (origin fetch + store). The URL
-- given to wrk ends in a prefix unique to the run; each thread numbers its own requests.
local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("id", thread_counter)
end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", wrk.path .. id .. "-" .. counter)
end
