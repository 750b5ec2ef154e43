-- lmail.smtp against a scripted hostile server over real TCP
-- (spec/support/smtp_hostile.py): deadlines against a dripping server,
-- endless replies, STARTTLS response injection in the same and in a later
-- segment, a server that stops answering.
local smtp = require "lmail.smtp"
local tcp = require "lmail.transport.tcp"
local proc = require "spec.support.proc"

local function hostile(mode)
  local p = proc.start({ "python3", "spec/support/smtp_hostile.py", mode }, { limit = 60 })
  local port = tonumber(p:line())
  assert(port, "smtp_hostile.py did not start")
  return p, port
end

local function open(port, extra)
  local o = { host = "127.0.0.1", port = port, tls = "none", helo = "client.test", timeout = 1 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return smtp.open(o)
end

describe("smtp against a hostile server", function()
  it("bounds a dripping greeting by the deadline, not an idle timer", function()
    local p, port = hostile("drip")
    local t0 = tcp.now()
    local s, msg, code = open(port)
    local elapsed = tcp.now() - t0
    p:stop()
    assert.is_nil(s)
    assert.are.equal("ETIMEDOUT", code)
    assert.is_string(msg)
    -- the greeting keeps coming (a byte every 0.3 s); only a deadline stops it
    assert.is_true(elapsed < 10, "took " .. elapsed .. " s")
  end)

  it("stops an endless multi-line reply at the line limit", function()
    local p, port = hostile("endless")
    local s, _, code = open(port, { timeout = 10 })
    p:stop()
    assert.is_nil(s)
    assert.are.equal("ETOOLONG", code)
  end)

  it("refuses a reply injected with the STARTTLS go-ahead (same segment)", function()
    local p, port = hostile("inject-same")
    local s, msg, code = open(port, { tls = "starttls", host = "127.0.0.1", insecure = true,
                                      timeout = 5 })
    p:stop()
    assert.is_nil(s)
    assert.are.equal("EPROTO", code)
    assert.matches("injection", msg)
  end)

  it("never reads a later injected plaintext reply as part of the TLS session", function()
    local p, port = hostile("inject-late")
    local s, _, code, d = open(port, { tls = "starttls", host = "127.0.0.1", insecure = true,
                                       timeout = 5 })
    p:stop()
    assert.is_nil(s)
    assert.are.equal("ETLSREQUIRED", code)
    assert.are.equal("ETLS", d.cause)
  end)

  it("times out a server that stops answering, then refuses reuse", function()
    local p, port = hostile("blackhole")
    local s = assert(open(port))
    local r, _, code = s:send{ from = "a@example.test", to = "b@example.test", message = "x" }
    assert.is_nil(r)
    assert.are.equal("ETIMEDOUT", code)
    local r2, _, code2 = s:noop()
    assert.is_nil(r2)
    assert.are.equal("ECLOSED", code2)
    s:close()
    p:stop()
  end)
end)
