-- GET /api/token?appId=APP_ID&refreshToken=T with T picked at random per request from
-- TOKENS_FILE (one refresh token per line): many distinct grants instead of one replayed.
-- Loads lib/wrk-json.lua first (same method/headers handling and the same WRKJSON done()),
-- from WRK_LUA_DIR. Unlike wrk-json.lua this defines request(), so wrk calls into Lua once per
-- request: its own ceiling is a little lower; the requests are pre-formatted in init() to keep
-- that call cheap.
dofile(os.getenv("WRK_LUA_DIR") .. "/wrk-json.lua")

local app = os.getenv("APP_ID")
local file = os.getenv("TOKENS_FILE")
local reqs = {}

function init(args)
  math.randomseed(os.time())
  for line in io.lines(file) do
    if line ~= "" then
      reqs[#reqs + 1] = wrk.format(nil, "/api/token?appId=" .. app .. "&refreshToken=" .. line)
    end
  end
  if #reqs == 0 then error("no tokens in " .. file) end
end

function request()
  return reqs[math.random(#reqs)]
end
