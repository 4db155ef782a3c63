-- wrk script for the `rotate` workloads: the refresh_token grant with rotation, at random.
-- Every request takes a refresh token at random out of a pool and removes it; the answer's
-- new refresh_token goes back into the pool, so a token is never in flight twice and a
-- retired one is never sent again (a server that rotates would end its grant).
--   TOKENS_FILE        the pool, one token per line; rewritten at the end of the run with
--                      the pool as it is then (the next run, e.g. the measured one after the
--                      warm-up, carries on from there). The tokens in flight when wrk stops
--                      are lost: at most one per connection per run.
--   WRK_BODY_TEMPLATE  the POST body with {token} where the token goes, e.g.
--                      grant_type=refresh_token&refresh_token={token}&client_id=...
--   WRK_HEADERS        as in wrk-json.lua (the form's Content-Type)
-- Only with -t1: the pool is a table of the one thread's Lua state (a second thread would
-- start from the same file and send the same tokens). It loads wrk-json.lua for the method
-- and headers; its result line is wrk-json.lua's with three more fields:
--   non200     answers that were not 200 (wrk itself counts only those >= 400)
--   norotate   200 answers without a refresh_token, or with one this run sent before (the
--              server did not rotate)
--   pool_left  tokens in the pool at the end (each non-200 answer loses one)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk-json.lua")
local json_done = done

wrk.method = "POST"
local file = os.getenv("TOKENS_FILE")
local body_t = os.getenv("WRK_BODY_TEMPLATE") or ""
local before, after -- the body around {token}

-- Per thread (the one thread's Lua state):
pool = {}
non200, norotate = 0, 0
local sent = {} -- every token sent this run

local threads = {}
function setup(thread)
  if #threads > 0 then error("wrk-rotate.lua needs wrk -t1") end
  threads[#threads + 1] = thread
end

function init(args)
  if not file or file == "" then error("TOKENS_FILE is not set") end
  local i, j = body_t:find("{token}", 1, true)
  if not i then error("no {token} in WRK_BODY_TEMPLATE " .. body_t) end
  before, after = body_t:sub(1, i - 1), body_t:sub(j + 1)
  math.randomseed(os.time())
  for line in io.lines(file) do
    local token = line:match("^%s*(.-)%s*$")
    if token ~= "" then pool[#pool + 1] = token end
  end
  if #pool == 0 then error("no tokens in " .. file) end
end

function request()
  local n = #pool
  if n == 0 then -- every token lost to errors: send one the server must refuse
    return wrk.format(nil, nil, nil, before .. "empty-pool" .. after)
  end
  local k = math.random(n)
  local token = pool[k]
  pool[k] = pool[n] -- swap-remove: O(1)
  pool[n] = nil
  sent[token] = true
  return wrk.format(nil, nil, nil, before .. token .. after)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local new = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if not new then
    norotate = norotate + 1
    return
  end
  if sent[new] then norotate = norotate + 1 end
  pool[#pool + 1] = new
end

function done(summary, latency, requests)
  local t = threads[1]
  local left = t:get("pool")
  local out = io.open(file, "w")
  for _, token in ipairs(left) do out:write(token, "\n") end
  out:close()
  local line
  local write = io.write
  io.write = function(s) line = s end -- capture wrk-json.lua's line to add our fields
  json_done(summary, latency, requests)
  io.write = write
  local extra = string.format(',"non200":%d,"norotate":%d,"pool_left":%d}\n',
    t:get("non200"), t:get("norotate"), #left)
  io.write((line:gsub("}\n$", extra)))
end
