--- lmail.tls: TLS over any transport (DESIGN.md 3). tls.wrap(transport,
-- opts) runs the client handshake over an already connected transport and
-- returns another transport with the same contract:
--   t:send(data)    -> #data | nil, msg, code
--   t:receive(max)  -> 1..max bytes | nil, msg, code   ("ETIMEDOUT", "ECLOSED")
--   t:settimeout(s) t:close() t:isclosed()   (setdeadline/deadline when the inner has them)
--   t:info()        -> {protocol =, cipher =, subject =, issuer =, verified =}
-- The same call serves STARTTLS: the session hands over the raw transport
-- once it has checked nothing is buffered past the server's go-ahead, and
-- the handshake starts right there (RFC 3207 section 4, RFC 2595 section 4).
-- Failures: nil, msg, "ECERT", {reason =, verify_code =} when the
-- certificate is refused; nil, msg, "ETLS" for any other TLS failure; the
-- inner transport's own codes (ETIMEDOUT, ...) pass through.
local core = require "lmail.core"

local ctls = core.tls
local tls = {}

-- Plaintext per engine:write; bounds the ciphertext held in memory at once.
local SEND_SLICE = 256 * 1024
-- Bytes asked of the inner transport per receive.
local RECV_CHUNK = 64 * 1024
-- Seconds close() may spend sending close_notify.
local CLOSE_WAIT = 1

local function now()
  return core.net and core.net.now and core.net.now() or os.time()
end

---@class lmail.TlsOptions
---@field host? string name (or IP literal) the certificate must match; SNI for names
---@field servername? string same as host
---@field cafile? string PEM bundle replacing the system trust store
---@field capath? string hashed directory replacing the system trust store
---@field cert? string client certificate chain (PEM)
---@field key? string its private key (PEM; default: cert)
---@field insecure? boolean true skips every certificate check
---@field timeout? number seconds for the whole handshake
---@field context? userdata a tls.context() to use instead of the options above

local function check_opts(opts, fname)
  if type(opts) ~= "table" then
    error(fname .. ": opts must be a table, got " .. type(opts), 3)
  end
  for _, k in ipairs({ "host", "servername", "cafile", "capath", "cert", "key" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      error(fname .. ": opts." .. k .. " must be a string", 3)
    end
  end
  local t = opts.timeout
  if t ~= nil and (type(t) ~= "number" or t < 0 or t ~= t) then
    error(fname .. ": opts.timeout must be a number >= 0", 3)
  end
end

local function ctx_options(opts)
  return { cafile = opts.cafile, capath = opts.capath, cert = opts.cert, key = opts.key,
           insecure = opts.insecure == true }
end

--- A client context to share between connections: loading a trust store
-- is slow, a context makes every later handshake cheap. The caller owns it
-- (ctx:close(), or let it be collected); connections made from it outlive it.
---@param opts lmail.TlsOptions
---@return userdata|nil ctx
---@return string? message
---@return string? code
function tls.context(opts)
  check_opts(opts, "tls.context")
  return ctls.context(ctx_options(opts))
end

-- Contexts tls.wrap builds itself, one per distinct option set; weak, so
-- an unused one goes away with the garbage collector.
local cache = setmetatable({}, { __mode = "v" })

local function cached_context(opts)
  local o = ctx_options(opts)
  local key = table.concat({ o.cafile or "", o.capath or "", o.cert or "", o.key or "",
                             o.insecure and "1" or "0" }, "\0")
  local ctx = cache[key]
  if ctx then return ctx end
  local err, code
  ctx, err, code = ctls.context(o)
  if ctx then cache[key] = ctx end
  return ctx, err, code
end

local Tls = {}
Tls.__index = Tls
Tls.__name = "lmail.tls.transport"

local function check_open(self, fname)
  if self.closed then
    error(fname .. ": the TLS transport is closed", 3)
  end
end

-- Sends whatever ciphertext the engine has produced.
local function flush(self)
  local out = self.engine:pending()
  if #out == 0 then return true end
  return self.inner:send(out)
end

local function handshake_loop(self)
  local eng, inner = self.engine, self.inner
  while true do
    local done, msg, code, detail = eng:handshake()
    local sent, smsg, scode = flush(self)   -- an alert too, when it failed
    if done == nil then return nil, msg, code, detail end
    if not sent then return nil, "tls: handshake: " .. tostring(smsg), scode end
    if done then return true end
    local chunk, rmsg, rcode = inner:receive(RECV_CHUNK)
    if not chunk then
      if rcode == "ECLOSED" then
        return nil, "tls: handshake: the peer closed the connection", "ETLS"
      end
      return nil, "tls: handshake: " .. tostring(rmsg), rcode
    end
    local ok, fmsg, fcode = eng:feed(chunk)
    if not ok then return nil, fmsg, fcode end
  end
end

-- Runs the handshake within timeout seconds: as an absolute deadline when
-- the inner transport has one (restored afterwards), else as its
-- per-operation timeout.
local function handshake(self, timeout)
  local inner = self.inner
  if timeout == nil then return handshake_loop(self) end
  if inner.setdeadline and inner.deadline then
    local old = inner:deadline()
    local d = now() + timeout
    if old and old < d then d = old end
    inner:setdeadline(d)
    local ok, a, b, c, e = pcall(handshake_loop, self)
    inner:setdeadline(old)
    if not ok then error(a, 0) end
    return a, b, c, e
  end
  inner:settimeout(timeout)
  return handshake_loop(self)
end

--- Runs a TLS client handshake over transport and returns the encrypted
-- transport. On failure the inner transport is closed (it is mid-handshake
-- and useless) and nil, msg, code [, detail] comes back.
---@param transport table|userdata a connected transport
---@param opts lmail.TlsOptions host is required unless insecure
---@return table|nil transport
---@return string? message
---@return string? code
---@return table? detail {reason =, verify_code =} with "ECERT"
function tls.wrap(transport, opts)
  local tt = type(transport)
  if (tt ~= "table" and tt ~= "userdata") or not transport.send or not transport.receive then
    error("tls.wrap: transport must be a transport object, got " .. tt, 2)
  end
  opts = opts or {}
  check_opts(opts, "tls.wrap")
  local host = opts.host or opts.servername
  if host == nil and opts.insecure ~= true then
    error("tls.wrap: opts.host is required unless opts.insecure = true", 2)
  end
  local ctx, msg, code = opts.context, nil, nil
  if ctx == nil then ctx, msg, code = cached_context(opts) end
  local eng
  if ctx then eng, msg, code = ctls.new(ctx, host) end
  if not eng then
    transport:close()
    return nil, msg, code
  end
  local self = setmetatable({ inner = transport, engine = eng, closed = false }, Tls)
  if not transport.setdeadline then
    -- Over a transport without deadlines this one has none either, so
    -- that callers (lmail.connect.deadline) fall back to settimeout.
    self.setdeadline, self.deadline = false, false
  end
  local ok, err, ecode, detail = handshake(self, opts.timeout)
  if not ok then
    eng:close()
    transport:close()
    return nil, err, ecode, detail
  end
  return self
end

--- Encrypts and sends all of data.
---@param data string
---@return integer|nil bytes
---@return string? message
---@return string? code
function Tls:send(data)
  check_open(self, "transport:send")
  if type(data) ~= "string" then
    error("transport:send: data must be a string, got " .. type(data), 2)
  end
  local eng, n = self.engine, #data
  for i = 1, n, SEND_SLICE do
    local ok, msg, code = eng:write(data, i, i + SEND_SLICE - 1)
    if not ok then return nil, msg, code end
    ok, msg, code = flush(self)
    if not ok then return nil, msg, code end
  end
  return n
end

--- 1..max bytes of plaintext. "ECLOSED" after the peer's close_notify, and
-- also when the connection ends without one (a truncation the message names).
---@param max integer
---@return string|nil chunk
---@return string? message
---@return string? code
function Tls:receive(max)
  check_open(self, "transport:receive")
  if type(max) ~= "number" or max < 1 or max % 1 ~= 0 then
    error("transport:receive: max must be an integer >= 1", 2)
  end
  local eng = self.engine
  while true do
    local s, msg, code = eng:read(max)
    if s then return s end
    if s == nil then return nil, msg, code end
    local ok, smsg, scode = flush(self)     -- e.g. a KeyUpdate answer
    if not ok then return nil, smsg, scode end
    local chunk, rmsg, rcode = self.inner:receive(RECV_CHUNK)
    if not chunk then
      if rcode == "ECLOSED" then
        return nil, "tls: the connection ended without close_notify", "ECLOSED"
      end
      return nil, rmsg, rcode
    end
    ok, msg, code = eng:feed(chunk)
    if not ok then return nil, msg, code end
  end
end

--- Per-operation timeout, passed to the inner transport.
function Tls:settimeout(s)
  check_open(self, "transport:settimeout")
  self.inner:settimeout(s)
  return self
end

--- Absolute deadline, when the inner transport supports one.
function Tls:setdeadline(abs)
  check_open(self, "transport:setdeadline")
  if not self.inner.setdeadline then
    error("transport:setdeadline: the inner transport has no deadline", 2)
  end
  self.inner:setdeadline(abs)
  return self
end

function Tls:deadline()
  check_open(self, "transport:deadline")
  return self.inner.deadline and self.inner:deadline() or nil
end

--- The local address of the transport underneath, when it knows it.
---@return string|nil address
---@return integer|string|nil family 4 or 6 (or an error message)
---@return string? code
function Tls:local_address()
  check_open(self, "transport:local_address")
  if type(self.inner.local_address) ~= "function" then
    return nil, "transport:local_address: the underlying transport does not know it", "EINVAL"
  end
  return self.inner:local_address()
end

--- What was negotiated, for logging.
---@return table info {protocol =, cipher =, subject =, issuer =, verified =}
function Tls:info()
  check_open(self, "transport:info")
  return self.engine:info()
end

-- Sends close_notify within CLOSE_WAIT seconds; failures are ignored (the
-- connection is going away either way).
local function send_close_notify(self)
  local inner = self.inner
  if not self.engine:shutdown() then return end
  local out = self.engine:pending()
  if #out == 0 then return end
  if inner.setdeadline then
    pcall(inner.setdeadline, inner, now() + CLOSE_WAIT)
  else
    pcall(inner.settimeout, inner, CLOSE_WAIT)
  end
  pcall(inner.send, inner, out)
end

-- Takes whatever input is already there, without waiting: closing a socket
-- with unread input (say, TLS 1.3 session tickets never read) makes the
-- kernel answer with RST (RFC 1122 section 4.2.2.13), and a peer hit by RST
-- may discard data of ours it had not read yet.
local function drain(inner)
  if not pcall(inner.settimeout, inner, 0) then return end
  for _ = 1, 16 do
    local ok, chunk = pcall(inner.receive, inner, RECV_CHUNK)
    if not ok or not chunk then return end
  end
end

--- Sends close_notify (best effort, bounded), then closes the inner
--- transport. Idempotent; also __close. It does not wait for the peer's
--- close_notify: a caller that must know its data arrived asks the peer
--- (as SMTP does with the reply to the final dot).
---@return boolean true
function Tls:close()
  if self.closed then return true end
  self.closed = true
  pcall(send_close_notify, self)
  drain(self.inner)
  self.engine:close()
  self.inner:close()
  return true
end
Tls.__close = Tls.close

--- Whether close was called.
---@return boolean
function Tls:isclosed()
  return self.closed
end

function Tls:__tostring()
  return "lmail.tls.transport (" .. (self.closed and "closed" or "open") .. ")"
end

return tls
