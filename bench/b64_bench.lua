-- bench/b64_bench.lua: the Lua side of bench/bench_b64.sh.
--
--   lua5.4 bench/b64_bench.lua prepare MIB DIR
--     writes DIR/plain (MIB MiB of random bytes) and DIR/wrapped (its base64
--     with 76-column CRLF lines), and checks that LuaSocket's mime.b64 /
--     mime.unb64 give the same bytes as lmail.
--   lua5.4 bench/b64_bench.lua IMPL JOB DIR RUNS PREFIX
--     IMPL lmail | luasocket, JOB enc | enc0 (lmail: one line) | dec. Times
--     that one job in a process of its own, so no measurement runs on a heap
--     laid out by another (at 16 MiB the allocator's state, not the codec,
--     would decide whether a result lands in warm memory or in fresh pages).
--     The job is called untimed for at least WARMUP_CALLS calls and
--     WARMUP_SECONDS of CPU time, then RUNS times; prints
--     "PREFIX-IMPL-JOB median_MB/s" and "PREFIX-IMPL-JOB-cold MB/s", the
--     latter the first call of the process (page faults of new memory
--     included), MB counting binary bytes. The warm-up is long because in
--     this VM memory the process has just faulted in stays slower for a
--     second or so (a 16 MiB quoted-printable decode gets from 1.0 to 2.3
--     GB/s over its first 15 calls, with no page faults after the first):
--     that hits whichever side reuses its memory, and the figure wanted is
--     the steady state. Both sides get the same warm-up. bench_b64.sh runs
--     every job's process in turn, REPS rounds, and takes the median over
--     the rounds.
local what = arg[1]

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

if what == "prepare" then
  local lmime = require "lmail.mime"
  local n, dir = tonumber(arg[2]) * 1048576, arg[3]
  local f = assert(io.open("/dev/urandom", "rb"))
  local data = f:read(n)
  f:close()
  local wrapped, oneline = lmime.b64encode(data), lmime.b64encode(data, 0)
  assert(lmime.b64decode(wrapped) == data, "lmail round trip")
  local ok, smime = pcall(require, "mime")
  if ok then
    -- LuaSocket's b64 writes one line (its wrapping is a separate filter)
    assert(smime.b64(data) == oneline, "LuaSocket output differs")
    assert(smime.unb64(wrapped) == data, "LuaSocket decode differs")
  else
    io.stderr:write("b64_bench: LuaSocket's mime not found: ", tostring(smime), "\n")
  end
  spit(dir .. "/plain", data)
  spit(dir .. "/wrapped", wrapped)
  return
end

local WARMUP_CALLS, WARMUP_SECONDS = 3, 1.0
local job, dir, runs, prefix = arg[2], arg[3], tonumber(arg[4] or 5), arg[5] or "lua"
local data = slurp(dir .. "/plain")
local n = #data

local fn, input
if what == "lmail" then
  local lmime = require "lmail.mime"
  local enc = lmime.b64encode
  fn = ({ enc = enc, enc0 = function(s) return enc(s, 0) end, dec = lmime.b64decode })[job]
elseif what == "luasocket" then
  local ok, smime = pcall(require, "mime")
  if not ok then
    io.stderr:write("b64_bench: LuaSocket's mime not found: ", tostring(smime), "\n")
    return
  end
  fn = ({ enc = smime.b64, dec = smime.unb64 })[job]
end
if not fn then
  error("usage: b64_bench.lua prepare MIB DIR | lmail|luasocket enc|enc0|dec DIR RUNS PREFIX")
end
input = job == "dec" and slurp(dir .. "/wrapped") or data

local function time_once()
  collectgarbage()
  collectgarbage()
  local t0 = os.clock()
  local out = fn(input)
  local t = os.clock() - t0
  assert(out)
  return t
end

local cold = time_once()
local warm, calls = cold, 1
while calls < WARMUP_CALLS or warm < WARMUP_SECONDS do
  warm, calls = warm + time_once(), calls + 1
end
local t = {}
for r = 1, runs do t[r] = time_once() end
table.sort(t)
local name = prefix .. "-" .. what .. "-" .. job
print(string.format("%s %.0f", name, n / t[(runs + 1) // 2] / 1e6))
print(string.format("%s-cold %.0f", name, n / cold / 1e6))
