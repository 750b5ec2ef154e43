-- bench/mime_bench.lua: the lmail side of bench/bench_mime.sh, through the
-- Lua API. One timed pass (os.clock: process CPU time) per call:
--   lua5.4 bench/mime_bench.lua parse LISTFILE   mime.parse of every message
--   lua5.4 bench/mime_bench.lua decode LISTFILE  mime.parse + part:body() of every
--                                                leaf + the decoded Subject
--   lua5.4 bench/mime_bench.lua build N          mime.message with a 1 MiB
--                                                attachment + to_string, N times
-- Prints "lmail-<mode> <MB/s or msgs/s>".
local mime = require "lmail.mime"
local mode, arg2 = arg[1], arg[2]

local function load(list)
  local msgs, total = {}, 0
  for path in io.lines(list) do
    local f = assert(io.open(path, "rb"))
    msgs[#msgs + 1] = f:read("a")
    f:close()
    total = total + #msgs[#msgs]
  end
  return msgs, total
end

if mode == "parse" or mode == "decode" then
  local msgs, total = load(arg2)
  local decode = mode == "decode"
  collectgarbage()
  local t0, decoded = os.clock(), 0
  for i = 1, #msgs do
    local m = assert(mime.parse(msgs[i]))
    if decode then
      decoded = decoded + #(m:header("Subject") or "")
      for p in m:walk() do
        if p.kind == "leaf" then decoded = decoded + #p:body() end
      end
    end
  end
  local t = os.clock() - t0
  print(string.format("lmail-%s %.1f", mode, total / t / 1e6))
elseif mode == "build" then
  local n = tonumber(arg2)
  local t, x = {}, 12345
  for i = 1, 1048576 / 4 do
    x = (x * 1103515245 + 12345) % 4294967296
    t[i] = string.pack("<I4", x)
  end
  local data = table.concat(t)
  collectgarbage()
  local t0, bytes = os.clock(), 0
  for _ = 1, n do
    local msg = assert(mime.message({
      from = "Alice <alice@example.test>",
      to = { "Bob <bob@example.test>", { name = "张三", addr = "zs@example.test" } },
      subject = "验证码 / verification code",
      text = "Hello Bob,\nthe report is attached.\n",
      attachments = { { filename = "report.bin", content = data } },
    }))
    bytes = bytes + #assert(msg:to_string())
  end
  print(string.format("lmail-build %.1f", n / (os.clock() - t0)))
  io.stderr:write(string.format("lmail: %d bytes per message\n", bytes // n))
else
  error("usage: mime_bench.lua parse|decode LISTFILE | build N")
end
