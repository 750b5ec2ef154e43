-- bench/md5_bench.lua IMPL ITERS: the Lua side of bench_md5.sh. One timed
-- run of each measurement, printed as "key ns-per-call" lines. IMPL is
-- "lmail" (lmail.md5 under Lua 5.4) or "luamd5" (Debian's lua-md5, whose
-- module is "md5", under lua5.1). Written for Lua 5.1 and 5.4 alike.
-- Inputs cycle through 1024 different messages so that no call can reuse
-- the previous result string.
local impl, iters = arg[1], tonumber(arg[2] or "200000")

local msgs, chals = {}, {}
for i = 1, 1024 do
  local t = {}
  for j = 1, 64 do t[j] = string.char(33 + ((i * 64 + j) * 7919) % 90) end
  msgs[i] = table.concat(t)
  -- shaped like the RFC 2195 example challenge: 42 bytes
  chals[i] = string.format("<%04d.%09d@postoffice.reston.mci.net>", 1000 + i, 697170952 + i)
  assert(#chals[i] == 42)
end
local key = "tanstaaftanstaaf"

local function per_call(fn, inputs)
  for i = 1, 10000 do fn(inputs[i % 1024 + 1]) end -- warm up
  local t0 = os.clock()
  for i = 1, iters do fn(inputs[i % 1024 + 1]) end
  return (os.clock() - t0) / iters * 1e9
end

if impl == "lmail" then
  local md5 = require "lmail.md5"
  local sum, hmac = md5.sum, md5.hmac
  assert(md5.hex("abc") == "900150983cd24fb0d6963f7d28e17f72")
  print(string.format("lua-lmail-sum64 %.1f", per_call(sum, msgs)))
  -- hmac takes two arguments: its own loop, so that no Lua wrapper is timed
  for i = 1, 10000 do hmac(key, chals[i % 1024 + 1]) end
  local t0 = os.clock()
  for i = 1, iters do hmac(key, chals[i % 1024 + 1]) end
  print(string.format("lua-lmail-hmac %.1f", (os.clock() - t0) / iters * 1e9))
elseif impl == "luamd5" then
  local md5 = require "md5"
  local sum = md5.sum
  assert(#sum("abc") == 16)
  print(string.format("lua-luamd5-sum64 %.1f", per_call(sum, msgs)))
else
  error("usage: md5_bench.lua lmail|luamd5 [iters]")
end
