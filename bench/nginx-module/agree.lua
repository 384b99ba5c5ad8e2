-- agree.lua - wrk script for agree.py --wrk: each thread sends its share of
-- the request list (tab-separated: query string, account, subaccount,
-- service, region, capability) once, to nginx (inputs in X-Probity-*
-- headers, path PATH) or to probity serve (/v1/decide?QUERY), writes every
-- answer's body on a line of OUT.<thread> (line-buffered), then goes round
-- its share again: agree.py stops wrk once every thread's file holds its
-- share plus the requests a thread can have in flight.
-- usage: wrk -t2 ... -s agree.lua URL -- REQFILE OUT NTHREADS serve|PATH
local nextid = 1
function setup(thread)
  thread:set("id", nextid)
  nextid = nextid + 1
end

local reqs, out, target, i = {}, nil, nil, 0
local names = { "X-Probity-Account", "X-Probity-Subaccount", "X-Probity-Service",
                "X-Probity-Region", "X-Probity-Capability" }
function init(args)
  local nth, k = tonumber(args[3]), 0
  for line in io.lines(args[1]) do
    if k % nth == id - 1 then reqs[#reqs + 1] = line end
    k = k + 1
  end
  out = io.open(args[2] .. "." .. id, "w")
  out:setvbuf("line")
  target = args[4]
end

function request()
  i = i % #reqs + 1
  local line = reqs[i]
  local f = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
  if target == "serve" then
    return wrk.format("GET", "/v1/decide?" .. f[1])
  end
  local h = {}
  for j = 1, 5 do
    if f[j + 1] ~= "" then h[names[j]] = f[j + 1] end
  end
  return wrk.format("GET", target, h)
end

function response(status, headers, body)
  out:write((body:gsub("%s+$", "")), "\n")
end

function done()
end
