-- lmail.pop3 and lmail.fetch against the real Dovecot of the project's mail
-- stack (spec/support/mailstack.sh, started on demand, never skipped):
-- every login path, STLS and POP3S with certificate checks, the client's
-- own TLS-before-credentials rule (Dovecot accepts plaintext from
-- 127.0.0.1), and 1,000 messages delivered by Postfix fetched back into a
-- Maildir byte for byte.
local pop3 = require "lmail.pop3"
local lmail = require "lmail"
local md5 = require "lmail.md5"
local mailstack = require "spec.support.mailstack"
local mail = require "spec.support.pop3_mail"
local util = require "spec.support.pop3_util"

local env

local function open(extra)
  local o = { host = "127.0.0.1", port = env.POP3_PORT, tls = "starttls", cafile = env.CAFILE,
    timeout = 30 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return pop3.open(o)
end

local function message(i, size)
  local lines = { "From: Sender <sender@example.test>", "To: alice@example.test",
    ("Subject: message %d"):format(i), ("Message-ID: <m%d.lmail@example.test>"):format(i), "" }
  local body = { ".a line that starts with a dot", ".", ".." }
  local n = 0
  while n < (size or 2000) do
    local l = ("%d:%d %s"):format(i, #body, ("abcdefghij"):rep(6))
    body[#body + 1] = l
    n = n + #l + 2
  end
  return table.concat(lines, "\r\n") .. "\r\n" .. table.concat(body, "\r\n") .. "\r\n"
end

describe("lmail.pop3 with Dovecot", function()
  setup(function()
    env = mailstack.up()
    mail.empty(env, env.ALICE_USER, env.ALICE_PASS)
    mail.deliver(env, env.ALICE_ADDR, { message(1), message(2) })
    mail.wait(env, env.ALICE_MAILDIR, 2)
  end)

  it("logs in with USER/PASS after STLS and reads the mailbox", function()
    local p = assert(open())
    assert.is_true(p.secure)
    assert.is_true(p.capabilities.UIDL)
    assert.is_true(p.capabilities.PIPELINING)
    assert.is_nil(p.capabilities.STLS) -- not offered again over TLS
    assert.is_true(p:login(env.ALICE_USER, env.ALICE_PASS, "USER"))
    local count, octets = p:stat()
    assert.are.equal(2, count)
    local sizes = assert(p:list())
    assert.are.equal(octets, sizes[1] + sizes[2])
    assert.are.equal(sizes[2], p:list(2))
    local uids = assert(p:uidl())
    assert.are.equal(uids[1], p:uidl(1))
    local served = mail.served(env, env.ALICE_USER, env.ALICE_PASS)
    local m = assert(p:retr(1))
    assert.are.equal(served[uids[1]].md5, md5.hex(m))
    assert.are.equal(sizes[1], #m)
    local top = assert(p:top(2, 0))
    assert.matches("Subject: message 2\r\n", top)
    assert.is_true(m:find("\r\n\r\n.a line that starts with a dot\r\n.\r\n..\r\n", 1, true) ~= nil)
    assert.is_true(p:noop())
    assert.is_true(p:dele(1))
    assert.is_true(p:rset())
    assert.is_true(p:quit())
  end)

  it("logs in over POP3S (implicit TLS) with AUTH PLAIN, CRAM-MD5, LOGIN and APOP", function()
    for _, mech in ipairs({ "PLAIN", "CRAM-MD5", "LOGIN", "APOP", false }) do
      local p = assert(open({ port = env.POP3S_PORT, tls = "tls" }))
      assert.is_true(p.secure)
      local ok, msg = p:login(env.ALICE_USER, env.ALICE_PASS, mech or nil)
      assert.is_true(ok, tostring(mech) .. ": " .. tostring(msg))
      assert.are.equal(2, p:stat())
      assert.is_true(p:quit())
    end
  end)

  it("uses APOP and CRAM-MD5 in the clear only with allow_cleartext_auth", function()
    for _, mech in ipairs({ "APOP", "CRAM-MD5" }) do
      local p = assert(open({ tls = "none" }))
      assert.is_false(p.secure)
      local ok, msg, code = p:login(env.ALICE_USER, env.ALICE_PASS, mech)
      assert.is_nil(ok)
      assert.are.equal("ETLSREQUIRED", code, msg)
      p:close()
      p = assert(open({ tls = "none", allow_cleartext_auth = true }))
      assert.is_true(p:login(env.ALICE_USER, env.ALICE_PASS, mech))
      assert.is_true(p:quit())
    end
  end)

  it("refuses plaintext credentials although Dovecot would take them on loopback", function()
    local p = assert(open({ tls = "none" }))
    for _, mech in ipairs({ "USER", "PLAIN", "LOGIN" }) do
      local ok, _, code = p:login(env.ALICE_USER, env.ALICE_PASS, mech)
      assert.is_nil(ok)
      assert.are.equal("ETLSREQUIRED", code)
    end
    p:close()
  end)

  it("reports a wrong password as EAUTH without the password", function()
    local p = assert(open())
    local ok, msg, code, detail = p:login(env.ALICE_USER, "not-the-password", "PLAIN")
    assert.is_nil(ok)
    assert.are.equal("EAUTH", code)
    assert.not_matches("not%-the%-password", msg)
    assert.are.equal("AUTH", detail.code) -- Dovecot's [AUTH] response code
    assert.is_true(p:login(env.ALICE_USER, env.ALICE_PASS))
    p:close()
  end)

  it("verifies the certificate (ECERT; after STLS: ETLSREQUIRED, cause ECERT)", function()
    -- the system trust store does not know the stack's throwaway CA
    local p, msg, code, detail = pop3.open{ host = "127.0.0.1", port = env.POP3S_PORT, tls = "tls",
      timeout = 30 }
    assert.is_nil(p)
    assert.are.equal("ECERT", code, msg)
    assert.is_string(detail.reason)
    p, msg, code, detail = pop3.open{ host = "127.0.0.1", port = env.POP3_PORT, tls = "starttls",
      timeout = 30 }
    assert.is_nil(p)
    assert.are.equal("ETLSREQUIRED", code, msg)
    assert.are.equal("ECERT", detail.cause)
    assert.is_string(detail.reason)
  end)

  it("drops the connection on close without QUIT: nothing is deleted", function()
    local p = assert(open())
    assert(p:login(env.ALICE_USER, env.ALICE_PASS))
    assert.is_true(p:dele(1))
    assert.is_true(p:dele(2))
    p:close()
    p = assert(open())
    assert(p:login(env.ALICE_USER, env.ALICE_PASS))
    assert.are.equal(2, p:stat())
    assert.is_true(p:quit())
  end)
end)

describe("lmail.fetch with Postfix and Dovecot", function()
  local dir

  setup(function()
    env = mailstack.up()
    dir = util.tmpdir("fetch-dovecot")
  end)
  teardown(function()
    if dir then util.rmtree(dir) end
  end)

  it("fetches 1,000 messages delivered by Postfix byte for byte, then empties the mailbox",
    function()
      mail.empty(env, env.ALICE_USER, env.ALICE_PASS)
      local msgs = {}
      for i = 1, 1000 do msgs[i] = message(i, 1000 + (i * 37) % 3000) end
      mail.deliver(env, env.ALICE_ADDR, msgs)
      mail.wait(env, env.ALICE_MAILDIR, 1000, 300)
      -- what Dovecot serves, seen by another client
      local served = mail.served(env, env.ALICE_USER, env.ALICE_PASS)
      local want = {}
      local n = 0
      for _, v in pairs(served) do
        want[v.md5] = (want[v.md5] or 0) + 1
        n = n + 1
      end
      assert.are.equal(1000, n)
      local opts = { host = "127.0.0.1", port = env.POP3S_PORT, cafile = env.CAFILE,
        user = env.ALICE_USER, password = env.ALICE_PASS, maildir = dir .. "/Maildir",
        tls = "tls" }
      local ticks = 0
      opts.progress = function(done, total)
        ticks = ticks + 1
        assert(done == ticks and total == 1000)
      end
      local r, msg = lmail.fetch(opts)
      assert(r, msg)
      assert.are.equal(1000, r.fetched)
      assert.are.equal(0, r.skipped)
      assert.are.equal(1000, ticks)
      local saved, tmp = util.maildir_messages(dir .. "/Maildir")
      assert.are.equal(1000, #saved)
      assert.are.equal(0, tmp)
      local got = {}
      for _, m in ipairs(saved) do
        local h = md5.hex(m)
        got[h] = (got[h] or 0) + 1
      end
      assert.same(want, got)
      -- a second run fetches nothing
      opts.progress = nil
      r = assert(lmail.fetch(opts))
      assert.are.equal(0, r.fetched)
      assert.are.equal(1000, r.skipped)
      -- delete = true removes what is on disk; the mailbox ends empty
      opts.delete = true
      r = assert(lmail.fetch(opts))
      assert.are.equal(0, r.fetched)
      assert.are.equal(1000, r.deleted)
      local p = assert(open())
      assert(p:login(env.ALICE_USER, env.ALICE_PASS))
      assert.are.equal(0, p:stat())
      assert.is_true(p:quit())
      assert.are.equal(1000, #util.maildir_messages(dir .. "/Maildir"))
      r = assert(lmail.fetch(opts))
      assert.are.equal(0, r.fetched + r.skipped + r.deleted)
    end)
end)
