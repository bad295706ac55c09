-- wrk script: each request redeems the next call ticket at POST /api/v1/dtma/credentials with its toolbox token.
-- BENCH_REQUESTS: a file of "TOOLBOX-TOKEN TICKET" lines (from `agentbox bench serve`'s tickets command), shared
-- out among wrk's BENCH_THREADS threads; a ticket is never sent twice, so running out shows as errors.
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  local count = tonumber(os.getenv("BENCH_THREADS"))
  requests, sent = {}, 0
  local n = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % count == index then
      local token, ticket = line:match("^(%S+) (%S+)$")
      requests[#requests + 1] = wrk.format("POST", "/api/v1/dtma/credentials",
        { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, '{"ticket":"' .. ticket .. '"}')
    end
    n = n + 1
  end
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end
