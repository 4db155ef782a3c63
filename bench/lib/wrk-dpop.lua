-- wrk script for the LeadExec API with DPoP: Authorization: DPoP DPOP_TOKEN and, per
-- request, the next proof of PROOFS_FILE (one per line; a proof is single use, so none is
-- sent twice). A run starts after the proofs earlier runs took (PROOFS_FILE.cursor, written
-- by done() with a margin for requests still in flight), so the warm-up and the measured run
-- of run_wrk never share one. Out of proofs, the last is repeated and refused (non-2xx).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk-json.lua")
local json_done = done

local file = os.getenv("PROOFS_FILE")
local token = os.getenv("DPOP_TOKEN")
local reqs = {}
local i = 0

local function cursor()
  local f = io.open(file .. ".cursor", "r")
  if not f then return 0 end
  local n = tonumber(f:read("*l")) or 0
  f:close()
  return n
end

function init(args)
  if not file or file == "" or not token then error("PROOFS_FILE and DPOP_TOKEN must be set") end
  local skip, n = cursor(), 0
  for line in io.lines(file) do
    n = n + 1
    if n > skip then
      reqs[#reqs + 1] = wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = line })
    end
  end
  if #reqs == 0 then error("no proofs left in " .. file) end
end

function request()
  if i < #reqs then i = i + 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local f = io.open(file .. ".cursor", "w")
  f:write(tostring(cursor() + summary.requests + 1000))
  f:close()
  json_done(summary, latency, requests)
end
