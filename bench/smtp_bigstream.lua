-- bench/smtp_bigstream.lua PORT PATH MIB [mime]: writes a MIB MiB message
-- file at PATH (CRLF lines, some starting with a dot), streams it from a
-- file source through lmail.smtp's s:send to bench/smtp_sink.c, removes it,
-- and prints "<MB/s> <peak RSS KiB>" (VmHWM of this process, from /proc).
-- With "mime", PATH is instead a MIB MiB binary file sent as the attachment
-- of a mime.message{...} (base64-encoded on the fly by msg:source()); MB/s
-- counts the bytes on the wire.
local smtp = require "lmail.smtp"
local stream = require "lmail.stream"
local tcp = require "lmail.transport.tcp"

local port, path, mib, mode = tonumber(arg[1]), arg[2], tonumber(arg[3]), arg[4]

local f = assert(io.open(path, "wb"))
if mode == "mime" then
  -- 1 MiB of varied bytes (a small LCG), written MIB times; built 256
  -- bytes at a time so building it does not set the peak RSS
  local rows, x, b = {}, 12345, {}
  for r = 1, 4096 do
    for i = 1, 256 do
      x = (x * 1103515245 + 12345) % 2147483648
      b[i] = x >> 16 & 255
    end
    rows[r] = string.char(table.unpack(b))
  end
  local block = table.concat(rows)
  for _ = 1, mib do f:write(block) end
else
  local block
  local lines = { "From: a@bench.test\r\nTo: b@bench.test\r\nSubject: big\r\n\r\n" }
  local have = #lines[1]
  local i = 0
  while have < 1048576 - 200 do
    i = i + 1
    local l = (i % 10 == 0 and "." or "x") .. ("q"):rep(73) .. "\r\n"
    lines[#lines + 1] = l
    have = have + #l
  end
  block = table.concat(lines)
  block = block .. ("z"):rep(1048576 - #block - 2) .. "\r\n"
  for _ = 1, mib do f:write(block) end
end
f:close()
collectgarbage()

local s = assert(smtp.open{ host = "127.0.0.1", port = port, tls = "none", helo = "bench.test",
                            timeout = 60 })
local t0 = tcp.now()
local r, wire
if mode == "mime" then
  local msg = require("lmail.mime").message{
    from = "a@bench.test", to = "b@bench.test", subject = "big attachment",
    text = "The attachment is big.", attachments = { { path = path } } }
  wire = msg:size()
  r = assert(s:send{ from = "a@bench.test", message = msg })
else
  wire = mib * 1048576
  r = assert(s:send{ from = "a@bench.test", to = "b@bench.test",
                     message = stream.source_file(assert(io.open(path, "rb")), 65536),
                     size = wire })
end
local dt = tcp.now() - t0
assert(r.code == 250)
s:quit()
os.remove(path)

local hwm
for line in io.lines("/proc/self/status") do
  hwm = hwm or line:match("^VmHWM:%s+(%d+)")
end
print(("%.1f %d"):format(wire / dt / 1e6, tonumber(hwm)))
