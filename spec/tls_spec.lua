-- spec/tls_spec.lua: lmail.tls against a real, independent TLS server
-- (`openssl s_server` on 127.0.0.1, started per test, stopped by PID) with a
-- test PKI made by `openssl` at run time (spec/support/certs.lua).
local tls = require "lmail.tls"
local tcp = require "lmail.transport.tcp"
local core = require "lmail.core"
local certs = require "spec.support.certs"
local tls_server = require "spec.support.tls_server"
local proc = require "spec.support.proc"

local function connect(port)
  return assert(tcp.connect("127.0.0.1", port, { timeout = 10 }))
end

-- Reads from t until `n` bytes arrived (or a failure).
local function read_n(t, n)
  local parts, got = {}, 0
  while got < n do
    local s, msg, code = t:receive(n - got)
    if not s then return nil, msg, code end
    parts[#parts + 1] = s
    got = got + #s
  end
  return table.concat(parts)
end

-- A TCP peer that accepts and never says a word.
local function silent_server()
  return proc.start({ "env", "-u", "LD_PRELOAD", "python3", "spec/support/fakeserver.py",
                      "silent" }, { limit = 30 })
end

local servers = {}
local function serve(opts)
  local srv = tls_server.start(opts)
  servers[#servers + 1] = srv
  return srv
end

after_each(function()
  for i = #servers, 1, -1 do
    servers[i]:stop()
    servers[i] = nil
  end
end)

teardown(function() certs.cleanup() end)

describe("tls.wrap over tcp", function()
  it("verifies a valid chain with cafile and round-trips data", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev" }
    local t, msg, code = tls.wrap(connect(srv.port),
                                  { host = "localhost", cafile = certs.ca, timeout = 10 })
    assert.is_nil(msg, code)
    assert.are.equal(6, t:send("hello\n"))
    assert.are.equal("olleh\n", read_n(t, 6))
    assert.are.equal(12, t:send("second line\n"))
    assert.are.equal("enil dnoces\n", read_n(t, 12))
    local info = t:info()
    assert.are.equal("TLSv1.3", info.protocol)
    assert.are.equal("CN=localhost", info.subject)
    assert.are.equal("CN=lmail test CA", info.issuer)
    assert.is_true(info.verified)
    assert.is_truthy(#info.cipher > 0)
    assert.same({ "127.0.0.1", 4 }, { t:local_address() })
    assert.is_false(t:isclosed())
    assert.is_true(t:close())
    assert.is_true(t:close())
    assert.is_true(t:isclosed())
  end)

  it("verifies 127.0.0.1 against the IP SAN (and sends no SNI for it)", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev",
                        extra = { "-servername", "localhost", "-cert2", certs.wrong_host.cert,
                                  "-key2", certs.wrong_host.key } }
    -- With SNI "localhost" s_server would present cert2 (wrong.example) and
    -- verification would fail; the good cert proves no SNI was sent.
    local t, msg = tls.wrap(connect(srv.port), { host = "127.0.0.1", cafile = certs.ca })
    assert.is_nil(msg)
    assert.are.equal(3, t:send("ab\n"))
    assert.are.equal("ba\n", read_n(t, 3))
    assert.is_true(t:info().verified)
    t:close()
  end)

  it("sends SNI for a DNS name", function()
    local srv = serve { cert = certs.wrong_host.cert, key = certs.wrong_host.key, mode = "rev",
                        extra = { "-servername", "localhost", "-cert2", certs.good.cert,
                                  "-key2", certs.good.key } }
    local t, msg = tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca })
    assert.is_nil(msg)
    assert.are.equal("CN=localhost", t:info().subject)
    t:close()
  end)

  local bad = {
    { "expired", certs.expired, "expired", 10 },
    { "unknown issuer", certs.unknown, "unknown issuer", 20 },
    { "hostname mismatch", certs.wrong_host, "hostname mismatch", 62 },
    { "self-signed", certs.self_signed, "self-signed", 18 },
  }
  for _, case in ipairs(bad) do
    local name, pair, reason, vcode = case[1], case[2], case[3], case[4]
    it("refuses a certificate that is " .. name .. " with ECERT", function()
      local srv = serve { cert = pair.cert, key = pair.key, mode = "rev" }
      local sock = connect(srv.port)
      local t, msg, code, detail = tls.wrap(sock, { host = "localhost", cafile = certs.ca,
                                                     timeout = 10 })
      assert.is_nil(t)
      assert.are.equal("ECERT", code)
      assert.are.equal(reason, detail.reason)
      assert.are.equal(vcode, detail.verify_code)   -- X509_V_ERR_* (x509_vfy.h)
      assert.matches(reason, msg, 1, true)
      assert.is_true(sock:isclosed())
    end)
  end

  it("uses the system trust store by default (which does not know the test CA)", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev" }
    local t, _, code, detail = tls.wrap(connect(srv.port), { host = "localhost", timeout = 10 })
    assert.is_nil(t)
    assert.are.equal("ECERT", code)
    assert.are.equal("unknown issuer", detail.reason)
  end)

  it("connects to the self-signed server with insecure = true", function()
    local srv = serve { cert = certs.self_signed.cert, key = certs.self_signed.key, mode = "rev" }
    local t, msg = tls.wrap(connect(srv.port), { insecure = true })
    assert.is_nil(msg)
    assert.are.equal(4, t:send("xyz\n"))
    assert.are.equal("zyx\n", read_n(t, 4))
    assert.is_false(t:info().verified)
    t:close()
  end)

  it("times out within the deadline when the server never answers", function()
    local p = silent_server()
    local port = tonumber(p:line())
    local sock = connect(port)
    local t0 = core.net.now()
    local t, msg, code = tls.wrap(sock, { host = "localhost", cafile = certs.ca, timeout = 0.5 })
    local took = core.net.now() - t0
    p:stop()
    assert.is_nil(t)
    assert.are.equal("ETIMEDOUT", code, msg)
    assert.is_true(took >= 0.45 and took < 5, "took " .. took)
  end)

  it("keeps the inner deadline when it is nearer than opts.timeout", function()
    local p = silent_server()
    local sock = connect(tonumber(p:line()))
    local t0 = core.net.now()
    sock:setdeadline(t0 + 0.3)
    local t, _, code = tls.wrap(sock, { host = "localhost", cafile = certs.ca, timeout = 20 })
    local took = core.net.now() - t0
    p:stop()
    assert.is_nil(t)
    assert.are.equal("ETIMEDOUT", code)
    assert.is_true(took < 5, "took " .. took)
  end)

  it("carries 64 MiB with every byte intact (checked by the peer's output)", function()
    local size = os.getenv("LMAIL_VALGRIND") and 4 * 1024 * 1024 or 64 * 1024 * 1024
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "sink",
                        limit = 300 }
    local t = assert(tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca }))
    -- 1 MiB of varied bytes (every value, no period of 256), repeated with a
    -- counter so a lost or reordered block shows.
    local block = {}
    for i = 1, 4096 do block[i] = string.char((i * 7 + (i // 256)) % 256) end
    local unit = table.concat(block)
    unit = unit:rep(256)
    local parts = {}
    for i = 1, size // #unit do
      parts[i] = ("%08d"):format(i) .. unit:sub(9)
    end
    local data = table.concat(parts)
    assert.are.equal(size, #data)
    for i = 1, #data, 3 * 1024 * 1024 + 17 do     -- uneven sends
      local piece = data:sub(i, i + 3 * 1024 * 1024 + 16)
      assert.are.equal(#piece, t:send(piece))
    end
    -- Close only once the peer has it all: closing a socket with unread
    -- input (TLS 1.3 session tickets) makes the kernel send RST, and the
    -- peer may then lose what it had not read yet.
    assert.are.equal(size, srv:wait_output(size, 60))
    t:close()
    local out = srv:output()
    assert.are.equal(#data, #out)
    assert.is_true(out == data, "the peer received different bytes")
  end)

  it("refuses a server that only speaks TLS 1.1", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev",
                        naccept = 2, extra = { "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0" } }
    -- Control: the server really does speak TLS 1.1 to a client that allows it.
    local fh = io.popen(("echo | env -u LD_PRELOAD timeout 10 openssl s_client"
      .. " -connect 127.0.0.1:%d -tls1_1 -cipher DEFAULT@SECLEVEL=0 -CAfile %s 2>&1")
      :format(srv.port, certs.ca))
    local transcript = fh:read("a")
    fh:close()
    assert.matches("Protocol  : TLSv1.1", transcript, 1, true)
    local t, msg, code = tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca,
                                                       timeout = 10 })
    assert.is_nil(t)
    assert.are.equal("ETLS", code)
    assert.matches("protocol", msg)
  end)

  it("presents a client certificate to a server that requires one", function()
    local extra = { "-Verify", "1", "-verifyCAfile", certs.ca, "-verify_return_error" }
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev",
                        naccept = 2, extra = extra }
    -- Control: without a certificate the same server refuses to talk.
    local plain = assert(tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca,
                                                       timeout = 10 }))
    plain:send("x\n")
    local s, _, code = plain:receive(10)
    plain:close()
    assert.is_nil(s)
    assert.are.equal("ETLS", code)
    local t, msg = tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca,
                                                  cert = certs.client.cert,
                                                  key = certs.client.key, timeout = 10 })
    assert.is_nil(msg)
    assert.are.equal(6, t:send("hello\n"))
    assert.are.equal("olleh\n", read_n(t, 6))
    t:close()
  end)
end)

describe("tls.wrap misuse and contexts", function()
  it("needs a host unless insecure", function()
    assert.has_error(function() tls.wrap({ send = print, receive = print }, {}) end,
      "tls.wrap: opts.host is required unless opts.insecure = true")
    assert.has_error(function() tls.wrap(42, { host = "x" }) end)
    assert.has_error(function() tls.wrap({ send = print, receive = print },
      { host = "x", timeout = -1 }) end)
  end)

  it("reports a missing cafile as ETLS and closes the transport", function()
    local closed = false
    local fake = { send = function() return nil, "no", "EIO" end,
                   receive = function() return nil, "no", "EIO" end,
                   close = function() closed = true end }
    local t, msg, code = tls.wrap(fake, { host = "localhost", cafile = "/nonexistent.pem" })
    assert.is_nil(t)
    assert.are.equal("ETLS", code)
    assert.matches("trust store", msg, 1, true)
    assert.is_true(closed)
  end)

  it("shares one explicit context between connections", function()
    local ctx = assert(tls.context { cafile = certs.ca })
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev",
                        naccept = 2 }
    for _ = 1, 2 do
      local t = assert(tls.wrap(connect(srv.port), { host = "localhost", context = ctx }))
      t:send("ok\n")
      assert.are.equal("ko\n", read_n(t, 3))
      t:close()
    end
    ctx:close()
    ctx:close()
  end)

  it("raises on use after close", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev" }
    local t = assert(tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca }))
    t:close()
    assert.has_error(function() t:send("x") end,
      "transport:send: the TLS transport is closed")
    assert.has_error(function() t:receive(1) end)
    assert.has_error(function() t:info() end)
  end)

  it("reports the peer's close_notify as ECLOSED", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev" }
    local t = assert(tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca }))
    t:send("CLOSE\n")   -- s_server -rev answers with close_notify
    local s, msg, code
    repeat s, msg, code = t:receive(100) until not s
    assert.are.equal("ECLOSED", code)
    assert.are.equal("tls: the peer closed the session", msg)
    t:close()
  end)

  it("reports a connection ended without close_notify as ECLOSED, naming it", function()
    local srv = serve { cert = certs.good.cert, key = certs.good.key, mode = "rev" }
    local t = assert(tls.wrap(connect(srv.port), { host = "localhost", cafile = certs.ca }))
    srv:stop()   -- killed by a signal: no close_notify
    local s, msg, code = t:receive(10)
    assert.is_nil(s)
    assert.are.equal("ECLOSED", code)
    assert.matches("without close_notify", msg, 1, true)
    t:close()
  end)
end)

describe("core.tls engine", function()
  it("raises after close and on bad arguments", function()
    local ctx = assert(core.tls.context { insecure = true })
    local e = assert(core.tls.new(ctx))
    assert.has_error(function() e:write("x") end,
      "engine:write: the handshake is not finished")
    assert.is_false(e:handshake())
    assert.is_truthy(#e:pending() > 0)      -- the ClientHello
    assert.is_true(e:close())
    assert.is_true(e:close())
    assert.has_error(function() e:handshake() end, "engine:handshake: engine is closed")
    ctx:close()
    assert.has_error(function() core.tls.new(ctx, "x") end, "tls.new: context is closed")
    assert.has_error(function() core.tls.context { cafile = 1 } end,
      "tls.context: opts.cafile must be a string")
  end)

  it("needs a host on a verifying context", function()
    local ctx = assert(core.tls.context { cafile = certs.ca })
    local e, _, code = core.tls.new(ctx)
    assert.is_nil(e)
    assert.are.equal("EINVAL", code)
  end)
end)
