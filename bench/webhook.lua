-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench/webhook.py: POSTs AdmissionReviews to /validate and
-- checks every answer while the load runs.
--
-- environment:
--   WEBHOOK_BODIES  a file of AdmissionReview bodies, one a line (each its
--                   own request.uid); the threads cycle through them
--   WEBHOOK_PATH    the path (default /validate)
--   WEBHOOK_EXPECT  a string every 200 answer must contain (default
--                   "allowed":true; empty: status only)
--   WEBHOOK_RATE    requests/s for the WEBHOOK_CONNS connections together
--                   (0: as fast as answers come): each connection waits a
--                   random 0 to 2x its share's interval (wrk's delay(),
--                   whole ms) before its next request, so that they do not
--                   arrive in step
--   WEBHOOK_LIMIT   requests per thread, then the thread stops (0: none)
--                   and makes a file named by its number in
--                   WEBHOOK_DONE_DIR: wrk's main thread sleeps for all of
--                   -d whatever its threads do, so webhook.py sends it
--                   SIGINT once every thread has stopped
-- done() prints one line, "WRK key=value ...", that webhook.py parses:
-- requests, seconds, latency percentiles and max (microseconds), wrk's
-- socket errors, and the answers that were not 200 or lacked WEBHOOK_EXPECT
-- (the first such answer follows on a "WRK-BAD" line).

local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	local path = os.getenv("WEBHOOK_PATH") or "/validate"
	local hdr = { ["Content-Type"] = "application/json" }
	reqs = {}
	for line in io.lines(os.getenv("WEBHOOK_BODIES")) do
		if #line > 0 then
			reqs[#reqs + 1] = wrk.format("POST", path, hdr, line)
		end
	end
	expect = os.getenv("WEBHOOK_EXPECT") or '"allowed":true'
	limit = tonumber(os.getenv("WEBHOOK_LIMIT") or "0") or 0
	done_dir = os.getenv("WEBHOOK_DONE_DIR") or ""
	local rate = tonumber(os.getenv("WEBHOOK_RATE") or "0") or 0
	local conns = tonumber(os.getenv("WEBHOOK_CONNS") or "0") or 0
	-- less 1 ms: wrk's timers fire about that late
	interval = (rate > 0 and conns > 0) and math.max(math.floor(conns * 1000 / rate + 0.5) - 1, 0) or 0
	math.randomseed(tid + 1)
	stopped = false
	-- each thread starts at its own place in the ring
	nexti = (tid * 997) % #reqs
	answered, bad_status, bad_body, first_bad = 0, 0, 0, ""
end

function request()
	nexti = nexti % #reqs + 1
	return reqs[nexti]
end

-- only when paced: with a delay() at all, wrk sets a timer per request
if (tonumber(os.getenv("WEBHOOK_RATE") or "0") or 0) > 0 then
	function delay()
		return math.random(0, 2 * interval)
	end
end

function response(status, headers, body)
	answered = answered + 1
	if status ~= 200 then
		bad_status = bad_status + 1
		if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 300) end
	elseif expect ~= "" and not string.find(body or "", expect, 1, true) then
		bad_body = bad_body + 1
		if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 300) end
	end
	if limit > 0 and answered >= limit and not stopped then
		stopped = true
		if done_dir ~= "" then
			local f = io.open(done_dir .. "/" .. tid, "w")
			if f then f:close() end
		end
		wrk.thread:stop()
	end
end

function done(summary, latency, requests)
	local n, bs, bb, first = 0, 0, 0, ""
	for _, t in ipairs(threads) do
		n = n + (t:get("answered") or 0)
		bs = bs + (t:get("bad_status") or 0)
		bb = bb + (t:get("bad_body") or 0)
		if first == "" then first = t:get("first_bad") or "" end
	end
	local e = summary.errors
	io.write(string.format(
		"WRK requests=%d seconds=%.3f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
		"checked=%d bad_status=%d bad_body=%d connect=%d read=%d write=%d timeout=%d\n",
		summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max, latency.mean, n, bs, bb,
		e.connect, e.read, e.write, e.timeout))
	if first ~= "" then
		io.write("WRK-BAD " .. string.gsub(first, "\n", " ") .. "\n")
	end
end
