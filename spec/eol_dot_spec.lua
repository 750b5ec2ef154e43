-- CRLF normalisation (lmail.core.eol, stream.crlf), SMTP dot-stuffing
-- (lmail.core.dot.stuff/stuffer, stream.dot_stuff; RFC 5321 4.5.2) and the
-- POP3 multi-line reader (lmail.core.dot.unstuffer; RFC 1939 3).
local core = require "lmail.core"
local stream = require "lmail.stream"
local split = require "spec.support.split"

local small = os.getenv("LMAIL_VALGRIND") ~= nil -- shrink, never skip

-- Independent reference: every CRLF, bare CR and bare LF becomes CRLF.
local function ref_eol(s)
  return (s:gsub("\r\n", "\0"):gsub("[\r\n]", "\0"):gsub("%z", "\r\n"))
end

-- Only useful when s holds no NUL: the reference above uses NUL as a marker.
local function random_text(n, seed)
  local rand = split.rng(seed)
  local pieces = { "a", "b", ".", ".", "\r", "\n", "\r\n", " ", "\255" }
  local t = {}
  for i = 1, n do t[i] = pieces[rand(#pieces)] end
  return table.concat(t)
end

-- Checks what reaches an SMTP server: CRLF lines only, and the one line
-- that is exactly "." is the last.
local function assert_safe_for_smtp(s)
  assert.are.equal(".\r\n", s:sub(-3))
  assert.is_true(#s == 3 or s:sub(-5, -4) == "\r\n", "terminator not on its own line")
  assert.is_nil(s:gsub("\r\n", ""):find("[\r\n]"), "bare CR or LF")
  local body = s:sub(1, -4)
  for line in body:gmatch("([^\r]*)\r\n") do
    assert.are_not.equal(".", line)
  end
end

-- Feeds an unstuffer chunk by chunk as a POP3 client would; returns the
-- data, whether the terminator was seen, and everything after it.
local function unstuff_chunks(chunks)
  local u, out = core.dot.unstuffer(), {}
  for i, c in ipairs(chunks) do
    local data, done, rest = u:step(c)
    out[#out + 1] = data
    if done then
      assert.are.equal("", u:finish())
      return table.concat(out), true, rest .. table.concat(chunks, "", i + 1)
    end
    assert.is_false(done)
    assert.is_nil(rest)
  end
  local ok, msg, code = u:finish()
  assert.is_nil(ok)
  assert.are.equal("EPROTO", code)
  assert.truthy(msg:find("terminating", 1, true))
  return table.concat(out), false, nil
end

describe("lmail.core.eol", function()
  it("turns bare CR and bare LF into CRLF and keeps CRLF", function()
    assert.are.equal("", core.eol.normalize(""))
    assert.are.equal("abc", core.eol.normalize("abc"))
    assert.are.equal("a\r\nb\r\nc\r\nd", core.eol.normalize("a\r\nb\nc\rd"))
    assert.are.equal("\r\n\r\n\r\n\r\n\r\n", core.eol.normalize("\n\r\r\n\n\r"))
    assert.are.equal("\r\n\r\n", core.eol.normalize("\r\r"))
  end)

  it("is chunk-split invariant, a CR at a chunk end included", function()
    for n = 0, 60, 4 do
      local s = random_text(n, n + 1)
      local want = ref_eol(s)
      assert.are.equal(want, core.eol.normalize(s))
      split.each(s, function(chunks, label)
        assert.are.equal(want, split.through(stream.crlf(), chunks), label)
      end, { random = 5 })
    end
    assert.are.equal("a\r\nb", split.through(stream.crlf(), { "a\r", "\nb" }))
    assert.are.equal("a\r\n\r\nb", split.through(stream.crlf(), { "a\r", "", "\rb" }))
  end)

  it("handles long inputs split at random", function()
    local s = random_text(small and 20000 or 400000, 3) .. ("x"):rep(1000)
    local want = ref_eol(s)
    assert.are.equal(want, core.eol.normalize(s))
    local rand = split.rng(9)
    for _ = 1, 3 do
      assert.are.equal(want, split.through(stream.crlf(), split.random_chunks(s, rand, 4000)))
    end
  end)

  it("normalizer objects can be reused after finish", function()
    local n = core.eol.normalizer()
    assert.are.equal("a\r\n", n:step("a\r"))
    assert.are.equal("", n:finish())
    assert.are.equal("\r\n", n:step("\n")) -- a new stream: this LF is its own
  end)
end)

describe("lmail.core.dot stuffing (RFC 5321 4.5.2)", function()
  local cases = {
    { "", ".\r\n" },
    { "a", "a\r\n.\r\n" },
    { "a\r\n", "a\r\n.\r\n" },
    { "\r\n", "\r\n.\r\n" },
    { ".", "..\r\n.\r\n" },
    { ".\r\n", "..\r\n.\r\n" },
    { "..x\r\n.y", "...x\r\n..y\r\n.\r\n" },
    { "a.b\r\n x.", "a.b\r\n x.\r\n.\r\n" },
    { "a\r\n.\r\nMAIL FROM:<evil>\r\n", "a\r\n..\r\nMAIL FROM:<evil>\r\n.\r\n" },
  }

  -- The SMTP smuggling family (CVE-2023-51764 and relatives): a lone dot
  -- between line ends some server might accept. Each becomes a CRLF line
  -- with the dot doubled.
  local smuggling = {
    "a\n.\nb", "a\r.\rb", "a\n.\r\nb", "a\r\n.\nb", "a\r\n.\rb", "a\r.\r\nb", "a\n.\rb",
    "a\r.\nb",
  }

  it("doubles a leading dot and ends the body with CRLF and .CRLF", function()
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], core.dot.stuff(c[1]))
      split.each(c[1], function(chunks, label)
        assert.are.equal(c[2], split.through(stream.dot_stuff(), chunks), label)
      end)
    end
  end)

  it("never lets a bare CR or LF through (SMTP smuggling)", function()
    for _, s in ipairs(smuggling) do
      local want = "a\r\n..\r\nb\r\n.\r\n"
      assert.are.equal(want, core.dot.stuff(s), s)
      split.each(s, function(chunks, label)
        assert.are.equal(want, split.through(stream.dot_stuff(), chunks), label)
      end)
      local payload = s:gsub("b$", "MAIL FROM:<x>\r\nRCPT TO:<y>\r\nDATA\r\nevil\r\n.\r\n")
      local stuffed = core.dot.stuff(payload)
      assert_safe_for_smtp(stuffed)
    end
  end)

  it("agrees with a line-by-line reference on random text at every split", function()
    for n = 0, 48, 3 do
      local s = random_text(n, n + 40)
      local norm = ref_eol(s)
      if norm ~= "" and norm:sub(-2) ~= "\r\n" then norm = norm .. "\r\n" end
      local want = norm:gsub("([^\r]*)\r\n", function(line)
        return (line:sub(1, 1) == "." and "." or "") .. line .. "\r\n"
      end) .. ".\r\n"
      assert.are.equal(want, core.dot.stuff(s))
      assert_safe_for_smtp(want)
      split.each(s, function(chunks, label)
        assert.are.equal(want, split.through(stream.dot_stuff(), chunks), label)
      end, { random = 5 })
    end
  end)

  it("stuffer objects can be reused after finish", function()
    local st = core.dot.stuffer()
    assert.are.equal(".", st:step("."):sub(1, 1))
    assert.are.equal("\r\n.\r\n", st:finish())
    assert.are.equal("x\r\n", st:step("x\n"))
    assert.are.equal(".\r\n", st:finish())
  end)
end)

describe("lmail.core.dot unstuffer (POP3, RFC 1939 3)", function()
  it("unstuffs lines, keeps CRLF and stops at the terminator", function()
    local body = "a\r\n..\r\n..b\r\n.c\r\n\r\n"
    local data, done, rest = unstuff_chunks({ body .. ".\r\n+OK next\r\n" })
    assert.are.equal("a\r\n.\r\n.b\r\nc\r\n\r\n", data)
    assert.is_true(done)
    assert.are.equal("+OK next\r\n", rest)
  end)

  it("reads a body line that is exactly a dot as the terminator", function()
    local data, done, rest = unstuff_chunks({ "a\r\n.\r\nb\r\n.\r\n" })
    assert.are.equal("a\r\n", data)
    assert.is_true(done)
    assert.are.equal("b\r\n.\r\n", rest)
    data, done, rest = unstuff_chunks({ ".\r\n" })
    assert.are.same({ "", true, "" }, { data, done, rest })
  end)

  it("treats bare LF and bare CR as data, never as line ends", function()
    local data, done, rest = unstuff_chunks({ "a\n.\nb\r.\r\n.\r\nX" })
    assert.are.equal("a\n.\nb\r.\r\n", data)
    assert.is_true(done)
    assert.are.equal("X", rest)
  end)

  it("gives the same result at every split, terminator split included", function()
    local input = "..x\r\n.\r\r\n.a\r\n\r\n..\r\n.\r\nRETR 2\r\n"
    local want_data, want_rest = ".x\r\n\r\r\na\r\n\r\n.\r\n", "RETR 2\r\n"
    split.each(input, function(chunks, label)
      local data, done, rest = unstuff_chunks(chunks)
      assert.are.equal(want_data, data, label)
      assert.is_true(done, label)
      assert.are.equal(want_rest, rest, label)
    end)
  end)

  it("reports an unterminated response with EPROTO", function()
    local unterminated = { "", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "abc\r\n.\n", "a\r\n..\r\n" }
    for _, s in ipairs(unterminated) do
      split.each(s, function(chunks, label)
        local _, done = unstuff_chunks(chunks)
        assert.is_false(done, label)
      end)
    end
    local u = core.dot.unstuffer()
    assert.are.same({ "abc\r\n", false }, { u:step("abc\r\n.\r") })
    local ok, msg, code = u:finish()
    assert.is_nil(ok)
    assert.are.equal("EPROTO", code)
    assert.are.equal("string", type(msg))
  end)

  it("stays done: later chunks come back whole as rest", function()
    local u = core.dot.unstuffer()
    assert.are.same({ "x\r\n", true, "+OK" }, { u:step("x\r\n.\r\n+OK") })
    assert.are.same({ "", true, "more" }, { u:step("more") })
    assert.are.equal("", u:finish())
    -- finish resets: a new response can follow
    assert.are.same({ "y\r\n", true, "" }, { u:step("y\r\n.\r\n") })
  end)

  it("reads back what the stuffer wrote, for random text at every split", function()
    for n = 0, 40, 4 do
      local s = random_text(n, n + 80)
      local norm = ref_eol(s)
      if norm ~= "" and norm:sub(-2) ~= "\r\n" then norm = norm .. "\r\n" end
      local wire = core.dot.stuff(s) .. "+OK"
      split.each(wire, function(chunks, label)
        local data, done, rest = unstuff_chunks(chunks)
        assert.are.equal(norm, data, label)
        assert.is_true(done, label)
        assert.are.equal("+OK", rest, label)
      end, { random = 5 })
    end
  end)

  it("handles a large response split at random", function()
    local s = random_text(small and 20000 or 300000, 12)
    local wire = core.dot.stuff(s)
    local norm = ref_eol(s)
    if norm:sub(-2) ~= "\r\n" then norm = norm .. "\r\n" end
    local rand = split.rng(2)
    for _ = 1, 3 do
      local data, done, rest = unstuff_chunks(split.random_chunks(wire, rand, 5000))
      assert.are.equal(norm, data)
      assert.is_true(done)
      assert.are.equal("", rest)
    end
  end)
end)

describe("lmail.core.eol / dot arguments", function()
  it("raise on bad argument types", function()
    assert.has_error(function() core.eol.normalize(nil) end)
    assert.has_error(function() core.eol.normalize({}) end)
    assert.has_error(function() core.dot.stuff(true) end)
    assert.has_error(function() core.eol.normalizer():step(nil) end)
    assert.has_error(function() core.dot.stuffer():step({}) end)
    assert.has_error(function() core.dot.unstuffer():step() end)
    assert.has_error(function() core.dot.unstuffer().step(core.dot.stuffer(), "x") end)
    assert.has_error(function() core.dot.stuffer().finish(core.eol.normalizer()) end)
  end)
end)
