-- lmail.send, the one-call send, against the real Postfix + Dovecot of
-- spec/support/mailstack.sh (started on demand; never skipped).
local lmail = require "lmail"
local md5 = require "lmail.md5"
local mime = require "lmail.mime"
local crypto = require "lmail.crypto"
local mailstack = require "spec.support.mailstack"

local env = mailstack.up()

local function marker()
  return "lmail-send-" .. crypto.random_code(12)
end

local function base(extra)
  local o = { host = "localhost", port = env.SUBMISSION_PORT, cafile = env.CAFILE,
              user = env.ALICE_USER, password = env.ALICE_PASS, timeout = 20,
              from = "Alice <" .. env.ALICE_ADDR .. ">" }
  for k, v in pairs(extra) do o[k] = v end
  return o
end

describe("lmail.send", function()
  it("builds and sends text + HTML + a binary attachment over STARTTLS with CRAM-MD5",
    function()
      local id = marker()
      local data = assert(crypto.random_bytes(100000))
      local path = os.tmpname()
      local fh = assert(io.open(path, "wb"))
      fh:write(data)
      fh:close()
      finally(function() os.remove(path) end)
      local r = assert(lmail.send(base{
        mechanism = "CRAM-MD5", to = { "Bob <" .. env.BOB_ADDR .. ">" },
        subject = id .. " Grüße 验证码", text = "plain " .. id, html = "<p>html " .. id .. "</p>",
        attachments = { { path = path, filename = "数据.bin" } },
      }))
      assert.are.same({ env.BOB_ADDR }, r.accepted)
      assert.are.equal(250, r.code)
      local got = mailstack.wait_delivered(env.BOB_MAILDIR, id)[1]
      local m = assert(mime.parse(got))
      assert.are.equal(id .. " Grüße 验证码", m:header("Subject"))
      assert.truthy(m:text():find("plain " .. id, 1, true))
      assert.truthy(m:html():find("html " .. id, 1, true))
      local atts = m:attachments()
      assert.are.equal(1, #atts)
      assert.are.equal("数据.bin", atts[1].filename)
      assert.are.equal(md5.hex(data), md5.hex(atts[1]:content()))
    end)

  it("keeps Bcc out of the header but delivers to it", function()
    local id = marker()
    assert(lmail.send(base{ to = env.BOB_ADDR, bcc = env.ALICE_ADDR, subject = id,
                            text = "x" }))
    local got = mailstack.wait_delivered(env.ALICE_MAILDIR, id)[1]
    assert.is_nil(got:find("\nBcc:", 1, true))
    mailstack.wait_delivered(env.BOB_MAILDIR, id)
  end)

  it("sends a prebuilt message string with an explicit envelope", function()
    local id = marker()
    local raw = "From: " .. env.ALICE_ADDR .. "\r\nTo: " .. env.BOB_ADDR .. "\r\nSubject: " .. id
      .. "\r\n\r\nbody\r\n"
    local r = assert(lmail.send(base{ to = env.BOB_ADDR, message = raw }))
    assert.are.same({ env.BOB_ADDR }, r.accepted)
    mailstack.wait_delivered(env.BOB_MAILDIR, id)
  end)

  it("reports refused recipients and delivers to the rest", function()
    local id = marker()
    local r = assert(lmail.send(base{ to = { env.BOB_ADDR, "nobody@example.test" },
                                      subject = id, text = "x" }))
    assert.are.same({ env.BOB_ADDR }, r.accepted)
    assert.are.equal("nobody@example.test", r.rejected[1].addr)
    assert.are.equal(550, r.rejected[1].code)
  end)

  it("returns EAUTH for a wrong password, without the password in the message", function()
    local r, msg, code = lmail.send(base{ password = "wrong-Pa55word", to = env.BOB_ADDR,
                                          subject = "x", text = "x" })
    assert.is_nil(r)
    assert.are.equal("EAUTH", code)
    assert.is_nil(msg:find("wrong-Pa55word", 1, true))
  end)

  it("refuses to send credentials without TLS unless allowed", function()
    local r, _, code = lmail.send(base{ port = env.SMTP_PORT, tls = "none", to = env.BOB_ADDR,
                                        subject = "x", text = "x" })
    assert.is_nil(r)
    assert.is_truthy(code == "ETLSREQUIRED" or code == "EAUTH")
  end)

  it("verifies the server certificate: the system store does not know the test CA", function()
    local o = base{ to = env.BOB_ADDR, subject = "x", text = "x" }
    o.cafile = nil
    local r, _, code, detail = lmail.send(o)
    assert.is_nil(r)
    assert.are.equal("ETLSREQUIRED", code)   -- STARTTLS failed (docs/smtp.md)
    assert.are.equal("ECERT", detail.cause)
  end)

  it("raises on misuse", function()
    assert.has_error(function() lmail.send("x") end)
    assert.has_error(function() lmail.send(base{ from = false, to = env.BOB_ADDR, text = "" }) end)
  end)
end)
