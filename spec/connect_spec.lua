-- lmail.connect: option checks and the port-to-TLS-mode rule shared by
-- smtp.open and pop3.open.
local connect = require "lmail.connect"
local memory = require "lmail.transport.memory"

local SMTP = { name = "smtp.open", default_port = 587, tls_port = 465, plain_port = 587 }
local POP3 = { name = "pop3.open", default_port = 995, tls_port = 995, plain_port = 110 }

describe("lmail.connect", function()
  it("lets the port decide the TLS mode when tls is not given", function()
    assert.are.equal("starttls", connect.settings({ host = "h" }, SMTP).tls)
    assert.are.equal(587, connect.settings({ host = "h" }, SMTP).port)
    assert.are.equal("tls", connect.settings({ host = "h", port = 465 }, SMTP).tls)
    assert.are.equal("starttls", connect.settings({ host = "h", port = 25 }, SMTP).tls)
    assert.are.equal("tls", connect.settings({ host = "h" }, POP3).tls)
    assert.are.equal(995, connect.settings({ host = "h" }, POP3).port)
    assert.are.equal("starttls", connect.settings({ host = "h", port = 110 }, POP3).tls)
  end)

  it("lets tls decide the default port", function()
    assert.are.equal(465, connect.settings({ host = "h", tls = "tls" }, SMTP).port)
    assert.are.equal(587, connect.settings({ host = "h", tls = "none" }, SMTP).port)
    assert.are.equal(110, connect.settings({ host = "h", tls = "starttls" }, POP3).port)
  end)

  it("verifies by default and names the host for the certificate check", function()
    local s = connect.settings({ host = "mail.example.test" }, SMTP)
    assert.is_false(s.tls_opts.insecure)
    assert.are.equal("mail.example.test", s.tls_opts.host)
    assert.are.equal(30, s.timeout)
  end)

  it("raises on misuse, naming the function", function()
    local bad = {
      { host = 1 }, { host = "h", port = 0 }, { host = "h", port = 1.5 },
      { host = "h", tls = "ssl" }, { host = "h", timeout = -1 }, { host = "h", insecure = "yes" },
      {},
    }
    for _, o in ipairs(bad) do
      local ok, err = pcall(connect.settings, o, SMTP)
      assert.is_false(ok)
      assert.matches("smtp%.open: ", err)
    end
  end)

  it("uses a transport the caller supplies", function()
    local t = memory.new({})
    local s = connect.settings({ transport = t, tls = "none" }, SMTP)
    assert.are.equal(t, connect.open(s))
  end)

  it("reports a refused connection as a value", function()
    local s = connect.settings({ host = "127.0.0.1", port = 1, tls = "none", timeout = 5 }, SMTP)
    local t, msg, code = connect.open(s)
    assert.is_nil(t)
    assert.is_string(msg)
    assert.are.equal("ECONNREFUSED", code)
  end)
end)
