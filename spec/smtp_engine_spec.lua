-- lmail.core.smtp: the engine binding alone. The same server bytes fed
-- whole, at every split point and in random chunks give the same events
-- (DESIGN.md rule 6); commands, limits and misuse.
local core = require "lmail.core"
local split = require "spec.support.split"

local csmtp = core.smtp

-- The server's turns: each comes only after the client has spoken.
local TURNS = {
  "220-mx.example.test ESMTP\r\n220 hi\r\n",
  "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n"
    .. "250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n",
  "250 2.1.0 Ok\r\n550-5.1.1 no such user\r\n550 5.1.1 really\r\n250 2.1.5 Ok\r\n"
    .. "354 go ahead\r\n",
}

-- Feeds the turns (turn `which` as the given chunks, the others whole),
-- queuing what a pipelining client would after each reply; returns the
-- events as text and the engine.
local function run(chunks, which)
  local e = csmtp.new()
  local out = {}
  for i, turn in ipairs(TURNS) do
    for _, c in ipairs(i == which and chunks or { turn }) do
      assert(e:feed(c))
      while true do
        local r, msg = e:next()
        assert(r ~= nil, msg)
        if not r then break end
        out[#out + 1] = ("%s %d %s|%s"):format(r.stage, r.code, r.enhanced or "", r.text)
        if r.stage == "GREETING" then e:ehlo("c.test") end
        if r.stage == "EHLO" then
          e:mail("a@b", "SIZE=10")
          e:rcpt("x@y")
          e:rcpt("z@y")
          e:data()
        end
      end
    end
  end
  return table.concat(out, ";"), e
end

describe("lmail.core.smtp engine", function()
  it("gives the same events at every split", function()
    local want, e = run({})
    assert.are.equal("BODY", e:state())
    assert.matches("RCPT 550 5.1.1|no such user\nreally", want, 1, true)
    for which, turn in ipairs(TURNS) do
      split.each(turn, function(chunks, label)
        local got = run(chunks, which)
        assert.are.equal(want, got, "turn " .. which .. ", " .. label)
      end, { random = 30 })
    end
  end)

  it("parses capabilities into a table", function()
    local _, e = run({})
    local c = e:capabilities()
    assert.is_true(c.PIPELINING and c.CHUNKING and c.ENHANCEDSTATUSCODES)
    assert.are.equal(1000, c.SIZE)
    assert.are.same({ "PLAIN", "LOGIN" }, c.AUTH)
    assert.is_true(e:auth_offered("login"))
    assert.is_false(e:auth_offered("CRAM-MD5"))
  end)

  it("stuffs the body and ends it with the last chunk", function()
    local _, e = run({})
    assert.has_error(function() e:body("x") end)   -- the commands are not written yet
    assert.are.equal("EHLO c.test\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<x@y>\r\n"
      .. "RCPT TO:<z@y>\r\nDATA\r\n", e:pending())
    assert.are.equal("a\r\n..b\r\n", e:body("a\n.b\n"))
    assert.are.equal("..\r\nend\r\n.\r\n", e:body(".\nend", true))
    assert.are.equal("READY", e:state())
    assert.are.equal(1, e:outstanding())
    assert.has_error(function() e:body("more") end)
  end)

  it("normalises BDAT chunks and counts the normalised bytes", function()
    local e = csmtp.new()
    assert(e:feed("220 hi\r\n"))
    assert(e:next())
    e:ehlo("c")
    e:pending()
    assert(e:feed("250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n"))
    assert(e:next())
    e:mail("a@b")
    e:rcpt("c@d")
    local head, body, tail = e:bdat("x\ny", true)
    -- small or not clean: one string, commands, BDAT line and chunk
    assert.are.equal("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 6 LAST\r\nx\r\ny\r\n", head)
    assert.are.equal("", body)
    assert.is_nil(tail)
    local big = ("line\r\n"):rep(10000) .. "end"
    head, body, tail = e:bdat(big, true)
    assert.are.equal("BDAT " .. (#big + 2) .. " LAST\r\n", head)
    assert.are.equal(big, body)      -- clean and big: the caller's own string
    assert.are.equal("\r\n", tail)
    assert.is_true(e:clean("a\r\nb"))
    assert.is_false(e:clean("a\nb"))
  end)

  it("raises on misuse and on injection attempts", function()
    local e = csmtp.new()
    assert.has_error(function() e:ehlo("c") end)           -- before the greeting
    assert(e:feed("220 hi\r\n"))
    assert(e:next())
    assert.has_error(function() e:mail("a@b") end)         -- before EHLO
    assert.has_error(function() e:ehlo("c\r\nRSET") end)
    e:ehlo("c")
    assert.has_error(function() e:noop() end)              -- EHLO ends the group
    assert(e:feed("250 ok\r\n"))
    e:pending()
    assert(e:next())
    for _, bad in ipairs({ "a@b\r\n", "a@b>", "a b@c", "a\0@b" }) do
      assert.has_error(function() e:mail(bad) end)
    end
    assert.has_error(function() e:mail("a@b", "SIZE=1\r\nRSET") end)
    assert.is_true(csmtp.check_path("\"a b\"@c"))
    local ok, why = csmtp.check_path("a\r\n@b")
    assert.is_nil(ok)
    assert.are.equal("contains CR/LF", why)
    assert.is_true(csmtp.check_params("BODY=8BITMIME SMTPUTF8"))
    assert.is_false(csmtp.check_params("BODY="))
    assert.is_true(csmtp.has_8bit("caf\xc3\xa9"))
    -- the server talking before the client is a protocol error
    local early = csmtp.new()
    assert(early:feed("220 hi\r\n250 too early\r\n"))
    assert(early:next())
    local r, _, code = early:next()
    assert.is_nil(r)
    assert.are.equal("EPROTO", code)
    assert.is_false(csmtp.has_8bit("cafe"))
    -- SIZE as RFC 1870 4 counts it: line ends as CRLF, a final CRLF added
    assert.same({ false, 0 }, { csmtp.scan("") })
    assert.same({ false, 6 }, { csmtp.scan("a\r\nb") })
    assert.same({ false, 9 }, { csmtp.scan("a\nb\rc\r\n") })
    assert.same({ false, 4 }, { csmtp.scan("\n\r") })
    assert.same({ false, 4 }, { csmtp.scan("\r\r") })
    assert.same({ true, 7 }, { csmtp.scan("caf\xc3\xa9") })
    local normalize, alphabet = require("lmail.core").eol.normalize, { "\r", "\n", "x", "." }
    math.randomseed(1870)
    for _ = 1, 2000 do
      local t = {}
      for i = 1, math.random(1, 40) do t[i] = alphabet[math.random(#alphabet)] end
      local m = table.concat(t)
      local wire = normalize(m)
      if wire:sub(-1) ~= "\n" then wire = wire .. "\r\n" end
      local _, size = csmtp.scan(m)
      assert.are.equal(#wire, size, ("%q"):format(m))
    end
    e:close()
    assert.is_true(e:isclosed())
    assert.has_error(function() e:feed("x") end, "engine:feed: engine is closed")
  end)

  it("reports sticky protocol errors with the offset", function()
    local e = csmtp.new({ max_line = 64 })
    assert(e:feed("220 ok\r\n"))
    assert(e:next())
    e:ehlo("c")
    e:pending()
    assert(e:feed("250 " .. ("x"):rep(100) .. "\r\n"))
    local r, msg, code = e:next()
    assert.is_nil(r)
    assert.are.equal("ETOOLONG", code)
    assert.matches("at byte 8", msg)
    assert.are.equal("FAILED", e:state())
    local ok, _, code2 = e:feed("more")
    assert.is_nil(ok)
    assert.are.equal("ETOOLONG", code2)
  end)

  it("builds SASL initial responses in C (RFC 4616, RFC 2195, RFC 7628)", function()
    local e = csmtp.new()
    assert(e:feed("220 hi\r\n"))
    assert(e:next())
    e:ehlo("c")
    e:pending()
    assert(e:feed("250-x\r\n250 AUTH PLAIN CRAM-MD5\r\n"))
    assert(e:next())
    e:auth_plain("tim", "tanstaaftanstaaf")
    assert.are.equal("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", e:pending())
    assert(e:feed("535 no\r\n"))
    assert(e:next())
    e:auth("CRAM-MD5")
    assert.are.equal("AUTH CRAM-MD5\r\n", e:pending())
    assert(e:feed("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"))
    local r = assert(e:next())
    assert.are.equal(334, r.code)
    e:auth_cram("tim", "tanstaaftanstaaf", r.text)
    assert.are.equal("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", e:pending())
    assert(e:feed("235 ok\r\n"))
    assert(e:next())
    assert.has_error(function() e:auth_plain("tim", "a\0b") end)
  end)
end)
