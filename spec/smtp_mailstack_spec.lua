-- lmail.smtp against the real Postfix + Dovecot of spec/support/mailstack.sh
-- (started on demand; these specs never skip). Delivery is checked in the
-- Maildirs, byte for byte.
local smtp = require "lmail.smtp"
local stream = require "lmail.stream"
local mailstack = require "spec.support.mailstack"

local env = mailstack.up()
local HOST = "127.0.0.1"

local function read(path)
  return assert(require("spec.support.files").read(path))
end

local function sleep(s)
  os.execute("env -u LD_PRELOAD sleep " .. s)
end

-- Waits (up to 30 s: Postfix delivers asynchronously) until `count`
-- messages in maildir contain marker; returns their contents.
local function delivered(maildir, marker, count)
  count = count or 1
  local found
  for _ = 1, 300 do
    found = {}
    for _, p in ipairs(mailstack.maildir_files(maildir)) do
      local s = read(p)
      if s:find(marker, 1, true) then found[#found + 1] = s end
    end
    if #found >= count then return found end
    sleep(0.1)
  end
  error(("only %d of %d messages with %s arrived in %s"):format(#found, count, marker, maildir))
end

local seq = 0
local function marker()
  seq = seq + 1
  return ("lmail-spec-%d-%d-%d"):format(os.time(), math.random(1e9), seq)
end

local function message(id, body)
  return table.concat({
    "From: Alice <" .. env.ALICE_ADDR .. ">",
    "To: Bob <" .. env.BOB_ADDR .. ">",
    "Subject: " .. id,
    "Message-ID: <" .. id .. "@example.test>",
    "Date: Wed, 02 Dec 2026 08:00:00 +0000",
    "",
    body or "hello from lmail",
    "",
  }, "\r\n")
end

local function submission(extra)
  local o = { host = HOST, port = env.SUBMISSION_PORT, cafile = env.CAFILE, timeout = 20 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return smtp.open(o)
end

-- The delivered file ends with the message as sent (Dovecot stores LF
-- line ends); what comes before is the headers the servers added.
local function assert_tail(file, msg)
  local want = msg:gsub("\r\n", "\n")
  assert.are.equal(want, file:sub(-#want))
  assert.matches("^Return%-Path: ", file)
end

describe("smtp against Postfix (submission, STARTTLS)", function()
  for _, mech in ipairs({ "PLAIN", "LOGIN", "CRAM-MD5" }) do
    it("logs in with " .. mech .. " after STARTTLS and delivers", function()
      local s = assert(submission())
      assert.is_true(s.secure)
      assert.is_table(s.capabilities.AUTH)
      assert.is_true(s:login(env.ALICE_USER, env.ALICE_PASS, mech))
      local id = marker()
      local r = assert(s:send{ from = env.ALICE_ADDR, to = env.BOB_ADDR, message = message(id) })
      assert.are.equal(250, r.code)
      assert.are.same({ env.BOB_ADDR }, r.accepted)
      assert.is_true(s:quit())
      assert_tail(delivered(env.BOB_MAILDIR, id)[1], message(id))
    end)
  end

  it("picks the strongest mechanism by itself (CRAM-MD5 here)", function()
    local lines = {}
    local s = assert(submission{ trace = function(d, l) lines[#lines + 1] = d .. " " .. l end })
    assert.is_true(s:login(env.ALICE_USER, env.ALICE_PASS))
    s:quit()
    local all = table.concat(lines, "\n")
    assert.matches("235", all)
    assert.is_nil(all:find(env.ALICE_PASS, 1, true))
  end)

  it("reports a wrong password as EAUTH without the password in the message", function()
    local s = assert(submission())
    local ok, msg, code, d = s:login(env.ALICE_USER, "wrong-" .. env.ALICE_PASS)
    assert.is_nil(ok)
    assert.are.equal("EAUTH", code)
    assert.are.equal(535, d.code)
    assert.is_nil(msg:find("wrong-", 1, true))
    s:quit()
  end)

  it("reports an unknown recipient per recipient and delivers to the others", function()
    local s = assert(submission())
    assert(s:login(env.ALICE_USER, env.ALICE_PASS))
    local id = marker()
    local r = assert(s:send{ from = env.ALICE_ADDR, message = message(id),
      to = { env.BOB_ADDR, "nobody@example.test", env.ALICE_ADDR } })
    assert.are.same({ env.BOB_ADDR, env.ALICE_ADDR }, r.accepted)
    assert.are.equal(1, #r.rejected)
    assert.are.equal("nobody@example.test", r.rejected[1].addr)
    assert.are.equal(550, r.rejected[1].code)
    assert.are.equal("5.1.1", r.rejected[1].enhanced)
    delivered(env.BOB_MAILDIR, id)
    delivered(env.ALICE_MAILDIR, id)
    -- all refused: EREJECTED with the detail, and the session goes on
    local r2, _, code, d = s:send{ from = env.ALICE_ADDR, to = "nobody@example.test",
                                   message = message(marker()) }
    assert.is_nil(r2)
    assert.are.equal("EREJECTED", code)
    assert.are.equal("RCPT", d.stage)
    assert.is_true(s:noop())
    s:quit()
  end)

  it("delivers a multipart message with an attachment byte-identical", function()
    local id = marker()
    local att = {}
    for i = 0, 255 do att[#att + 1] = string.char(i) end
    att = table.concat(att):rep(40)
    local b64 = require("lmail.mime").b64encode(att)
    local msg = table.concat({
      "From: " .. env.ALICE_ADDR, "To: " .. env.BOB_ADDR, "Subject: attachment " .. id,
      "Message-ID: <" .. id .. "@example.test>", "MIME-Version: 1.0",
      "Date: Wed, 02 Dec 2026 08:00:00 +0000",
      'Content-Type: multipart/mixed; boundary="=_b"', "",
      "--=_b", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
      "Grüße, see the attachment.", ".a line starting with a dot", "",
      "--=_b", "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64",
      'Content-Disposition: attachment; filename="bytes.bin"', "",
      b64 .. "--=_b--", "",
    }, "\r\n")
    local s = assert(submission())
    assert(s:login(env.ALICE_USER, env.ALICE_PASS))
    assert(s:send{ from = env.ALICE_ADDR, to = env.BOB_ADDR, message = msg })
    s:quit()
    local file = delivered(env.BOB_MAILDIR, id)[1]
    assert_tail(file, msg)
    local got = file:match("filename=\"bytes.bin\"\n\n(.-)%-%-=_b%-%-")
    assert.are.equal(att, require("lmail.mime").b64decode(got))
  end)

  it("sends 100 messages on one connection", function()
    local s = assert(submission())
    assert(s:login(env.ALICE_USER, env.ALICE_PASS))
    local id = marker()
    for i = 1, 100 do
      local r = assert(s:send{ from = env.ALICE_ADDR, to = env.BOB_ADDR,
                               message = message(id .. "-" .. i, "message " .. i) })
      assert.are.equal(250, r.code)
    end
    s:quit()
    assert.are.equal(100, #delivered(env.BOB_MAILDIR, id, 100))
  end)

  it("sends with DATA (chunking = false) and without pipelining, streaming a file", function()
    local id = marker()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    local lines = { message(id, "start") }
    for i = 1, 20000 do lines[#lines + 1] = (i % 7 == 0 and "." or "") .. "line " .. i .. "\n" end
    local body = table.concat(lines)
    f:write(body)
    f:close()
    for _, o in ipairs({ { chunking = false }, { pipelining = false },
                         { chunking = false, pipelining = false } }) do
      local s = assert(submission(o))
      assert(s:login(env.ALICE_USER, env.ALICE_PASS))
      local r = assert(s:send{ from = env.ALICE_ADDR, to = env.BOB_ADDR,
        message = stream.source_file(assert(io.open(path, "rb")), 4096) })
      assert.are.equal(250, r.code)
      s:quit()
    end
    os.remove(path)
    for _, file in ipairs(delivered(env.BOB_MAILDIR, id, 3)) do
      assert_tail(file, (body:gsub("\r?\n", "\r\n")))
    end
  end)

  it("sends BODY=8BITMIME and DSN parameters Postfix accepts", function()
    local id = marker()
    local msg = message(id, "caf\xc3\xa9 cr\xc3\xa8me")
    local s = assert(submission())
    assert(s:login(env.ALICE_USER, env.ALICE_PASS))
    local r = assert(s:send{ from = env.ALICE_ADDR, message = msg,
      to = { { addr = env.BOB_ADDR, notify = "NEVER", orcpt = true } },
      dsn = { ret = "HDRS", envid = "env id+" .. id } })
    assert.are.equal(250, r.code)
    s:quit()
    assert_tail(delivered(env.BOB_MAILDIR, id)[1], msg)
  end)

  it("refuses to send a password when TLS cannot be had", function()
    -- the plain port offers STARTTLS; tls = "none" skips it
    local s = assert(smtp.open{ host = HOST, port = env.SMTP_PORT, tls = "none", timeout = 20 })
    assert.is_false(s.secure)
    local ok, _, code = s:login(env.ALICE_USER, env.ALICE_PASS)
    assert.is_nil(ok)
    assert.are.equal("ETLSREQUIRED", code)
    -- no AUTH needed there for local recipients
    local id = marker()
    assert(s:send{ from = "someone@example.test", to = env.BOB_ADDR, message = message(id) })
    s:quit()
    delivered(env.BOB_MAILDIR, id)
  end)

  it("verifies the certificate: an unknown CA fails the STARTTLS handshake", function()
    local s, msg, code, d = smtp.open{ host = HOST, port = env.SUBMISSION_PORT, timeout = 20 }
    assert.is_nil(s)
    assert.are.equal("ETLSREQUIRED", code)
    assert.are.equal("ECERT", d.cause)
    assert.matches("STARTTLS handshake failed", msg)
  end)
end)

describe("smtp against Postfix (submissions, implicit TLS)", function()
  it("logs in and delivers over implicit TLS on the submissions port", function()
    local s = assert(smtp.open{ host = HOST, port = env.SUBMISSIONS_PORT, tls = "tls",
                                cafile = env.CAFILE, timeout = 20 })
    assert.is_true(s.secure)
    assert.is_nil(s.capabilities.STARTTLS)
    assert.is_true(s:login(env.ALICE_USER, env.ALICE_PASS))
    local id = marker()
    assert(s:send{ from = env.ALICE_ADDR, to = env.BOB_ADDR, message = message(id) })
    assert.is_true(s:quit())
    delivered(env.BOB_MAILDIR, id)
  end)

  it("fails with ECERT for an unknown CA", function()
    local s, _, code = smtp.open{ host = HOST, port = env.SUBMISSIONS_PORT, tls = "tls",
                                  timeout = 20 }
    assert.is_nil(s)
    assert.are.equal("ECERT", code)
  end)
end)
