-- spec/tcp_spec.lua: lmail.transport.tcp against scripted python3 peers
-- (spec/support/fakeserver.py) on 127.0.0.1 and ::1, each started under
-- `timeout` and stopped by PID. Time bounds here are loose sanity limits on
-- a hang, never performance assertions.
local tcp = require "lmail.transport.tcp"
local proc = require "spec.support.proc"
local split = require "spec.support.split"

local FAKE = "spec/support/fakeserver.py"

-- Starts a fake server; returns the process and the port it listens on.
local function server(mode, arg, host)
  local argv = { "python3", FAKE, mode, "--host", host or "127.0.0.1" }
  if arg then argv[#argv + 1] = arg end
  local p = proc.start(argv, { limit = 120 })
  local port = tonumber(p:line())
  if not port then
    p:stop()
    error("fake server " .. mode .. " did not report a port")
  end
  return p, port
end

-- Cleanups of the running test, last first (busted keeps only one
-- finally() per test, so they are collected here and run by after_each).
local cleanups = {}
local function cleanup(fn) cleanups[#cleanups + 1] = fn end
local function run_cleanups()
  for i = #cleanups, 1, -1 do cleanups[i]() end
  cleanups = {}
end

-- A fake server stopped when the test ends.
local function started(mode, arg, host)
  local p, port = server(mode, arg, host)
  cleanup(function() p:stop() end)
  return p, port
end

-- Connects to a fresh fake server; both are cleaned up when the test ends.
local function connected(mode, arg, host, timeout)
  local p, port = started(mode, arg, host)
  local t = assert(tcp.connect(host or "127.0.0.1", port, { timeout = timeout or 10 }))
  cleanup(function() t:close() end)
  return t, p
end

-- Receives exactly n bytes (or up to an error).
local function receive_n(t, n)
  local parts, got = {}, 0
  while got < n do
    local c, err, code = t:receive(n - got)
    if not c then return table.concat(parts), err, code end
    parts[#parts + 1] = c
    got = got + #c
  end
  return table.concat(parts)
end

-- Whether this machine can bind ::1, and if not, why.
local function ipv6_loopback()
  local f = assert(io.popen("env -u LD_PRELOAD python3 -c \"import socket; "
    .. "socket.socket(socket.AF_INET6).bind(('::1', 0)); print('bound')\" 2>&1"))
  local out = f:read("a")
  f:close()
  return out == "bound\n", out
end

-- A payload where every 64 KiB block is different (its index leads it).
local function payload(size)
  local base = split.random_bytes(65536, 99)
  local blocks = {}
  for i = 1, size // 65536 do blocks[i] = string.pack(">I4", i) .. base:sub(5) end
  return table.concat(blocks)
end

-- Transfers that are checked byte for byte shrink under valgrind; a send that
-- must block on a slow reader never does (it has to outgrow the kernel buffers).
local BIG = os.getenv("LMAIL_VALGRIND") and 4 * 1024 * 1024 or 64 * 1024 * 1024
local BLOCKING = 64 * 1024 * 1024

describe("tcp transport", function()
  after_each(run_cleanups)

  it("talks to an echo peer on 127.0.0.1", function()
    local t = connected("echo")
    assert.equal(11, t:send("hello world"))
    assert.equal("hello world", receive_n(t, 11))
    assert.equal(tostring(t), "lmail.net.socket")
    assert.same({ "127.0.0.1", 4 }, { t:local_address() })
    t:close()
    assert.has_error(function() t:local_address() end)
  end)

  it("reports a refused port as ECONNREFUSED", function()
    local p, port = server("freeport")
    p:wait()
    local t, err, code = tcp.connect("127.0.0.1", port, { timeout = 5 })
    assert.is_nil(t)
    assert.equal("ECONNREFUSED", code)
    assert.equal("tcp.connect to 127.0.0.1 port " .. port .. ": connection refused", err)
  end)

  it("reports an unresolvable name as ENAMERESOLVE", function()
    local t, err, code = tcp.connect("nonexistent.invalid", 25, { timeout = 5 })
    assert.is_nil(t)
    assert.equal("ENAMERESOLVE", code)
    assert.matches("nonexistent.invalid", err, 1, true)
  end)

  it("times out a connect that gets no answer", function()
    local _, port = started("fullbacklog")
    local keep, code, elapsed = {}, nil, nil
    -- the first connection fills the backlog; a later SYN gets no answer
    for i = 1, 4 do
      local t0 = tcp.now()
      local t, _, c = tcp.connect("127.0.0.1", port, { timeout = 1 })
      if not t then
        code, elapsed = c, tcp.now() - t0
        break
      end
      keep[i] = t
    end
    for _, t in pairs(keep) do t:close() end
    assert.equal("ETIMEDOUT", code)
    assert.is_true(elapsed >= 0.9 and elapsed < 3, "elapsed " .. tostring(elapsed))
  end)

  it("times out a receive on a silent peer", function()
    local t = connected("silent")
    t:settimeout(0.5)
    local t0 = tcp.now()
    local c, err, code = t:receive(100)
    local elapsed = tcp.now() - t0
    assert.is_nil(c)
    assert.equal("ETIMEDOUT", code)
    assert.equal("tcp receive: timed out", err)
    assert.is_true(elapsed >= 0.45 and elapsed < 3, "elapsed " .. elapsed)
  end)

  it("never drops data on a timeout", function()
    local t = connected("drip", "abcdef")
    t:settimeout(0.05)
    local got, timeouts = {}, 0
    while #table.concat(got) < 6 do
      local c, _, code = t:receive(100)
      if c then
        got[#got + 1] = c
      else
        assert.equal("ETIMEDOUT", code)
        timeouts = timeouts + 1
      end
    end
    assert.equal("abcdef", table.concat(got))
    assert.is_true(timeouts > 0)
  end)

  it("a dripping peer cannot keep a receive sequence alive past the deadline", function()
    local t = connected("drip", string.rep("x", 40))
    -- each byte comes within 0.2 s: only the deadline can end this loop
    t:settimeout(0.5)
    local t0 = tcp.now()
    t:setdeadline(t0 + 1)
    assert.equal(t0 + 1, t:deadline())
    local n, code = 0, nil
    repeat
      local c, _, e = t:receive(100)
      if c then n = n + #c else code = e end
    until not c
    local elapsed = tcp.now() - t0
    assert.equal("ETIMEDOUT", code)
    assert.is_true(n >= 2 and n <= 10, "received " .. n)
    assert.is_true(elapsed >= 0.9 and elapsed < 3, "elapsed " .. elapsed)
    t:setdeadline(nil)
    assert.is_nil(t:deadline())
    assert.equal("x", t:receive(1))
  end)

  it("one large send to a slow reader cannot outlive its timeout", function()
    local t = connected("slowread")
    t:settimeout(1)
    local data = string.rep(string.rep("y", 65536), BLOCKING // 65536)
    local t0 = tcp.now()
    local n, err, code = t:send(data)
    local elapsed = tcp.now() - t0
    assert.is_nil(n)
    assert.equal("ETIMEDOUT", code)
    assert.equal("tcp send: timed out", err)
    assert.is_true(elapsed >= 0.9 and elapsed < 4, "elapsed " .. elapsed)
  end)

  it("a slow reader cannot keep a send sequence alive past the deadline", function()
    local t = connected("slowread")
    t:settimeout(nil)
    local piece, code = string.rep("z", 256 * 1024), nil
    local t0 = tcp.now()
    t:setdeadline(t0 + 1)
    for _ = 1, 4096 do
      local n, _, e = t:send(piece)
      if not n then code = e break end
    end
    local elapsed = tcp.now() - t0
    assert.equal("ETIMEDOUT", code)
    assert.is_true(elapsed >= 0.9 and elapsed < 4, "elapsed " .. elapsed)
  end)

  it("gives the data that came first, then ECLOSED, when the peer closes", function()
    local t = connected("sendclose", "partial reply without end")
    local data, err, code = receive_n(t, 1000)
    assert.equal("partial reply without end", data)
    assert.equal("ECLOSED", code)
    assert.equal("tcp receive: connection closed", err)
    assert.equal("ECLOSED", select(3, t:receive(10)))
  end)

  it("echoes a large transfer byte for byte", function()
    local data = payload(BIG)
    local t = connected("echo", nil, nil, 60)
    assert.equal(#data, t:send(data))
    local back, err = receive_n(t, #data)
    assert.is_nil(err)
    assert.equal(#data, #back)
    assert.is_true(back == data, "echoed bytes differ")
  end)

  it("delivers a large transfer in uneven sends intact (length and MD5 by the peer)", function()
    local data = payload(BIG)
    local path = os.tmpname()
    cleanup(function() os.remove(path) end)
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    local sum = assert(io.popen("env -u LD_PRELOAD md5sum " .. proc.quote(path)))
    local md5 = sum:read("l"):match("^%x+")
    sum:close()
    local t = connected("sink", nil, nil, 60)
    assert(t:send(#data .. "\n"))
    local rand, i = split.rng(5), 1
    while i <= #data do
      local n = rand(300000)
      assert(t:send(data:sub(i, i + n - 1)))
      i = i + n
    end
    local line = ""
    while not line:find("\n") do line = line .. assert(t:receive(100)) end
    assert.equal(#data .. " " .. md5 .. "\n", line)
  end)

  it("fails a send to a closed peer without dying of SIGPIPE", function()
    local t = connected("closenow")
    local piece, code, err = string.rep("q", 65536), nil, nil
    for _ = 1, 1000 do
      local n, e, c = t:send(piece)
      if not n then err, code = e, c break end
    end
    assert.equal("ECLOSED", code)
    assert.equal("tcp send: connection closed", err)
  end)

  it("closes idempotently and raises on use after close", function()
    local t = connected("echo")
    assert.is_true(t:isclosed() == false)
    assert.is_true(t:close())
    assert.is_true(t:close())
    assert.is_true(t:isclosed())
    assert.equal("lmail.net.socket (closed)", tostring(t))
    assert.has_error(function() t:send("x") end, "socket:send: socket is closed")
    assert.has_error(function() t:receive(1) end, "socket:receive: socket is closed")
    assert.has_error(function() t:settimeout(1) end, "socket:settimeout: socket is closed")
  end)

  it("closes on leaving a <close> scope", function()
    local _, port = started("echo")
    local kept
    do
      -- timeout = false: no limit at all
      local t <close> = assert(tcp.connect("127.0.0.1", port, { timeout = false }))
      assert.equal(2, t:send("ok"))
      assert.equal("ok", receive_n(t, 2))
      kept = t
    end
    assert.is_true(kept:isclosed())
  end)

  it("raises on misuse and returns EINVAL for a bad port", function()
    assert.has_error(function() tcp.connect(nil, 25) end,
      "tcp.connect: host must be a string, got nil")
    assert.has_error(function() tcp.connect("h", {}) end,
      "tcp.connect: port must be a number or a string, got table")
    assert.has_error(function() tcp.connect("h", 25, { timeout = -1 }) end,
      "tcp.connect: opts.timeout must be a number >= 0 or false")
    for _, port in ipairs({ 0, 65536, 25.5, "" }) do
      local t, _, code = tcp.connect("127.0.0.1", port)
      assert.is_nil(t)
      assert.equal("EINVAL", code)
    end
    local t = connected("echo")
    assert.has_error(function() t:receive(0) end)
    assert.has_error(function() t:send({}) end)
    assert.has_error(function() t:settimeout(-1) end)
  end)
end)

describe("tcp transport on ::1", function()
  after_each(run_cleanups)
  local have, why = ipv6_loopback()

  it("talks to an echo peer and reports a refused port", function()
    if not have then
      assert.is_false(have)
      pending("::1 cannot be bound on this machine: " .. why)
    end
    local t = connected("echo", nil, "::1")
    assert.same({ "::1", 6 }, { t:local_address() })
    assert.equal(4, t:send("six?"))
    assert.equal("six?", receive_n(t, 4))
    local p, port = server("freeport", nil, "::1")
    p:wait()
    assert.equal("ECONNREFUSED", select(3, tcp.connect("::1", port, { timeout = 5 })))
  end)
end)

describe("tcp.sleep", function()
  it("blocks for at least the time asked (a lower bound, not a speed check)", function()
    local before = tcp.now()
    tcp.sleep(0.05)
    assert.is_true(tcp.now() - before >= 0.05)
    tcp.sleep(0)
  end)

  it("raises on a bad argument", function()
    assert.has_error(function() tcp.sleep("1") end)
    assert.has_error(function() tcp.sleep(-1) end)
  end)
end)
