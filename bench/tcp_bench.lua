-- bench/tcp_bench.lua PORT MIB REPS: loopback throughput of
-- lmail.transport.tcp and of LuaSocket's tcp against bench/tcp_peer.c.
-- Prints "name MB/s" lines (medians of REPS runs) for bench_tcp.sh.
local tcp = require "lmail.transport.tcp"
local socket = require "socket"

local port, mib, reps = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local total = mib * 1024 * 1024
local block = string.rep("y", 1024 * 1024)
local CHUNK = 65536

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

-- One client API, two implementations: connect, send, receive(max).
local clients = {
  lmail = {
    connect = function() return assert(tcp.connect("127.0.0.1", port, { timeout = 60 })) end,
    send = function(c, s) return assert(c:send(s)) end,
    receive = function(c, max) return assert(c:receive(max)) end,
  },
  luasocket = {
    connect = function()
      local c = assert(socket.tcp())
      c:settimeout(60)
      assert(c:connect("127.0.0.1", port))
      c:setoption("tcp-nodelay", true)
      return c
    end,
    send = function(c, s) return assert(c:send(s)) end,
    -- LuaSocket's receive(n) waits for exactly n bytes; ask for what is left
    receive = function(c, max) return assert(c:receive(max)) end,
  },
}

local function send_run(api)
  local c = api.connect()
  local t0 = socket.gettime()
  api.send(c, "S " .. total .. "\n")
  for _ = 1, mib do api.send(c, block) end
  local ack = ""
  while #ack < 3 do ack = ack .. api.receive(c, 3 - #ack) end
  local dt = socket.gettime() - t0
  c:close()
  assert(ack == "ok\n")
  return total / dt / 1e6
end

local function receive_run(api)
  local c = api.connect()
  local t0 = socket.gettime()
  api.send(c, "R " .. total .. "\n")
  local got = 0
  while got < total do got = got + #api.receive(c, math.min(CHUNK, total - got)) end
  local dt = socket.gettime() - t0
  c:close()
  return total / dt / 1e6
end

for _, name in ipairs({ "lmail", "luasocket" }) do
  for what, run in pairs({ send = send_run, recv = receive_run }) do
    local r = {}
    for i = 1, reps do r[i] = run(clients[name]) end
    print(("%s-%s %.0f"):format(name, what, median(r)))
  end
end
