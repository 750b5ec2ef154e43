--- lmail.pop3: the POP3 client (RFC 1939; CAPA RFC 2449; STLS RFC 2595;
-- AUTH RFC 5034). A session drives the C engine (lmail.core.pop3) over a
-- transport: the engine frames and checks every byte, this file holds the
-- dialogue and the policy (TLS before credentials, mechanism choice,
-- deadlines, what a failure does to the connection).
--
-- Rules every method follows:
-- - Misuse raises ("pop3:retr: ..."): wrong argument types, a command not
--   allowed in the current state (say STAT before login), use after close.
-- - A server's -ERR is nil, message, "EREJECTED" (or "ETEMPFAIL" for the
--   RFC 2449/3206 codes IN-USE, LOGIN-DELAY, SYS/TEMP; "EAUTH" for a
--   refused login), detail {status = "-ERR", text =, code =, stage =}; the
--   session stays usable.
-- - A timeout, a closed connection or a protocol violation drops the
--   connection without QUIT (so the server deletes nothing) and every later
--   call returns nil, message, "ECLOSED".
local core = require "lmail.core"
local connect = require "lmail.connect"

local pop3 = {}

local PROFILE = { name = "pop3.open", default_port = 995, tls_port = 995, plain_port = 110 }
-- Bytes asked of the transport per receive.
local RECV = 65536
-- A body transfer gets a fresh deadline after each this many bytes, so a
-- big message is not cut by the per-operation timeout while a dripping
-- server still cannot hold an operation for ever.
local PROGRESS_STEP = 65536
-- Largest message number / count (2^53 - 1, exact in any Lua number).
local MAX_NUMBER = 9007199254740991
-- Default depth of pipelined RETR/DELE batches (with PIPELINING).
local DEFAULT_DEPTH = 16

-- RFC 2449 8.1 / RFC 3206: response codes that mean "try again later".
local TEMP_CODES = { ["IN-USE"] = true, ["LOGIN-DELAY"] = true, ["SYS/TEMP"] = true }

local Session = {}
Session.__index = Session
Session.__name = "lmail.pop3.session"

-- Server text made safe for an error message: no control bytes, bounded.
local function show(s)
  s = tostring(s):gsub("[%c\127]", "?")
  if #s > 200 then s = s:sub(1, 200) .. "..." end
  return s
end

-- nil, message, code, detail for a -ERR.
local function refused(stage, text, rcode, default_code)
  local code = default_code or "EREJECTED"
  local up = rcode and rcode:upper()
  if up and (TEMP_CODES[up] or up:find("^SYS/TEMP") or up:find("^IN%-USE")
      or up:find("^LOGIN%-DELAY")) then
    code = "ETEMPFAIL"
  elseif up and default_code == "EAUTH" and up:find("^SYS/PERM") then
    code = "EREJECTED"
  end
  return nil, ("pop3: %s refused: -ERR %s"):format(stage, show(text)), code,
    { status = "-ERR", text = text, code = rcode, stage = stage }
end

local function check_session(self, fname)
  if getmetatable(self) ~= Session then
    error(fname .. ": not a POP3 session", 3)
  end
  if self.closed then
    error(fname .. ": the session is closed", 3)
  end
end

-- Returns nil, msg, "ECLOSED" when an earlier failure dropped the connection.
local function dead(self)
  if self.dropped then
    return nil, "pop3: the connection was dropped after an earlier failure ("
      .. self.dropped .. ")", "ECLOSED"
  end
end

-- Drops the connection without QUIT and returns nil, msg, code, detail.
local function drop(self, msg, code, detail)
  if not self.dropped then self.dropped = tostring(msg) end
  if self.transport then
    pcall(self.transport.close, self.transport)
    self.transport = nil
  end
  if self.engine then
    self.engine:close()
    self.engine = nil
  end
  return nil, msg, code, detail
end

-- Starts an operation: its name for messages and its deadline.
local function begin(self, stage)
  self.stage = stage
  if self.transport then connect.deadline(self.transport, self.timeout) end
end

local function flush(self)
  local out = self.engine:pending()
  if out == "" then return true end
  local ok, msg, code = self.transport:send(out)
  if not ok then
    return nil, ("pop3: %s: sending failed: %s"):format(self.stage, tostring(msg)), code
  end
  return true
end

-- Reads until the engine has an event; on any failure the connection is
-- dropped and nil, msg, code comes back.
local function event(self)
  local eng = self.engine
  while true do
    local kind, a, b, c, d, e, f = eng:next()
    if kind then return kind, a, b, c, d, e, f end
    if kind == nil then return drop(self, a, b) end
    local ok, msg, code = flush(self)
    if not ok then return drop(self, msg, code) end
    local chunk, rmsg, rcode = self.transport:receive(RECV)
    if not chunk then
      if rcode == "ECLOSED" then
        local _, emsg = eng:eof()
        return drop(self, ("pop3: %s: %s"):format(self.stage,
          emsg and emsg:gsub("^pop3: ", "") or "the server closed the connection"), "ECLOSED")
      end
      if rcode == "ETIMEDOUT" then
        return drop(self, ("pop3: %s: timed out waiting for the server"):format(self.stage),
          "ETIMEDOUT")
      end
      return drop(self, ("pop3: %s: %s"):format(self.stage, tostring(rmsg)), rcode)
    end
    ok, msg, code = eng:feed(chunk)
    if not ok then return drop(self, msg, code) end
  end
end

-- Queues a command in the engine; refusals for the caller's misuse raise
-- (as fname), anything else drops the connection.
local function queue(self, fname, method, ...)
  local ok, msg, code = self.engine[method](self.engine, ...)
  if ok then return true end
  if code == "ESTATE" then
    error(("%s: %s (state %s)"):format(fname, msg, self.engine:state()), 0)
  elseif code == "EINVAL" then
    error(fname .. ": " .. msg, 0)
  elseif code == "ETOOLONG" then
    return nil, "pop3: " .. msg, code
  end
  return drop(self, msg, code)
end

-- The status of a single-line response: true, a, b or nil, msg, code, detail.
local function status(self, default_code)
  local kind, cmd, text, rcode, _, a, b = event(self)
  if not kind then return nil, cmd, text, rcode end
  if kind == "err" then return refused(self.stage, text, rcode, default_code) end
  if kind ~= "ok" then
    return drop(self, ("pop3: %s: unexpected %s event"):format(self.stage, kind), "EPROTO")
  end
  return true, a, b
end

local function check_number(fname, n, what)
  if type(n) ~= "number" or n % 1 ~= 0 or n < 1 or n > MAX_NUMBER then
    error(("%s: %s must be a message number (an integer >= 1), got %s"):format(
      fname, what or "n", tostring(n)), 3)
  end
end

---@class lmail.Pop3Session
---@field capabilities table {UIDL = true, TOP = true, SASL = {"PLAIN", ...}, PIPELINING = true}
---@field greeting string the text of the server's greeting
---@field secure boolean whether TLS protects the connection

-- RFC 2449 5: tags are case-insensitive; SASL's parameters are a list.
local function add_capability(caps, tag, args)
  tag = tag:upper()
  if tag == "SASL" then
    local list = {}
    for m in args:gmatch("%S+") do list[#list + 1] = m:upper() end
    caps.SASL = list
  elseif args == "" then
    caps[tag] = true
  else
    caps[tag] = args
  end
end

-- CAPA (RFC 2449); a server without it gets an empty table.
local function read_capa(self)
  local ok, msg, code = queue(self, "pop3:capa", "capa")
  if not ok then return nil, msg, code end
  local kind, _, text, rcode = event(self)
  if not kind then return nil, _, text, rcode end
  local caps = {}
  if kind == "err" then
    self.capabilities, self.capa_known = caps, false
    return true
  end
  while true do
    local k, tag, args = event(self)
    if not k then return nil, tag, args end
    if k == "end" then break end
    add_capability(caps, tag, args)
  end
  self.capabilities, self.capa_known = caps, true
  return true
end

-- A server on an implicit-TLS port waits for our TLS hello and says
-- nothing: a plain connection there times out on the greeting. Say so.
local TLS_PORT_HINT = ' (the server sent nothing: an implicit-TLS port? then set tls = "tls")'

local function greet(self)
  begin(self, "greeting")
  local kind, _, text, rcode = event(self)
  if not kind then
    if text == "ETIMEDOUT" and self.settings and self.settings.tls ~= "tls" then
      _ = tostring(_) .. TLS_PORT_HINT
    end
    return nil, _, text, rcode
  end
  self.greeting = text
  if kind == "err" then
    local _, msg, code, detail = refused("greeting", text, rcode)
    return drop(self, msg, code, detail)
  end
  return true
end

-- STLS (RFC 2595 4): required when tls = "starttls"; never a fallback.
local function starttls(self)
  begin(self, "STLS")
  if self.capa_known and not self.capabilities.STLS then
    return drop(self, "pop3: the server does not offer STLS, and TLS is required"
      .. ' (tls = "starttls")', "ETLSREQUIRED")
  end
  local ok, msg, code, detail = queue(self, "pop3:open", "stls")
  if ok then ok, msg, code, detail = status(self) end
  if not ok then
    if code == "EREJECTED" or code == "ETEMPFAIL" then
      return drop(self, msg .. ', and TLS is required (tls = "starttls")', "ETLSREQUIRED",
        detail)
    end
    return nil, msg, code, detail
  end
  ok, msg, code = self.engine:stls_begin()
  if not ok then return drop(self, msg, code) end
  local upgrade = self.tls_upgrade or connect.tls
  local t, tmsg, tcode, tdetail = upgrade(self.transport, self.settings)
  if not t then
    -- As smtp.open does (issue 4/5: a failed STARTTLS/STLS is ETLSREQUIRED
    -- when TLS was asked for); detail.cause says why: ECERT, ETLS, ...
    self.transport = nil -- closed by the failed handshake
    return drop(self, "pop3: STLS handshake failed: " .. tostring(tmsg), "ETLSREQUIRED",
      { stage = "STLS", cause = tcode, reason = tdetail and tdetail.reason })
  end
  self.transport, self.secure = t, true
  begin(self, "CAPA")
  return read_capa(self)
end

local function check_opts(opts)
  local function check(name, kind, extra)
    local v = opts[name]
    if v ~= nil and (type(v) ~= kind or (extra and not extra(v))) then
      error(("pop3.open: opts.%s must be %s"):format(name,
        extra and "a positive integer" or ("a " .. kind)), 4)
    end
  end
  local positive = function(v) return v % 1 == 0 and v >= 1 end
  check("allow_cleartext_auth", "boolean")
  check("user", "string")
  check("password", "string")
  check("mechanism", "string")
  check("tls_upgrade", "function")
  for _, k in ipairs({ "max_line", "max_message_size", "max_entries" }) do
    check(k, "number", positive)
  end
  local p = opts.pipeline
  if p ~= nil and type(p) ~= "boolean" and not (type(p) == "number" and positive(p)) then
    error("pop3.open: opts.pipeline must be a boolean or a positive integer", 3)
  end
end

---@class lmail.Pop3Options
---@field host string server name (or opts.transport)
---@field port? integer 995 (implicit TLS) by default; 110 means STLS
---@field tls? "tls"|"starttls"|"none" default from the port (995: tls, else starttls)
---@field timeout? number seconds per operation (default 30); false: none
---@field cafile? string @field capath? string @field insecure? boolean
---@field allow_cleartext_auth? boolean send credentials without TLS (default false)
---@field user? string @field password? string @field mechanism? string log in at once
---@field max_line? integer longest response line (default 8192)
---@field max_message_size? integer largest RETR/TOP body in bytes (default 4 GiB)
---@field max_entries? integer longest LIST/UIDL listing (default 10,000,000)
---@field pipeline? boolean|integer pipelined batches (default true, depth 16)
---@field transport? table a connected transport to use instead of TCP
---@field tls_upgrade? function(transport, settings) -> transport, for STLS

--- Connects, reads the greeting and the capabilities, and upgrades with
--- STLS when the mode is "starttls"; logs in when opts.user is given.
---@param opts lmail.Pop3Options
---@return lmail.Pop3Session|nil session
---@return string? message
---@return string? code
---@return table? detail
function pop3.open(opts)
  local s = connect.settings(opts, PROFILE)
  check_opts(opts)
  local t, msg, code, detail = connect.open(s)
  if not t then return nil, msg, code, detail end
  local depth = opts.pipeline
  if depth == nil or depth == true then depth = DEFAULT_DEPTH end
  if depth == false then depth = 1 end
  local self = setmetatable({
    transport = t, settings = s, timeout = s.timeout, secure = s.tls == "tls",
    allow_cleartext_auth = opts.allow_cleartext_auth == true, tls_upgrade = opts.tls_upgrade,
    depth = math.min(depth, 256), capabilities = {}, capa_known = false,
    max_message_size = opts.max_message_size,
    engine = core.pop3.new({ max_line = opts.max_line, max_message_size = opts.max_message_size,
      max_entries = opts.max_entries, max_pipeline = math.max(math.min(depth, 256), 2) }),
  }, Session)
  local ok
  ok, msg, code, detail = greet(self)
  if ok then
    begin(self, "CAPA")
    ok, msg, code, detail = read_capa(self)
  end
  if ok and s.tls == "starttls" then ok, msg, code, detail = starttls(self) end
  if ok and opts.user ~= nil then
    ok, msg, code, detail = self:login(opts.user, opts.password, opts.mechanism)
  end
  if not ok then
    self:close()
    return nil, msg, code, detail
  end
  return self
end

-- ---- login ----

-- Login failures are EAUTH (ETEMPFAIL for the temporary codes).
local function login_status(self)
  return status(self, "EAUTH")
end

-- A SASL exchange after AUTH was queued: answer(challenge) answers each
-- challenge (it must queue an answer in the engine).
local function sasl(self, answer)
  local last_challenge
  while true do
    local kind, a, b, c = event(self)
    if not kind then return nil, a, b, c end
    if kind == "ok" then return true end
    if kind == "err" then
      local r1, msg, code, detail = refused(self.stage, b, c, "EAUTH")
      if last_challenge and last_challenge ~= "" then
        detail.challenge = last_challenge
        msg = msg .. " (server said: " .. show(last_challenge) .. ")"
      end
      return r1, msg, code, detail
    end
    if kind ~= "challenge" then
      return drop(self, "pop3: " .. self.stage .. ": unexpected " .. kind, "EPROTO")
    end
    last_challenge = a
    local ok, msg, code = answer(a)
    if not ok then return drop(self, msg, code) end
  end
end

local function cancel_others(eng)
  return eng:auth_cancel()
end

local LOGIN = {}

function LOGIN.USER(self, user, password)
  self.stage = "USER"
  local ok, msg, code, detail = queue(self, "pop3:login", "user", user)
  if ok then ok, msg, code, detail = login_status(self) end
  if not ok then return nil, msg, code, detail end
  self.stage = "PASS"
  ok, msg, code = queue(self, "pop3:login", "pass", password)
  if not ok then return nil, msg, code end
  return login_status(self)
end

function LOGIN.APOP(self, user, password)
  self.stage = "APOP"
  local ts, why = self.engine:timestamp()
  if not ts then
    return nil, "pop3: APOP is not possible: the greeting has " .. (why == "malformed"
      and "a malformed timestamp (not a valid RFC 1939 msg-id)" or "no timestamp")
      .. "; choose another mechanism", "EPROTO"
  end
  local ok, msg, code = queue(self, "pop3:login", "apop", user, password)
  if not ok then return nil, msg, code end
  return login_status(self)
end

function LOGIN.PLAIN(self, user, password)
  self.stage = "AUTH PLAIN"
  local ok, msg, code = queue(self, "pop3:login", "auth_plain", user, password)
  if not ok then return nil, msg, code end
  return sasl(self, function() return cancel_others(self.engine) end)
end

function LOGIN.LOGIN(self, user, password)
  self.stage = "AUTH LOGIN"
  local ok, msg, code = queue(self, "pop3:login", "auth", "LOGIN")
  if not ok then return nil, msg, code end
  local step = 0
  return sasl(self, function()
    step = step + 1
    if step == 1 then return self.engine:auth_reply(user) end
    if step == 2 then return self.engine:auth_reply(password) end
    return cancel_others(self.engine)
  end)
end

LOGIN["CRAM-MD5"] = function(self, user, password)
  self.stage = "AUTH CRAM-MD5"
  local ok, msg, code = queue(self, "pop3:login", "auth", "CRAM-MD5")
  if not ok then return nil, msg, code end
  local answered = false
  return sasl(self, function()
    if answered then return cancel_others(self.engine) end
    answered = true
    return self.engine:auth_cram_md5(user, password)
  end)
end

-- XOAUTH2 and OAUTHBEARER: an error comes as a challenge holding JSON,
-- answered with an empty line (RFC 7628 3.2.3), then -ERR.
local function oauth(self, method, ...)
  local ok, msg, code = queue(self, "pop3:login", method, ...)
  if not ok then return nil, msg, code end
  local eng = self.engine
  return sasl(self, function()
    if method == "auth_oauthbearer" then return eng:auth_reply("\1") end
    return eng:auth_reply("")
  end)
end

function LOGIN.XOAUTH2(self, user, token)
  self.stage = "AUTH XOAUTH2"
  return oauth(self, "auth_xoauth2", user, token)
end

function LOGIN.OAUTHBEARER(self, user, token)
  self.stage = "AUTH OAUTHBEARER"
  return oauth(self, "auth_oauthbearer", user, token, self.settings.host or "",
    self.settings.port or 0)
end

-- The mechanisms worth trying, best first. Over TLS the password is
-- protected anyway and PLAIN/USER are the most widely supported; in the
-- clear (only with allow_cleartext_auth) the challenge-response ones go
-- first, since they at least do not reveal the password itself.
local function choose(self)
  local caps = self.capabilities
  local sasl_set = {}
  for _, m in ipairs(type(caps.SASL) == "table" and caps.SASL or {}) do sasl_set[m] = true end
  local can = {
    PLAIN = sasl_set.PLAIN, LOGIN = sasl_set.LOGIN, ["CRAM-MD5"] = sasl_set["CRAM-MD5"],
    USER = caps.USER or not self.capa_known, APOP = self.engine:timestamp() ~= nil,
  }
  local order = self.secure and { "PLAIN", "USER", "CRAM-MD5", "LOGIN", "APOP" }
    or { "CRAM-MD5", "APOP", "PLAIN", "LOGIN", "USER" }
  for _, m in ipairs(order) do
    if can[m] then return m end
  end
end

--- Logs in (RFC 1939 USER/PASS and APOP; RFC 5034 AUTH). Without TLS it
--- refuses with "ETLSREQUIRED" unless allow_cleartext_auth was set (APOP and
--- CRAM-MD5 included: they expose a weak hash). mechanism: "USER", "APOP",
--- "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER" (password is then
--- the token); default: the best the server advertises.
---@param user string
---@param password string
---@param mechanism? string
---@return true|nil ok
---@return string? message
---@return string? code "EAUTH", "ETEMPFAIL", "ETLSREQUIRED", "EPROTO", ...
---@return table? detail
function Session:login(user, password, mechanism)
  check_session(self, "pop3:login")
  if type(user) ~= "string" then error("pop3:login: user must be a string", 2) end
  if type(password) ~= "string" then error("pop3:login: password must be a string", 2) end
  if mechanism ~= nil and type(mechanism) ~= "string" then
    error("pop3:login: mechanism must be a string", 2)
  end
  local m = mechanism and mechanism:upper()
  if m and not LOGIN[m] then
    error("pop3:login: unsupported mechanism " .. show(mechanism), 2)
  end
  local d1, d2, d3 = dead(self)
  if d2 then return d1, d2, d3 end
  if self.engine:state() ~= "AUTHORIZATION" then
    error("pop3:login: not in the AUTHORIZATION state (already logged in?)", 2)
  end
  if not self.secure and not self.allow_cleartext_auth then
    return nil, "pop3: refusing to send credentials without TLS (use TLS, or set "
      .. "allow_cleartext_auth = true to allow it)", "ETLSREQUIRED"
  end
  m = m or choose(self)
  if not m then
    return nil, "pop3: login: the server offers no mechanism lmail supports", "EAUTH"
  end
  begin(self, m)
  return LOGIN[m](self, user, password)
end

--- Logs in with an OAuth 2.0 bearer token: "XOAUTH2" (default) or
--- "OAUTHBEARER" (RFC 7628).
---@param user string
---@param token string
---@param mechanism? "XOAUTH2"|"OAUTHBEARER"
function Session:login_oauth2(user, token, mechanism)
  mechanism = mechanism or "XOAUTH2"
  if mechanism ~= "XOAUTH2" and mechanism ~= "OAUTHBEARER" then
    error('pop3:login_oauth2: mechanism must be "XOAUTH2" or "OAUTHBEARER"', 2)
  end
  return self:login(user, token, mechanism)
end

-- ---- transaction ----

-- Common start of a command: the session is alive and the command queued.
local function start(self, fname, stage, method, ...)
  check_session(self, fname)
  local d1, d2, d3 = dead(self)
  if d2 then return d1, d2, d3 end
  begin(self, stage)
  return queue(self, fname, method, ...)
end

--- The number of messages and their total size (RFC 1939 5 STAT).
---@return integer|nil count
---@return integer|string octets (or the error message)
function Session:stat()
  local ok, msg, code = start(self, "pop3:stat", "STAT", "stat")
  if not ok then return nil, msg, code end
  local count, octets, detail
  ok, count, octets, detail = status(self)
  if not ok then return nil, count, octets, detail end
  return count, octets
end

-- Reads a multi-line listing into a table through add(t, a, b).
local function listing(self, kind, add)
  local t = {}
  while true do
    local k, a, b = event(self)
    if not k then return nil, a, b end
    if k == "end" then return t end
    if k ~= kind then
      return drop(self, "pop3: " .. self.stage .. ": unexpected " .. k, "EPROTO")
    end
    local ok, msg = add(t, a, b)
    if not ok then return drop(self, msg, "EPROTO") end
  end
end

local function list_or_one(self, fname, verb, n, kind, add)
  if n ~= nil then check_number(fname, n) end
  local ok, msg, code = start(self, fname, n and verb .. " " .. n or verb, verb:lower(), n)
  if not ok then return nil, msg, code end
  local a, b
  ok, a, b, code = status(self)
  if not ok then return nil, a, b, code end
  if n then return b end
  return listing(self, kind, add)
end

--- Message sizes: p:list() -> {[n] = octets, ...}; p:list(n) -> octets.
---@param n? integer
function Session:list(n)
  return list_or_one(self, "pop3:list", "LIST", n, "list", function(t, num, size)
    t[num] = size
    return true
  end)
end

--- Unique ids (RFC 1939 7): p:uidl() -> {[n] = uid, ...}; p:uidl(n) -> uid.
--- UIDs are chosen by the server: 1..70 printable ASCII bytes, checked,
--- but never to be trusted (as file names, say) without escaping.
---@param n? integer
function Session:uidl(n)
  local seen = {}
  return list_or_one(self, "pop3:uidl", "UIDL", n, "uidl", function(t, num, uid)
    if seen[uid] then
      return nil, "pop3: UIDL: the server lists the UID " .. show(uid) .. " twice"
    end
    seen[uid] = true
    t[num] = uid
    return true
  end)
end

-- Calls a function of the caller (a sink, retr_many's open and done). One
-- that raises while a response is half read or others are outstanding
-- (always, for a sink) leaves the session out of step: the connection is
-- dropped without QUIT, so the server deletes nothing, and the error goes
-- on to the caller.
local function guarded(self, what, midway, fn, ...)
  local okc, r1, r2, r3 = pcall(fn, ...)
  if okc then return r1, r2, r3 end
  if midway or (self.engine and self.engine:outstanding() > 0) then
    drop(self, ("pop3: %s: the %s raised an error"):format(self.stage, what), "EIO")
  end
  error(r1, 0)
end

-- Streams the multi-line part of RETR/TOP into sink. A sink failure stops
-- the writing but the rest is still read, so the session stays usable.
local function read_body(self, sink)
  local got, mark, sink_err = 0, 0, nil
  local t, timeout = self.transport, self.timeout
  while true do
    local kind, data, dcode = event(self)
    if not kind then
      if not sink_err then pcall(sink, nil, data) end
      return nil, data, dcode
    end
    if kind == "end" then break end
    got = got + #data
    if timeout and got - mark >= PROGRESS_STEP then
      mark = got
      connect.deadline(t, timeout)
    end
    if not sink_err then
      local ok, err = guarded(self, "sink", true, sink, data)
      if not ok then sink_err = err or "the sink failed" end
    end
  end
  if not sink_err then
    local ok, err = guarded(self, "sink", true, sink, nil)
    if ok then return true end
    sink_err = err or "the sink failed at the end"
  end
  return nil, ("pop3: %s: the sink failed: %s"):format(self.stage, tostring(sink_err)), "EIO"
end

local function check_sink(fname, sink)
  if sink ~= nil and type(sink) ~= "function" then
    error(fname .. ": sink must be a function (an LTN12 sink)", 3)
  end
end

local function body(self, sink)
  local ok, msg, code, detail = status(self)
  if not ok then return nil, msg, code, detail end
  if sink then return read_body(self, sink) end
  local parts = {}
  ok, msg, code = read_body(self, function(chunk)
    parts[#parts + 1] = chunk
    return 1
  end)
  if not ok then return nil, msg, code end
  return table.concat(parts)
end

--- A whole message (RFC 1939 5 RETR), dot-unstuffed, CRLF line ends kept.
--- Without a sink the message comes back as a string; with an LTN12 sink it
--- is streamed in chunks of at most 64 KiB (then the sink is called with
--- nil) and true comes back. A response that ends before its "." line is
--- an error, never a message.
---@param n integer
---@param sink? fun(chunk: string|nil, err: string|nil): any
---@return string|true|nil message
---@return string? err
---@return string? code
---@return table? detail
function Session:retr(n, sink)
  check_number("pop3:retr", n)
  check_sink("pop3:retr", sink)
  local ok, msg, code = start(self, "pop3:retr", "RETR " .. n, "retr", n)
  if not ok then return nil, msg, code end
  return body(self, sink)
end

--- The headers and the first `lines` body lines (RFC 1939 7 TOP).
---@param n integer
---@param lines integer
---@param sink? function
function Session:top(n, lines, sink)
  check_number("pop3:top", n)
  if type(lines) ~= "number" or lines % 1 ~= 0 or lines < 0 or lines > MAX_NUMBER then
    error("pop3:top: lines must be an integer >= 0", 2)
  end
  check_sink("pop3:top", sink)
  local ok, msg, code = start(self, "pop3:top", "TOP " .. n, "top", n, lines)
  if not ok then return nil, msg, code end
  return body(self, sink)
end

local function simple(self, fname, verb, method, ...)
  local ok, msg, code = start(self, fname, verb, method, ...)
  if not ok then return nil, msg, code end
  local detail
  ok, msg, code, detail = status(self)
  if not ok then return nil, msg, code, detail end
  return true
end

--- Marks message n for deletion; the server deletes it at QUIT only.
---@param n integer
function Session:dele(n)
  check_number("pop3:dele", n)
  return simple(self, "pop3:dele", "DELE " .. n, "dele", n)
end

--- Unmarks every message marked for deletion.
function Session:rset()
  return simple(self, "pop3:rset", "RSET", "rset")
end

--- Does nothing; keeps the connection alive.
function Session:noop()
  return simple(self, "pop3:noop", "NOOP", "noop")
end

--- Reads the capabilities again (CAPA) and returns them.
---@return table|nil capabilities
function Session:capa()
  check_session(self, "pop3:capa")
  local d1, d2, d3 = dead(self)
  if d2 then return d1, d2, d3 end
  begin(self, "CAPA")
  local ok, msg, code = read_capa(self)
  if not ok then return nil, msg, code end
  return self.capabilities
end

--- "AUTHORIZATION", "TRANSACTION", "UPDATE" or "CLOSED".
---@return string
function Session:state()
  if self.closed or not self.engine then return "CLOSED" end
  return self.engine:state()
end

-- The pipeline depth for batches: 1 without PIPELINING.
local function depth(self)
  if self.engine:capable("PIPELINING") then return self.depth end
  return 1
end

--- Retrieves the messages numbered in nums, in order, pipelining the RETR
--- commands when the server advertises PIPELINING. For each message,
--- open(n) is called as its response begins and returns an LTN12 sink (or
--- nil, err to stop); after the sink got its final nil, done(n, true) is
--- called; for a message the server refuses, done(n, nil, msg, code,
--- detail). done returns true to go on, or nil, err [, code] to stop. A
--- stop with responses outstanding drops the connection (without QUIT).
---@param nums integer[]
---@param open fun(n: integer): function|nil, string?
---@param done fun(n: integer, ok: true|nil, msg: string?, code: string?, detail: table?): any
---@return true|nil ok
---@return string? message
---@return string? code
function Session:retr_many(nums, open, done)
  check_session(self, "pop3:retr_many")
  if type(nums) ~= "table" then error("pop3:retr_many: nums must be a table", 2) end
  if type(open) ~= "function" or type(done) ~= "function" then
    error("pop3:retr_many: open and done must be functions", 2)
  end
  for i = 1, #nums do check_number("pop3:retr_many", nums[i], "nums[" .. i .. "]") end
  local d1, d2, d3 = dead(self)
  if d2 then return d1, d2, d3 end
  local width, sent, total = depth(self), 0, #nums
  local function stop(msg, code)
    if self.engine and self.engine:outstanding() > 0 then return drop(self, msg, code) end
    return nil, msg, code
  end
  for i = 1, total do
    while sent < total and sent - i + 1 < width do
      sent = sent + 1
      local ok, msg, code = queue(self, "pop3:retr_many", "retr", nums[sent])
      if not ok then return nil, msg, code end
    end
    local n = nums[i]
    begin(self, "RETR " .. n)
    local ok, msg, code, detail = status(self)
    if not ok and not self.dropped then
      ok, msg, code = guarded(self, "done callback", false, done, n, nil, msg, code, detail)
      if not ok then return stop(msg, code or "EIO") end
    elseif not ok then
      return nil, msg, code, detail
    else
      local sink, serr, scode = guarded(self, "open callback", true, open, n)
      if not sink then return stop(serr, scode or "EIO") end
      ok, msg, code = read_body(self, sink)
      if not ok then return stop(msg, code) end
      ok, msg, code = guarded(self, "done callback", false, done, n, true)
      if not ok then return stop(msg, code or "EIO") end
    end
  end
  return true
end

--- Marks every message of nums for deletion, pipelined when possible.
--- Returns the number marked and a list of the refusals ({n =, message =,
--- code =, detail =}); a connection failure returns nil, msg, code.
---@param nums integer[]
---@return integer|nil marked
---@return table|string refusals
function Session:dele_many(nums)
  check_session(self, "pop3:dele_many")
  if type(nums) ~= "table" then error("pop3:dele_many: nums must be a table", 2) end
  for i = 1, #nums do check_number("pop3:dele_many", nums[i], "nums[" .. i .. "]") end
  local d1, d2, d3 = dead(self)
  if d2 then return d1, d2, d3 end
  local width, sent, total, marked, refusals = depth(self), 0, #nums, 0, {}
  begin(self, "DELE")
  for i = 1, total do
    while sent < total and sent - i + 1 < width do
      sent = sent + 1
      local ok, msg, code = queue(self, "pop3:dele_many", "dele", nums[sent])
      if not ok then return nil, msg, code end
    end
    self.stage = "DELE " .. nums[i]
    local ok, msg, code, detail = status(self)
    if ok then
      marked = marked + 1
    elseif self.dropped then
      return nil, msg, code, detail
    else
      refusals[#refusals + 1] = { n = nums[i], message = msg, code = code, detail = detail }
    end
  end
  return marked, refusals
end

--- Ends the session (RFC 1939 6): the server deletes the messages marked
--- with DELE and closes. true once the server confirmed; nil, msg, code when
--- it did not (then some deletions may not have happened).
---@return true|nil ok
function Session:quit()
  local ok, msg, code = start(self, "pop3:quit", "QUIT", "quit")
  if not ok then return nil, msg, code end
  local detail
  ok, msg, code, detail = status(self)
  if not self.dropped then drop(self, "QUIT") end
  self.closed = true
  if not ok then return nil, msg, code, detail end
  return true
end

--- Drops the connection without QUIT: the server deletes nothing.
--- Idempotent; also __close and __gc.
---@return true
function Session:close()
  if getmetatable(self) ~= Session then error("pop3:close: not a POP3 session", 2) end
  if not self.closed then
    self.closed = true
    if self.transport then pcall(self.transport.close, self.transport) end
    if self.engine then self.engine:close() end
    self.transport, self.engine = nil, nil
  end
  return true
end
Session.__close = Session.close
Session.__gc = Session.close

function Session:__tostring()
  return "lmail.pop3.session (" .. self:state() .. ")"
end

return pop3
