-- wrk script for the LeadExec API at random: every request carries an access token picked
-- at random out of TOKENS_FILE (one per line) in its Authorization header. Loads
-- wrk-json.lua from its own directory first (same WRKJSON done() line); the requests are
-- formatted once in init(), so request() only picks one.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk-json.lua")

local file = os.getenv("TOKENS_FILE")
local reqs = {}

function init(args)
  if not file or file == "" then error("TOKENS_FILE is not set") end
  math.randomseed(os.time())
  for line in io.lines(file) do
    local token = line:match("^%s*(.-)%s*$")
    if token ~= "" then
      reqs[#reqs + 1] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token })
    end
  end
  if #reqs == 0 then error("no tokens in " .. file) end
end

function request()
  return reqs[math.random(#reqs)]
end
