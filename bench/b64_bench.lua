-- bench/b64_bench.lua: the Lua side of bench/bench_b64.sh. Times
-- lmail.mime.b64encode/b64decode and LuaSocket's mime.b64/mime.unb64 on the
-- same data, through Lua. Prints "name median_MB/s" (binary bytes per second).
-- Every job runs once per round so a drifting host slows both sides alike.
-- Usage: lua5.4 bench/b64_bench.lua MIB REPS [PREFIX]
local lmime = require "lmail.mime"
local mib, reps = tonumber(arg[1] or 16), tonumber(arg[2] or 7)
local prefix = arg[3] or "lua"
local n = mib * 1048576

local f = assert(io.open("/dev/urandom", "rb"))
local data = f:read(n)
f:close()

local wrapped = lmime.b64encode(data)
local oneline = lmime.b64encode(data, 0)
assert(lmime.b64decode(wrapped) == data)

local jobs = {
  { "-lmail-enc", lmime.b64encode, data },
  { "-lmail-enc0", function(s) return lmime.b64encode(s, 0) end, data },
  { "-lmail-dec", lmime.b64decode, wrapped },
}
local ok, socket_mime = pcall(require, "mime")
if ok then
  -- LuaSocket's b64 writes one line (its wrapping is a separate filter)
  assert(socket_mime.b64(data) == oneline, "LuaSocket output differs")
  assert(socket_mime.unb64(wrapped) == data, "LuaSocket decode differs")
  jobs[#jobs + 1] = { "-luasocket-enc", socket_mime.b64, data }
  jobs[#jobs + 1] = { "-luasocket-dec", socket_mime.unb64, wrapped }
else
  io.stderr:write("b64_bench: LuaSocket's mime not found: ", tostring(socket_mime), "\n")
end

local times = {}
for _ = 1, reps do
  for j, job in ipairs(jobs) do
    collectgarbage()
    local t0 = os.clock()
    local out = job[2](job[3])
    local t = os.clock() - t0
    assert(out)
    times[j] = times[j] or {}
    table.insert(times[j], t)
  end
end
for j, job in ipairs(jobs) do
  table.sort(times[j])
  print(string.format("%s%s %.0f", prefix, job[1], n / times[j][(reps + 1) // 2] / 1e6))
end
