-- wrk script: a POST of the JSON in BENCH_BODY_FILE, with the bearer token BENCH_BEARER when it is not empty.
wrk.method = "POST"
local file = io.open(os.getenv("BENCH_BODY_FILE"), "r")
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_BEARER") ~= "" then wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER") end
