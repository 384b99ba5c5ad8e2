-- bench/web/pages.lua - wrk script for bench/web/run.sh: signed-in clients of
-- probity web. Arguments (after --): SESSIONS PAGE PROFILE CASE SEARCHCASE QUERY PLAN
--   SESSIONS  a file of "cookie csrf" lines, one per signed-in session
--   PAGE      profile, case, search, plan (a plan's page with its dry run),
--             mix (profile, case, search in turn), or static
--             (GET PROFILE's place holds the path, no cookie: the sign-in
--             page of the app, or the same bytes as a file of nginx)
-- Each request carries the next session of the file (so every connection
-- goes through all of them); done() prints "rps p50 p95 p99 errors" with
-- the latencies in microseconds (errors: wrk's, and non-2xx), and on stderr
-- the count of each status other than 200.
local sessions, page, paths, q = {}, "mix", {}, ""
local n, kinds = 0, { "profile", "case", "search" }

function init(args)
	for line in io.lines(args[1]) do
		local c, t = line:match("^(%S+) (%S+)$")
		if c then sessions[#sessions + 1] = { c, t } end
	end
	page = args[2]
	paths.profile = args[3]
	paths.case = args[4]
	paths.search = args[5]
	q = args[6]
	paths.plan = args[7]
	n = math.random(math.max(#sessions, 1))
end

function request()
	n = n + 1
	local s = sessions[(n % #sessions) + 1]
	local kind = page
	if page == "static" then return wrk.format("GET", paths.profile) end
	if page == "mix" then kind = kinds[(n % 3) + 1] end
	local h = { ["Cookie"] = "pb_session=" .. s[1] }
	if kind == "search" then
		h["Content-Type"] = "application/x-www-form-urlencoded"
		h["Origin"] = "http://" .. wrk.host .. ":" .. wrk.port
		return wrk.format("POST", paths.search, h, "csrf=" .. s[2] .. "&q=" .. q)
	end
	return wrk.format("GET", paths[kind], h)
end

-- answers other than 200, by status: each thread counts, done() adds up
local threads = {}
bad = {} -- a global: thread:get reads globals
function setup(thread) threads[#threads + 1] = thread end
function response(status)
	if status ~= 200 then bad[status] = (bad[status] or 0) + 1 end
end

function done(summary, latency, requests)
	local bad = summary.errors.status + summary.errors.connect + summary.errors.read +
	            summary.errors.write + summary.errors.timeout
	local by = {}
	for _, t in ipairs(threads) do
		for code = 100, 599 do
			local k = t:get("bad")[code]
			if k then by[code] = (by[code] or 0) + k end
		end
	end
	for code, k in pairs(by) do io.stderr:write(string.format("status %d: %d\n", code, k)) end
	io.write(string.format("%.1f %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(95), latency:percentile(99), bad))
end
