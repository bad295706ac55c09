-- wrk script: heartbeats of the world's toolboxes, round robin, at POST /api/v1/dtma/heartbeat.
-- BENCH_REQUESTS: a file of "TOOLBOX-TOKEN<TAB>HEARTBEAT-JSON" lines; each thread starts at its own toolbox.
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  requests = {}
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local token, body = line:match("^([^\t]+)\t(.+)$")
    requests[#requests + 1] = wrk.format("POST", "/api/v1/dtma/heartbeat",
      { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
  end
  sent = index * 7
end

function request()
  sent = sent + 1
  return requests[sent % #requests + 1]
end
