-- bench/smtp_bench.lua CLIENT PORT COUNT SIZE: sends COUNT messages of SIZE
-- bytes over one connection to bench/smtp_sink.c and prints
-- "<msgs/s> <MB/s>". CLIENT: "lmail" (lmail.smtp), "luasocket" (LuaSocket's
-- socket.smtp session, TCP_NODELAY set). Run once per measurement by
-- bench_smtp.sh, which takes the medians.
local client, port, count, size = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])

-- A plausible message: headers, then 76-column CRLF lines (some starting
-- with a dot, so stuffing has work to do).
local function message(n)
  local head = "From: a@bench.test\r\nTo: b@bench.test\r\nSubject: bench\r\n\r\n"
  local line = ("x"):rep(74) .. "\r\n"
  local dotted = "." .. ("y"):rep(73) .. "\r\n"
  local parts, have = { head }, #head
  local i = 0
  while have + 76 <= n do
    i = i + 1
    parts[#parts + 1] = i % 10 == 0 and dotted or line
    have = have + 76
  end
  parts[#parts + 1] = ("z"):rep(n - have - 2) .. "\r\n"
  return table.concat(parts)
end

local msg = message(size)
assert(#msg == size)

local function now()
  return require("lmail.transport.tcp").now()
end

local runs = {}

function runs.lmail(opts)
  local smtp = require "lmail.smtp"
  local o = { host = "127.0.0.1", port = port, tls = "none", helo = "bench.test", timeout = 120 }
  for k, v in pairs(opts or {}) do o[k] = v end
  local s = assert(smtp.open(o))
  local t0 = now()
  for _ = 1, count do
    assert(s:send{ from = "a@bench.test", to = "b@bench.test", message = msg })
  end
  local dt = now() - t0
  s:quit()
  return dt
end

runs["lmail-data"] = function() return runs.lmail({ chunking = false }) end

function runs.luasocket()
  local smtp = require "socket.smtp"
  local socket = require "socket"
  local ltn12 = require "ltn12"
  local s = assert(smtp.open("127.0.0.1", port))
  -- LuaSocket refuses the option before connect; its session keeps the
  -- connected socket at s.tp.c
  assert(s.tp.c:setoption("tcp-nodelay", true))
  assert(s:greet("bench.test"))
  local t0 = socket.gettime()
  for _ = 1, count do
    -- raises on failure (LuaSocket's try/protect)
    s:send{ from = "<a@bench.test>", rcpt = { "<b@bench.test>" },
            source = ltn12.source.string(msg) }
  end
  local dt = socket.gettime() - t0
  s:quit()
  s:close()
  return dt
end

local dt = runs[client]()
print(("%.1f %.1f"):format(count / dt, count * size / dt / 1e6))
