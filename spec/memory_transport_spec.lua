-- spec/memory_transport_spec.lua: the scripted transport and the transcript
-- helpers the SMTP/POP3 specs rely on must themselves catch what they claim.
local memory = require "lmail.transport.memory"
local transcript = require "spec.support.transcript"

-- Receives until the script has nothing more to give; returns the chunks.
local function drain(t, max)
  local chunks = {}
  while true do
    local c, _, code = t:receive(max or 1000)
    if not c then return chunks, code end
    chunks[#chunks + 1] = c
  end
end

-- A tiny line-based client: reads one CRLF-terminated line.
local function read_line(t, buf)
  while not buf.data:find("\r\n", 1, true) do
    local c, err, code = t:receive(512)
    if not c then return nil, err, code end
    buf.data = buf.data .. c
  end
  local line, rest = buf.data:match("^(.-\r\n)(.*)$")
  buf.data = rest
  return line
end

local HELLO = [[
# a greeting, a two-line reply and a quit
S: 220 hi
C: EHLO x
S: 250-mx
S: 250 SIZE 100
C: QUIT
S: 221 bye
]]

describe("memory.parse", function()
  it("appends CRLF to S: and C: lines and merges neighbours", function()
    local steps = memory.parse(HELLO)
    assert.same({ "read", "220 hi\r\n" }, { steps[1][1], steps[1][2] })
    assert.same({ "write", "EHLO x\r\n" }, { steps[2][1], steps[2][2] })
    local t = memory.new(steps)
    t:receive(100)
    t:send("EHLO x\r\n")
    assert.equal("250-mx\r\n250 SIZE 100\r\n", t:receive(100))
  end)

  it("keeps S= and C= bytes raw, with escapes and no CRLF added", function()
    local steps = memory.parse("S= a\\r\\nb\\x00\\\\x41\nC=no newline\nC: \n")
    assert.equal("a\r\nb\0\\x41", steps[1][2])
    assert.equal("no newline\r\n", memory.new(steps).steps[2][2])
  end)

  it("knows !close and !timeout and ignores comments and blank lines", function()
    local steps = memory.parse("# c\n\nS: a\n!timeout\nS: b\n!close\n")
    assert.same({ "read", "timeout", "read", "close" },
      { steps[1][1], steps[2][1], steps[3][1], steps[4][1] })
  end)

  it("refuses a malformed line, naming it", function()
    assert.has_error(function() memory.parse("S: ok\nX: what\n") end,
      'transcript line 2: expected S:, C:, S=, C=, !close or !timeout: "X: what"')
    assert.has_error(function() memory.parse("S= \\q\n") end, "transcript line 1: bad escape \\q")
  end)
end)

describe("memory transport", function()
  it("delivers a server turn whole, or byte by byte, or in random chunks", function()
    local text = "S: 250-first\nS: 250-second line\nS: 250 last\n"
    local all = "250-first\r\n250-second line\r\n250 last\r\n"
    local whole = drain(memory.new(text))
    assert.same({ all }, whole)
    local bytes = drain(memory.new(text, { chunking = "bytes" }))
    assert.equal(#all, #bytes)
    assert.equal(all, table.concat(bytes))
    local random = drain(memory.new(text, { chunking = "random", seed = 7, max_chunk = 9 }))
    assert.equal(all, table.concat(random))
    local sizes = {}
    for _, c in ipairs(random) do
      assert.is_true(#c >= 1 and #c <= 9)
      sizes[#c] = true
    end
    assert.is_true(next(sizes, next(sizes)) ~= nil, "random chunks should vary in size")
  end)

  it("never returns more than max", function()
    local chunks = drain(memory.new("S: 0123456789\n"), 3)
    assert.same({ "012", "345", "678", "9\r\n" }, chunks)
  end)

  it("accepts the expected writes however the client splits them", function()
    local t = memory.new("C: MAIL FROM:<a@b>\nS: 250 ok\n")
    for c in ("MAIL FROM:<a@b>\r\n"):gmatch(".") do assert.equal(1, t:send(c)) end
    assert.equal("250 ok\r\n", t:receive(100))
    assert.is_true(t:done())
    assert.equal("MAIL FROM:<a@b>\r\n", t:output())
    assert.equal(17, #t.written)
  end)

  it("catches a wrong write and says where", function()
    local t = memory.new("S: 220 hi\nC: EHLO example.org\n")
    t:receive(100)
    assert.equal(5, t:send("EHLO "))
    local ok, err = pcall(t.send, t, "example.com\r\n")
    assert.is_false(ok)
    assert.matches("client write differs at byte 13 %(script line 2%)", err)
    assert.matches('expected "org\\r\\n"', err, 1, true)
    assert.matches('got      "com\\r\\n"', err, 1, true)
    assert.equal(t.failure, err:match("memory transport: .*"))
  end)

  it("catches a write when the server should speak, or past the end", function()
    local t = memory.new("S: 220 hi\nC: QUIT\n")
    assert.has_error(function() t:send("QUIT\r\n") end,
      'memory transport: client wrote "QUIT\\r\\n" at byte 0 but the script expects'
      .. " the server to speak (line 1)")
    t = memory.new("C: QUIT\n")
    t:send("QUIT\r\n")
    assert.has_error(function() t:send("X") end,
      'memory transport: client wrote "X" at byte 6 but the script expects nothing more')
  end)

  it("times out a receive while the client still owes bytes", function()
    local t = memory.new("C: QUIT\nS: 221 bye\n")
    t:send("QU")
    local c, err, code = t:receive(10)
    assert.is_nil(c)
    assert.equal("ETIMEDOUT", code)
    assert.matches('expects the client to write "IT\\r\\n"', err, 1, true)
  end)

  it("simulates a scripted timeout without losing data", function()
    local t = memory.new("S= 22\n!timeout\nS: 0 ok\n")
    assert.equal("22", t:receive(10))
    assert.same({ nil, "memory transport: timed out (scripted)", "ETIMEDOUT" }, { t:receive(10) })
    assert.equal("0 ok\r\n", t:receive(10))
    local s = memory.new("!timeout\nC: A\n")
    assert.equal("ETIMEDOUT", select(3, s:send("A\r\n")))
    assert.equal(3, s:send("A\r\n"))
  end)

  it("simulates the server closing, and closes at the end of the script", function()
    local t = memory.new("S: 220 hi\n!close\n")
    assert.equal("220 hi\r\n", t:receive(100))
    assert.equal("ECLOSED", select(3, t:receive(100)))
    assert.equal("ECLOSED", select(3, t:send("QUIT\r\n")))
    assert.is_true(t:done())
    local e = memory.new("S: x\n")
    e:receive(10)
    assert.equal("ECLOSED", select(3, e:receive(10)))
  end)

  it("closes idempotently, works with <close>, and raises on use after close", function()
    local t = memory.new("S: hi\n")
    assert.is_true(t:close())
    assert.is_true(t:close())
    assert.has_error(function() t:receive(1) end, "memory:receive: transport is closed")
    assert.has_error(function() t:send("x") end, "memory:send: transport is closed")
    local kept
    do
      local u <close> = memory.new("S: hi\n")
      kept = u
    end
    assert.is_true(kept.closed)
  end)

  it("reports an unfinished script", function()
    local t = memory.new(HELLO)
    t:receive(100)
    assert.has_error(function() t:assert_done() end,
      'memory transport: script not finished: next is write at line 3 "EHLO x\\r\\n"')
  end)

  it("checks its steps", function()
    assert.has_error(function() memory.new({ { "say", "x" } }) end,
      "memory.new: step 1: unknown kind say")
    assert.has_error(function() memory.new({ { "read" } }) end,
      "memory.new: step 1: read needs a string")
  end)
end)

describe("transcript", function()
  local function dialogue(t)
    local buf = { data = "" }
    assert.equal("220 hi\r\n", read_line(t, buf))
    assert(t:send("EHLO x\r\n"))
    assert.equal("250-mx\r\n", read_line(t, buf))
    assert.equal("250 SIZE 100\r\n", read_line(t, buf))
    assert(t:send("QUIT\r\n"))
    assert.equal("221 bye\r\n", read_line(t, buf))
  end

  it("loads a file or text", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(HELLO)
    f:close()
    local from_file = transcript.load(path)
    os.remove(path)
    assert.same(transcript.load(HELLO), from_file)
    assert.equal(6, #from_file)
  end)

  it("each_split runs whole, byte by byte and random chunkings", function()
    local labels, receives = {}, {}
    transcript.each_split(HELLO, function(t, label)
      labels[#labels + 1] = label
      local real = t.receive
      local sizes = {}
      t.receive = function(self, max)
        local c, e, code = real(self, max)
        if c then sizes[#sizes + 1] = #c end
        return c, e, code
      end
      dialogue(t)
      receives[label] = sizes
    end, { random = 3 })
    assert.same({ "whole", "byte by byte", "random chunks (seed 1)",
      "random chunks (seed 2)", "random chunks (seed 3)" }, labels)
    assert.same({ 8, 22, 9 }, receives.whole)
    local total = 8 + 22 + 9
    assert.equal(total, #receives["byte by byte"])
    for _, n in ipairs(receives["byte by byte"]) do assert.equal(1, n) end
    for r = 1, 3 do
      local sizes = receives["random chunks (seed " .. r .. ")"]
      local sum, big = 0, false
      for _, n in ipairs(sizes) do sum, big = sum + n, big or n > 1 end
      assert.equal(total, sum)
      assert.is_true(big)
      assert.is_true(#sizes > 3 and #sizes < total)
    end
    assert.are_not.same(receives["random chunks (seed 1)"], receives["random chunks (seed 2)"])
  end)

  it("each_split fails, naming the variant, on a wrong write or an unfinished script", function()
    assert.has_error(function()
      transcript.each_split(HELLO, function(t)
        local buf = { data = "" }
        read_line(t, buf)
        t:send("HELO x\r\n")
      end)
    end)
    local ok, err = pcall(transcript.each_split, HELLO, function(t)
      read_line(t, { data = "" })
    end)
    assert.is_false(ok)
    assert.matches("^%[whole%] memory transport: script not finished", err)
    ok, err = pcall(transcript.each_split, HELLO, function(t) t:send("HELO x\r\n") end)
    assert.is_false(ok)
    assert.matches("^%[whole%] .*client wrote \"HELO", err)
  end)

  it("each_split lets a spec stop early when asked", function()
    local runs = 0
    transcript.each_split(HELLO, function(t) runs = runs + 1; t:receive(1) end,
      { allow_unfinished = true, random = 2 })
    assert.equal(4, runs)
  end)
end)
