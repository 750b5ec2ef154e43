-- bench/mime_luasocket.lua: the LuaSocket peer of bench_mime.sh's build
-- measurement, under lua5.1 (Debian's lua-socket): socket.smtp.message
-- with a 1 MiB attachment through ltn12 and mime's base64 filter, pumped
-- into a string, N times. Prints "luasocket-build msgs/s".
local smtp = require "socket.smtp"
local ltn12 = require "ltn12"
local mime = require "mime"
local n = tonumber(arg[1] or 20)

local t, x = {}, 12345
for i = 1, 1048576 / 4 do
  x = (x * 1103515245 + 12345) % 4294967296
  t[i] = string.char(x % 256, math.floor(x / 256) % 256, math.floor(x / 65536) % 256,
    math.floor(x / 16777216) % 256)
end
local data = table.concat(t)

collectgarbage()
local t0, bytes = os.clock(), 0
for _ = 1, n do
  local src = smtp.message {
    headers = {
      from = "Alice <alice@example.test>",
      to = "Bob <bob@example.test>, =?UTF-8?B?5byg5LiJ?= <zs@example.test>",
      subject = "=?UTF-8?B?6aqM6K+B56CB?= / verification code",
    },
    body = {
      [1] = { headers = { ["content-type"] = "text/plain; charset=utf-8" },
        body = "Hello Bob,\r\nthe report is attached.\r\n" },
      [2] = {
        headers = {
          ["content-type"] = 'application/octet-stream; name="report.bin"',
          ["content-disposition"] = 'attachment; filename="report.bin"',
          ["content-transfer-encoding"] = "BASE64",
        },
        body = ltn12.source.chain(ltn12.source.string(data),
          ltn12.filter.chain(mime.encode("base64"), mime.wrap())),
      },
    },
  }
  local out = {}
  assert(ltn12.pump.all(src, (ltn12.sink.table(out))))
  bytes = bytes + #table.concat(out)
end
print(string.format("luasocket-build %.1f", n / (os.clock() - t0)))
io.stderr:write(string.format("luasocket: %d bytes per message\n", math.floor(bytes / n)))
