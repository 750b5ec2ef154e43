-- lmail.pop3 against scripted servers (spec/fixtures/pop3/*.txt), each
-- replayed whole, byte by byte and in random chunks (transcript.each_split):
-- the session must behave the same however the server's bytes are split.
local pop3 = require "lmail.pop3"
local memory = require "lmail.transport.memory"
local transcript = require "spec.support.transcript"
local fake_tls = require "spec.support.pop3_fake_tls"

local F = "spec/fixtures/pop3/"

-- A session over t; cleartext allowed unless extra says otherwise.
local function open(t, extra)
  local o = { transport = t, tls = "none", allow_cleartext_auth = true }
  for k, v in pairs(extra or {}) do o[k] = v end
  return pop3.open(o)
end

local function each(file, fn, opts)
  transcript.each_split(file:find("\n") and file or F .. file, fn, opts)
end

-- A sink collecting chunks; .calls counts the calls, .ended the final nil.
local function collector()
  local c = { parts = {}, calls = 0 }
  c.sink = function(chunk, err)
    c.calls = c.calls + 1
    if chunk == nil then
      c.ended, c.err = true, err
    else
      c.parts[#c.parts + 1] = chunk
    end
    return 1
  end
  c.text = function() return table.concat(c.parts) end
  return c
end

describe("lmail.pop3 transcripts", function()
  it("runs a whole session (RFC 1939) with dot-unstuffing done once", function()
    each("basic.txt", function(t)
      local p = assert(open(t))
      assert.same({ TOP = true, USER = true, UIDL = true, ["RESP-CODES"] = true,
        EXPIRE = "NEVER", SASL = { "PLAIN", "CRAM-MD5" }, IMPLEMENTATION = "lmail-test" },
        p.capabilities)
      assert.are.equal("POP3 server ready", p.greeting)
      assert.is_false(p.secure)
      assert.are.equal("AUTHORIZATION", p:state())
      assert.is_true(p:login("alice", "s3cret pass", "USER"))
      assert.are.equal("TRANSACTION", p:state())
      local n, size = p:stat()
      assert.are.equal(2, n)
      assert.are.equal(320, size)
      assert.same({ 120, 200 }, p:list())
      assert.are.equal(200, p:list(2))
      assert.same({ "whqtswO00WBw418f9t5JxYwZ", "QhdPYR:00WBw1Ph7x7" }, p:uidl())
      assert.are.equal("whqtswO00WBw418f9t5JxYwZ", p:uidl(1))
      assert.are.equal("Subject: one\r\n\r\n", p:top(1, 0))
      local c = collector()
      assert.is_true(p:retr(1, c.sink))
      assert.is_true(c.ended)
      assert.is_nil(c.err)
      assert.are.equal("Subject: one\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nx\r\n"
        .. "bare\nLF and bare\rCR\r\nlast line\r\n", c.text())
      assert.is_true(p:dele(1))
      assert.is_true(p:rset())
      assert.is_true(p:noop())
      assert.is_true(p:quit())
      assert.are.equal("CLOSED", p:state())
      assert.has_error(function() p:noop() end, "pop3:noop: the session is closed")
    end)
  end)

  it("returns a whole message as a string without a sink", function()
    local t = transcript.transport(F .. "basic.txt")
    local p = assert(open(t))
    assert(p:login("alice", "s3cret pass", "USER"))
    assert(p:stat())
    assert(p:list())
    assert(p:list(2))
    assert(p:uidl())
    assert(p:uidl(1))
    assert(p:top(1, 0))
    local m = assert(p:retr(1))
    assert.are.equal("Subject: one\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nx\r\n"
      .. "bare\nLF and bare\rCR\r\nlast line\r\n", m)
    p:close()
  end)

  it("drops the connection when a retr_many callback raises with RETRs outstanding", function()
    each("pipelined.txt", function(t)
      local p = assert(open(t, { pipeline = 2 }))
      assert(p:login("alice", "pw", "USER"))
      assert.has_error(function()
        p:retr_many({ 1, 2, 3 }, function() return function() return 1 end end,
          function() error("done failed", 0) end)
      end, "done failed")
      assert.is_true(t.closed)
      local ok, msg, code = p:noop()
      assert.is_nil(ok)
      assert.are.equal("ECLOSED", code)
      assert.matches("done callback raised", msg)
    end, { allow_unfinished = true })
  end)

  it("pipelines RETR and DELE batches when PIPELINING is advertised", function()
    each("pipelined.txt", function(t)
      local p = assert(open(t, { pipeline = 2 }))
      assert(p:login("alice", "pw", "USER"))
      local got, results = {}, {}
      assert.is_true(p:retr_many({ 1, 2, 3 }, function(n)
        local c = collector()
        got[n] = c
        return c.sink
      end, function(n, ok, msg, code, detail)
        results[#results + 1] = { n, ok, code, detail and detail.code }
        if not ok then assert.matches("busy", msg) end
        return true
      end))
      assert.are.equal("one\r\n", got[1].text())
      assert.are.equal("two\r\n", got[2].text())
      assert.is_nil(got[3])
      assert.same({ { 1, true }, { 2, true }, { 3, nil, "ETEMPFAIL", "SYS/TEMP" } }, results)
      local marked, refusals = p:dele_many({ 1, 2 })
      assert.are.equal(1, marked)
      assert.are.equal(1, #refusals)
      assert.are.equal(2, refusals[1].n)
      assert.are.equal("EREJECTED", refusals[1].code)
      assert.is_true(p:quit())
    end)
  end)

  it("sends one command at a time without PIPELINING", function()
    local script = [[
S: +OK
C: CAPA
S: -ERR
C: USER u
S: +OK
C: PASS p
S: +OK
C: RETR 1
S: +OK
S: a
S: .
C: RETR 2
S: +OK
S: b
S: .
C: DELE 1
S: +OK
C: DELE 2
S: +OK
]]
    each(script, function(t)
      local p = assert(open(t))
      assert.same({}, p.capabilities)
      assert(p:login("u", "p"))  -- no CAPA: USER is the fallback
      local n = 0
      assert(p:retr_many({ 1, 2 }, function() return function() return 1 end end,
        function() n = n + 1 return true end))
      assert.are.equal(2, n)
      assert.are.equal(2, p:dele_many({ 1, 2 }))
      p:close()
    end)
  end)

  describe("greeting", function()
    it("uses the APOP timestamp of the greeting (RFC 1939 7)", function()
      each("apop.txt", function(t)
        local p = assert(open(t))
        assert.same({}, p.capabilities)
        assert.is_true(p:login("mrose", "tanstaaf", "APOP"))
        assert.is_true(p:quit())
      end)
    end)

    it("refuses APOP without a timestamp: EPROTO, never PASS instead", function()
      each("greeting_plain.txt", function(t)
        local p = assert(open(t))
        local ok, msg, code = p:login("alice", "pw", "APOP")
        assert.is_nil(ok)
        assert.are.equal("EPROTO", code)
        assert.matches("no timestamp", msg)
        assert.are.equal("", t:output():match("CAPA\r\n(.*)$"))
        p:close()
      end)
    end)

    it("does not trust a hostile timestamp and never picks APOP for it", function()
      each("greeting_hostile.txt", function(t)
        local p = assert(open(t))
        local ok, msg, code = p:login("alice", "pw", "apop")
        assert.is_nil(ok)
        assert.are.equal("EPROTO", code)
        assert.matches("malformed timestamp", msg)
        p:close()
      end)
      local t = transcript.transport(F .. "greeting_hostile.txt")
      local p = assert(open(t))
      -- the best choice in the clear is CRAM-MD5 here, not APOP
      local ok = pcall(p.login, p, "alice", "pw")
      assert.is_false(ok) -- the script has no AUTH line: the memory transport raises
      assert.matches("AUTH CRAM%-MD5", t.failure)
      p:close()
    end)

    it("reports a refused greeting with its response code", function()
      each("greeting_err.txt", function(t)
        local p, msg, code, detail = open(t)
        assert.is_nil(p)
        assert.are.equal("ETEMPFAIL", code)
        assert.matches("too many connections", msg)
        assert.same({ status = "-ERR", code = "SYS/TEMP", stage = "greeting",
          text = "[SYS/TEMP] too many connections, try later" }, detail)
        assert.is_true(t.closed)
      end)
    end)
  end)

  describe("STLS", function()
    it("upgrades, forgets the old capabilities and reads them again over TLS", function()
      each("stls.txt", function(t)
        local calls = {}
        local p = assert(pop3.open{ transport = t, tls = "starttls",
          tls_upgrade = fake_tls.upgrade(calls) })
        assert.are.equal(1, calls.ok)
        assert.is_true(p.secure)
        assert.same({ USER = true, SASL = { "PLAIN" }, PIPELINING = true }, p.capabilities)
        -- TLS is on: no cleartext opt-in needed; PLAIN is the best choice
        assert.is_true(p:login("alice", "pw"))
        assert.is_true(p:quit())
      end)
    end)

    it("refuses a response injected after the go-ahead (before the handshake)", function()
      each("stls_injection.txt", function(t, label)
        local calls = {}
        local p, msg, code, detail = pop3.open{ transport = t, tls = "starttls",
          tls_upgrade = fake_tls.upgrade(calls) }
        assert.is_nil(p)
        if label == "whole" then
          -- the injected bytes came with the go-ahead: caught before TLS
          assert.are.equal("EPROTO", code)
          assert.matches("after the STLS go%-ahead", msg)
          assert.is_nil(calls.n)
        else
          -- or, when they come later, fed to the handshake, which fails:
          -- a failed STLS is ETLSREQUIRED, the handshake's code its cause
          assert.is_true(code == "EPROTO" or (code == "ETLSREQUIRED" and detail.cause == "ETLS"),
            code)
        end
        assert.is_nil(calls.ok)
        assert.is_true(t.closed)
        assert.matches("STLS\r\n$", t:output())
      end, { allow_unfinished = true })
    end)

    it("fails with ETLSREQUIRED when STLS is missing from CAPA (stripped)", function()
      each("stls_stripped.txt", function(t)
        local p, msg, code = pop3.open{ transport = t, tls = "starttls",
          tls_upgrade = fake_tls.upgrade() }
        assert.is_nil(p)
        assert.are.equal("ETLSREQUIRED", code)
        assert.matches("does not offer STLS", msg)
        assert.matches("CAPA\r\n$", t:output())
      end)
    end)

    it("fails with ETLSREQUIRED when STLS is refused", function()
      each("stls_refused.txt", function(t)
        local p, msg, code, detail = pop3.open{ transport = t, tls = "starttls",
          tls_upgrade = fake_tls.upgrade() }
        assert.is_nil(p)
        assert.are.equal("ETLSREQUIRED", code)
        assert.matches("not available right now", msg)
        assert.are.equal("STLS", detail.stage)
      end)
    end)
  end)

  describe("login", function()
    local function logs_in(file, user, pass, mech)
      each(file, function(t)
        local p = assert(open(t))
        local ok, msg = p:login(user, pass, mech)
        assert.is_true(ok, msg)
        assert.are.equal("TRANSACTION", p:state())
        p:close()
      end)
    end

    it("USER/PASS", function() logs_in("login_user.txt", "alice", "s3cret", "USER") end)
    it("APOP", function() logs_in("login_apop.txt", "mrose", "tanstaaf", "APOP") end)
    it("AUTH PLAIN with an initial response", function()
      logs_in("login_plain.txt", "alice", "s3cret", "PLAIN")
    end)
    it("AUTH LOGIN", function() logs_in("login_login.txt", "alice", "s3cret", "LOGIN") end)
    it("AUTH CRAM-MD5 (RFC 2195), the best choice in the clear", function()
      logs_in("login_cram.txt", "tim", "tanstaaftanstaaf")
    end)

    it("AUTH XOAUTH2, short and in two steps", function()
      each("login_xoauth2.txt", function(t)
        local p = assert(open(t))
        assert.is_true(p:login_oauth2("alice@example.test", "ya29.token"))
        p:close()
      end)
      each("login_xoauth2_long.txt", function(t)
        local p = assert(open(t))
        assert.is_true(p:login("alice@example.test", "ya29." .. ("A"):rep(300), "XOAUTH2"))
        p:close()
      end)
    end)

    it("AUTH XOAUTH2 refused: the JSON error is answered and reported", function()
      each("login_xoauth2_error.txt", function(t)
        local p = assert(open(t))
        local ok, msg, code, detail = p:login_oauth2("alice@example.test", "expired")
        assert.is_nil(ok)
        assert.are.equal("EAUTH", code)
        assert.matches('"status":"401"', msg)
        assert.matches('"status":"401"', detail.challenge)
        assert.are.equal("AUTH", detail.code)
        assert.not_matches("expired", msg)
        p:close()
      end)
    end)

    it("reports a refused password as EAUTH and allows another try", function()
      each("login_failed.txt", function(t)
        local p = assert(open(t))
        local ok, msg, code, detail = p:login("alice", "wrong", "USER")
        assert.is_nil(ok)
        assert.are.equal("EAUTH", code)
        assert.not_matches("wrong", msg)
        assert.are.equal("PASS", detail.stage)
        assert.are.equal("AUTH", detail.code)
        assert.is_true(p:login("alice", "s3cret", "USER"))
        p:close()
      end)
    end)

    it("reports a locked mailbox (IN-USE) as ETEMPFAIL", function()
      each("login_in_use.txt", function(t)
        local p = assert(open(t))
        local ok, _, code, detail = p:login("alice", "s3cret", "USER")
        assert.is_nil(ok)
        assert.are.equal("ETEMPFAIL", code)
        assert.are.equal("IN-USE", detail.code)
        p:close()
      end)
    end)

    it("never sends credentials in the clear without allow_cleartext_auth", function()
      for _, mech in ipairs({ false, "USER", "APOP", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2" }) do
        each("greeting_plain.txt", function(t)
          local p = assert(pop3.open{ transport = t, tls = "none" })
          local ok, msg, code = p:login("alice", "s3cret", mech or nil)
          assert.is_nil(ok)
          assert.are.equal("ETLSREQUIRED", code)
          assert.matches("allow_cleartext_auth", msg)
          assert.not_matches("s3cret", t:output())
          assert.matches("CAPA\r\n$", t:output())
          p:close()
        end, { random = 1 })
      end
    end)

    it("raises on misuse", function()
      local p = assert(open(memory.new("S: +OK\nC: CAPA\nS: -ERR\n")))
      assert.has_error(function() p:login(1, "x") end, "pop3:login: user must be a string")
      assert.has_error(function() p:login("u", "x", "SCRAM-SHA-1") end,
        "pop3:login: unsupported mechanism SCRAM-SHA-1")
      assert.has_error(function() p:stat() end)
      local ok, err = pcall(p.retr, p, 1)
      assert.is_false(ok)
      assert.matches("pop3:retr: .*AUTHORIZATION", err)
      assert.has_error(function() p:retr(0) end)
      assert.has_error(function() p:retr(1.5) end)
      assert.has_error(function() p:top(1, -1) end)
      assert.has_error(function() p:retr(1, "not a sink") end)
      local ok2, err2 = pcall(p.login, p, "a\r\nDELE 1", "x", "USER")
      assert.is_false(ok2)
      assert.matches("CR, LF or NUL", err2)
      p:close()
      assert.is_true(p:close())
      assert.has_error(function() p:noop() end, "pop3:noop: the session is closed")
    end)
  end)

  describe("hostile and broken responses", function()
    local function logged_in(t, extra)
      local p = assert(open(t, extra))
      assert(p:login("alice", "pw", "USER"))
      return p
    end

    it("drops the connection without QUIT when the sink raises, and re-raises", function()
      each("retr_sink_raises.txt", function(t)
        local p = logged_in(t)
        assert.is_true(p:dele(2))
        local calls = 0
        assert.has_error(function()
          p:retr(1, function(chunk)
            calls = calls + 1
            if chunk then error("disk full (from the sink)", 0) end
            return 1
          end)
        end, "disk full (from the sink)")
        assert.are.equal(1, calls)
        assert.is_true(t.closed)
        local ok, msg, code = p:noop()
        assert.is_nil(ok)
        assert.are.equal("ECLOSED", code)
        assert.matches("sink raised", msg)
        -- quit cannot commit the DELE now: nothing more is written
        local q, _, qcode = p:quit()
        assert.is_nil(q)
        assert.are.equal("ECLOSED", qcode)
      end, { allow_unfinished = true })
    end)

    it("treats a body cut by EOF as an error, never as a message", function()
      each("retr_unterminated.txt", function(t)
        local p = logged_in(t)
        local c = collector()
        local ok, msg, code = p:retr(1, c.sink)
        assert.is_nil(ok)
        assert.are.equal("ECLOSED", code)
        assert.matches("terminating", msg)
        assert.is_true(c.ended)
        assert.is_string(c.err) -- the sink hears of the failure
        assert.is_true(t.closed)
        local ok2, _, code2 = p:noop()
        assert.is_nil(ok2)
        assert.are.equal("ECLOSED", code2)
      end)
      each("retr_dot_lf.txt", function(t)
        local p = logged_in(t)
        local m, _, code = p:retr(1)
        assert.is_nil(m)
        assert.are.equal("ECLOSED", code)
      end)
    end)

    it("treats a body cut by a timeout as an error", function()
      each("retr_timeout.txt", function(t)
        local p = logged_in(t)
        local m, msg, code = p:retr(1)
        assert.is_nil(m)
        assert.are.equal("ETIMEDOUT", code)
        assert.matches("RETR 1", msg)
        assert.is_true(t.closed)
      end)
    end)

    it("refuses an overlong status line (max_line)", function()
      each("overlong_status.txt", function(t)
        local p = logged_in(t, { max_line = 128 })
        local ok, msg, code = p:noop()
        assert.is_nil(ok)
        assert.are.equal("ETOOLONG", code)
        assert.matches("max_line", msg)
      end, { allow_unfinished = true })
    end)

    it("stops an endless RETR at max_message_size", function()
      local steps = transcript.load(F .. "retr_unterminated.txt")
      for _ = 1, 3 do table.remove(steps) end -- keep up to "+OK 100 octets"
      local line = ("x"):rep(98) .. "\r\n"
      steps[#steps + 1] = { "read", line:rep(3000) } -- 300 KB, no end in sight
      transcript.each_split(steps, function(t)
        local p = logged_in(t, { max_message_size = 65536 })
        local c = collector()
        local ok, msg, code = p:retr(1, c.sink)
        assert.is_nil(ok)
        assert.are.equal("ETOOLONG", code)
        assert.matches("maximum message size", msg)
        assert.is_true(#c.text() <= 65536)
      end, { allow_unfinished = true, random = 2, max_chunk = 4096 })
    end)

    it("answers -ERR at each stage with EREJECTED/ETEMPFAIL and goes on", function()
      each("err_each_stage.txt", function(t)
        local p = logged_in(t)
        local function refused(code, stage, ...)
          local r = table.pack(...)
          assert.is_nil(r[1])
          assert.are.equal(code, r[3])
          assert.are.equal(stage, r[4].stage)
          assert.are.equal("-ERR", r[4].status)
        end
        refused("EREJECTED", "STAT", p:stat())
        refused("EREJECTED", "LIST", p:list())
        refused("EREJECTED", "LIST 9", p:list(9))
        refused("ETEMPFAIL", "UIDL", p:uidl())
        refused("EREJECTED", "UIDL 9", p:uidl(9))
        refused("EREJECTED", "TOP 9", p:top(9, 0))
        refused("EREJECTED", "RETR 9", p:retr(9))
        refused("EREJECTED", "DELE 9", p:dele(9))
        refused("EREJECTED", "RSET", p:rset())
        refused("EREJECTED", "NOOP", p:noop())
        assert.are.equal(0, p:stat())
        refused("EREJECTED", "QUIT", p:quit())
        assert.are.equal("CLOSED", p:state())
      end)
    end)

    local hostile = {
      { "list_repeat.txt", "list", "must increase" },
      { "list_zero.txt", "list", "must increase" },
      { "list_huge.txt", "list", "malformed LIST" },
      { "list_negative.txt", "list", "malformed LIST" },
      { "stat_huge.txt", "stat", "malformed STAT" },
      { "uidl_space.txt", "uidl", "invalid UID" },
      { "uidl_long.txt", "uidl", "invalid UID" },
      { "uidl_control.txt", "uidl", "invalid UID" },
      { "uidl_duplicate.txt", "uidl", "twice" },
      { "uidl_other.txt", "uidl", "another message", 2 },
    }
    for _, h in ipairs(hostile) do
      it("refuses " .. h[1]:gsub("%.txt$", ""):gsub("_", " ") .. " (EPROTO, connection dropped)",
        function()
          each(h[1], function(t)
            local p = logged_in(t)
            local r, msg, code = p[h[2]](p, h[4])
            assert.is_nil(r)
            assert.are.equal("EPROTO", code)
            assert.matches(h[3], msg)
            assert.is_true(t.closed)
            local r2, _, code2 = p:noop()
            assert.is_nil(r2)
            assert.are.equal("ECLOSED", code2)
          end, { allow_unfinished = true })
        end)
    end
  end)

  it("streams a 1 GiB message in bounded memory", function()
    local total = (os.getenv("LMAIL_VALGRIND") and 32 or 1024) * 1048576
    local line = ("0123456789abcdef"):rep(4):sub(1, 62) .. "\r\n"
    local chunk = line:rep(1024) -- 64 KiB
    -- a transport that plays the dialogue, then the body, generated
    local script = memory.parse("S: +OK\nC: CAPA\nS: -ERR\nC: USER u\nS: +OK\nC: PASS p\nS: +OK\n"
      .. "C: RETR 1\nS: +OK\n")
    local t = memory.new(script)
    local sent, tail = 0, ".\r\n"
    local inner_receive = t.receive
    t.receive = function(self, max)
      if self:current() then return inner_receive(self, max) end
      if sent < total then
        sent = sent + #chunk
        return chunk
      end
      if tail then
        local s = tail
        tail = nil
        return s
      end
      return nil, "closed", "ECLOSED"
    end
    local p = assert(open(t))
    assert(p:login("u", "p", "USER"))
    local got, peak = 0, 0
    collectgarbage()
    local base = collectgarbage("count")
    assert.is_true(p:retr(1, function(c)
      if c then
        got = got + #c
        if got % (64 * 1048576) < #c then
          local kb = collectgarbage("count") - base
          if kb > peak then peak = kb end
        end
      end
      return 1
    end))
    assert.are.equal(total, got)
    assert.is_true(peak < 32 * 1024, "Lua heap grew by " .. peak .. " KiB")
    p:close()
  end)
end)
