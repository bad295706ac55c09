-- wrk script: the API's write row. Each thread creates an instance row (POST /api/v1/toolboxes/{id}/instances) and
-- deletes the rows it created (DELETE /api/v1/instances/{id}) as their ids come back: creates and deletes alternate.
-- BENCH_TOOLBOX, BENCH_TOOL: where and what to create; BENCH_TOKEN: the user's token; BENCH_RUN: this run's number
-- (in the names: the last row each thread created in an earlier run may still hold its name).
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  created, count = {}, 0
  headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json" }
  create_path = "/api/v1/toolboxes/" .. os.getenv("BENCH_TOOLBOX") .. "/instances"
  tool = os.getenv("BENCH_TOOL")
  prefix = "w" .. os.getenv("BENCH_RUN") .. "-" .. index .. "-"
end

function request()
  local id = table.remove(created)
  if id then return wrk.format("DELETE", "/api/v1/instances/" .. id, headers) end
  count = count + 1
  return wrk.format("POST", create_path, headers, '{"tool_id":"' .. tool .. '","name":"' .. prefix .. count .. '"}')
end

function response(status, headers, body)
  if status == 201 then
    created[#created + 1] = body:match('"id"%s*:%s*"([^"]+)"')
  end
end
