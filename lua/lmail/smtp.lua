--- lmail.smtp: the SMTP client session (RFC 5321). It drives the sans-IO
-- engine of csrc/core/lm_smtp.c (lmail.core.smtp) over any transport
-- (DESIGN.md 3); the dialogue, mechanism choice, TLS policy and deadlines
-- live here, the protocol invariants (argument checks, reply parsing,
-- pipelining rules, dot-stuffing, STARTTLS injection) in C.
--   local s = assert(smtp.open{host = "smtp.example.com"})   -- STARTTLS on 587
--   assert(s:login("user", "password"))
--   local r = assert(s:send{from = "a@example.com", to = {"b@example.org"}, message = text})
--   s:quit()
local core = require "lmail.core"
local connect = require "lmail.connect"

local csmtp, b64 = core.smtp, core.b64

local smtp = {}

local PROFILE = { name = "smtp.open", default_port = 587, tls_port = 465, plain_port = 587 }
-- Bytes asked of the transport per receive.
local RECV = 65536
-- Body pieces: a string message bigger than BIG goes in SLICE pieces, so
-- memory stays near one slice, not a stuffed copy of the whole message.
local BIG, SLICE = 4 * 1024 * 1024, 1024 * 1024
-- Under this many bytes, commands and body go out in one write.
local ONE_WRITE = 65536

--- The mechanisms login tries, strongest first (the password never crosses
--- the wire with CRAM-MD5; PLAIN and LOGIN rely on TLS).
smtp.MECHANISMS = { "CRAM-MD5", "PLAIN", "LOGIN" }

local Session = {}
Session.__index = Session
Session.__name = "lmail.smtp.session"

-- ---------------------------------------------------------------- helpers

local function system_hostname()
  local f = io.open("/proc/sys/kernel/hostname", "r")
  local name = f and f:read("l")
  if f then f:close() end
  return name
end

local function plain_escape(s)
  return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- Replaces every secret the session holds in s.
function Session:_scrub(s)
  if self.secrets[1] == nil or type(s) ~= "string" then return s end
  for _, secret in ipairs(self.secrets) do
    if s:find(secret, 1, true) then s = s:gsub(plain_escape(secret), "***") end
  end
  return s
end

-- Remembers a secret and its base64 forms so no message or trace shows them.
function Session:_secret(s)
  if type(s) ~= "string" or #s < 3 then return end
  local list = self.secrets
  list[#list + 1] = s
  list[#list + 1] = b64.encode(s, 0)
  table.sort(list, function(a, b) return #a > #b end)   -- longest first
end

function Session:_trace(dir, text)
  if self.trace then self.trace(dir, self:_scrub(text)) end
end

-- Closes transport and engine; the session refuses reuse from here on.
function Session:_teardown()
  if self.t then pcall(self.t.close, self.t) end
  if self.eng then self.eng:close() end
end

-- A failure that ends the session (timeout, protocol error, lost
-- connection, 421): closes it and returns nil, msg, code, detail.
function Session:_die(msg, code, detail)
  if not self.dead then
    self.dead = code or "EIO"
    self:_teardown()
  end
  if detail and detail.text then detail.text = self:_scrub(detail.text) end
  return nil, self:_scrub(msg), code, detail
end

function Session:_deadline()
  connect.deadline(self.t, self.timeout)
end

local function detail_of(r)
  return { code = r.code, enhanced = r.enhanced, text = r.text, stage = r.stage }
end

local STAGE_WORDS = {
  GREETING = "greeting", EHLO = "EHLO", HELO = "HELO", MAIL = "MAIL FROM", RCPT = "RCPT TO",
  DATA = "DATA", DATA_END = "the message", BDAT = "BDAT", RSET = "RSET", NOOP = "NOOP",
  VRFY = "VRFY", QUIT = "QUIT", STARTTLS = "STARTTLS", AUTH = "AUTH", NONE = "the session",
}

-- nil, msg, "EREJECTED" | "ETEMPFAIL", detail for a refusing reply.
function Session:_refused(r, code)
  local text = self:_scrub(r.text)
  local what = STAGE_WORDS[r.stage] or r.stage
  local msg = ("smtp: %s refused by the server: %d%s%s"):format(what, r.code,
    r.enhanced and " " .. r.enhanced or "", text ~= "" and " " .. text:gsub("\n", " ") or "")
  local d = detail_of(r)
  d.text = text
  return nil, msg, code or (r.code >= 500 and "EREJECTED" or "ETEMPFAIL"), d
end

-- Writes what the engine has queued (plus extra bytes, if any).
function Session:_flush(extra, hidden)
  local out = self.eng:pending()
  if self.trace and out ~= "" then
    if hidden then
      self:_trace("C", "(authentication data hidden)")
    else
      for line in out:gmatch("([^\r\n]*)\r\n") do self:_trace("C", line) end
    end
  end
  if extra then
    if #out + #extra <= ONE_WRITE then
      out = out .. extra
    else
      if out ~= "" then
        local ok, msg, code = self.t:send(out)
        if not ok then return self:_die("smtp: sending: " .. tostring(msg), code) end
      end
      out = extra
    end
  end
  if out == "" then return true end
  local ok, msg, code = self.t:send(out)
  if not ok then return self:_die("smtp: sending: " .. tostring(msg), code) end
  return true
end

-- The next reply. Any failure here ends the session; so does 421 (the
-- server is closing: RFC 5321 3.8).
function Session:_reply()
  local eng = self.eng
  while true do
    local r, msg, code = eng:next()
    if r then
      if self.secrets[1] then r.text = self:_scrub(r.text) end
      if self.trace then
        for line in (r.text .. "\n"):gmatch("(.-)\n") do
          self:_trace("S", r.code .. (r.enhanced and " " .. r.enhanced or "") .. " " .. line)
        end
      end
      if r.code == 421 and r.stage ~= "QUIT" then
        local _, m, c, d = self:_refused(r, "ETEMPFAIL")
        return self:_die(m .. " (the server is closing the connection)", c, d)
      end
      return r
    end
    if r == nil then return self:_die(msg, code) end
    local chunk, rmsg, rcode = self.t:receive(RECV)
    if not chunk then
      if rcode == "ECLOSED" then
        return self:_die("smtp: the server closed the connection", "ECLOSED")
      end
      return self:_die("smtp: receiving: " .. tostring(rmsg), rcode)
    end
    local ok, fmsg, fcode = eng:feed(chunk)
    if not ok then return self:_die(fmsg, fcode) end
  end
end

-- Sends what is queued and reads one reply.
function Session:_command()
  local ok, msg, code = self:_flush()
  if not ok then return nil, msg, code end
  return self:_reply()
end

local function check(self, fname)
  if getmetatable(self) ~= Session then
    error(fname .. ": not an SMTP session", 3)
  end
  if self.closed then error(fname .. ": the session is closed", 3) end
  if self.dead then
    return nil, ("%s: the session is closed after an earlier %s failure"):format(fname,
      self.dead), "ECLOSED"
  end
  return true
end

-- ---------------------------------------------------------------- opening

-- EHLO, or HELO when the server does not know EHLO (RFC 5321 3.2).
function Session:_hello()
  self.eng:ehlo(self.helo)
  local r, msg, code, d = self:_command()
  if not r then return nil, msg, code, d end
  if r.code == 500 or r.code == 502 then
    self.eng:helo(self.helo)
    r, msg, code, d = self:_command()
    if not r then return nil, msg, code, d end
  end
  if r.code ~= 250 then
    local _, m, c, dd = self:_refused(r)
    return self:_die(m, c, dd)
  end
  self.capabilities = self.eng:capabilities()
  self.esmtp = r.stage == "EHLO"
  return true
end

-- STARTTLS (RFC 3207): required whenever the mode is "starttls".
function Session:_starttls(settings)
  if not self.capabilities.STARTTLS then
    self:_quit_quietly()
    return self:_die("smtp: TLS required but the server does not offer STARTTLS",
      "ETLSREQUIRED", { stage = "STARTTLS" })
  end
  self.eng:starttls()
  local r, msg, code, d = self:_command()
  if not r then return nil, msg, code, d end
  if r.code ~= 220 then
    local _, m, _, dd = self:_refused(r)
    self:_quit_quietly()
    return self:_die(m .. " (TLS required)", "ETLSREQUIRED", dd)
  end
  local ok, imsg, icode = self.eng:starttls_begin()
  if not ok then return self:_die(imsg, icode) end
  local t, tmsg, tcode, tdetail = connect.tls(self.t, settings)
  if not t then
    self.t = nil   -- tls.wrap closed it
    return self:_die("smtp: STARTTLS handshake failed: " .. tostring(tmsg), "ETLSREQUIRED",
      { stage = "STARTTLS", cause = tcode, reason = tdetail and tdetail.reason })
  end
  self.t, self.secure = t, true
  self.capabilities = {}
  return self:_hello()   -- RFC 3207 4.2: what was learned in clear is forgotten
end

-- A server on an implicit-TLS port waits for our TLS hello and says
-- nothing: a plain connection there times out on the greeting. Say so.
local TLS_PORT_HINT = ' (the server sent nothing: an implicit-TLS port? then set tls = "tls")'

function Session:_start(settings)
  self:_deadline()
  local r, msg, code, d = self:_reply()
  if not r then
    if code == "ETIMEDOUT" and settings.tls ~= "tls" then msg = tostring(msg) .. TLS_PORT_HINT end
    return nil, msg, code, d
  end
  if r.code ~= 220 then
    local _, m, c, dd = self:_refused(r)
    self:_quit_quietly()
    return self:_die(m, c, dd)
  end
  self.greeting = r.text
  local ok
  ok, msg, code, d = self:_hello()
  if not ok then return nil, msg, code, d end
  if settings.tls == "starttls" then return self:_starttls(settings) end
  return true
end

local LIMITS = { "max_line", "max_reply_lines", "max_reply_bytes" }

local function check_open_opts(opts)
  if opts.helo ~= nil then
    if type(opts.helo) ~= "string" or not opts.helo:find("^[!-~]+$") or #opts.helo > 255 then
      error("smtp.open: opts.helo must be a domain or address literal (printable, no spaces)", 3)
    end
  end
  for _, k in ipairs({ "allow_cleartext_auth", "chunking", "pipelining" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
      error("smtp.open: opts." .. k .. " must be a boolean", 3)
    end
  end
  if opts.trace ~= nil and type(opts.trace) ~= "function" then
    error("smtp.open: opts.trace must be a function", 3)
  end
  local limits = {}
  for _, k in ipairs(LIMITS) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 1 or v % 1 ~= 0) then
      error("smtp.open: opts." .. k .. " must be a positive integer", 3)
    end
    limits[k] = v
  end
  return limits
end

--- The EHLO name used when opts.helo is not given (RFC 5321 4.1.4): the
--- host name when it is a domain with a dot in it, else the address literal
--- of the connection's local end ("[192.0.2.1]", "[IPv6:2001:db8::1]"),
--- which servers that insist on a fully-qualified name accept, else
--- "localhost". hostname defaults to the system's (/proc).
---@param transport? table a connected transport (its local_address() is used)
---@param hostname? string
---@return string
function smtp.default_helo(transport, hostname)
  if hostname == nil then hostname = system_hostname() end
  if type(hostname) == "string" and #hostname <= 255 and hostname:find("%.")
    and hostname:find("^[%w][%w%-]*%.[%w%.%-]*[%w]$") and not hostname:find("%.%.") then
    return hostname
  end
  if transport and type(transport.local_address) == "function" then
    local ok, addr, family = pcall(transport.local_address, transport)
    if ok and type(addr) == "string" then
      if family == 6 and addr:find("^[%x:%.]+$") then return "[IPv6:" .. addr .. "]" end
      if family == 4 and addr:find("^[%d%.]+$") then return "[" .. addr .. "]" end
    end
  end
  return "localhost"
end

---@class lmail.SmtpOptions
---@field host? string server name or address (required unless transport)
---@field port? integer 465 implies tls = "tls"; anything else "starttls" (default 587)
---@field tls? "starttls"|"tls"|"none"
---@field timeout? number|false seconds per protocol step (default 30)
---@field cafile? string
---@field capath? string
---@field insecure? boolean skip certificate checks (loudly named)
---@field helo? string EHLO name (default: the local host name)
---@field allow_cleartext_auth? boolean allow login without TLS
---@field chunking? boolean use BDAT when offered (default true)
---@field pipelining? boolean use PIPELINING when offered (default true)
---@field trace? fun(direction: string, line: string) protocol trace, credentials hidden
---@field transport? table a connected transport to use instead of TCP

--- Connects, reads the greeting, says EHLO (HELO when refused with 500/502)
--- and, unless tls = "none" or "tls", upgrades with STARTTLS (required).
---@param opts lmail.SmtpOptions
---@return table|nil session
---@return string? message
---@return string? code
---@return table? detail
function smtp.open(opts)
  local settings = connect.settings(opts, PROFILE)
  local limits = check_open_opts(opts)
  local t, msg, code, detail = connect.open(settings)
  if not t then return nil, msg, code, detail end
  local self = setmetatable({
    t = t, eng = csmtp.new(limits), timeout = settings.timeout, secrets = {},
    helo = opts.helo or smtp.default_helo(t),
    allow_cleartext_auth = opts.allow_cleartext_auth == true,
    chunking = opts.chunking ~= false, pipelining = opts.pipelining ~= false,
    trace = opts.trace, secure = settings.tls == "tls", capabilities = {},
    host = settings.host, port = settings.port,
  }, Session)
  local ok, d
  ok, msg, code, d = self:_start(settings)
  if not ok then return nil, msg, code, d end
  return self
end

-- ---------------------------------------------------------------- AUTH

-- Runs an AUTH exchange already queued; on_challenge(text) answers a 334
-- (queues a response) or returns false to cancel.
function Session:_auth_exchange(on_challenge)
  local ok, msg, code = self:_flush(nil, true)
  if not ok then return nil, msg, code end
  local rounds = 0
  while true do
    local r, rmsg, rcode, d = self:_reply()
    if not r then return nil, rmsg, rcode, d end
    if r.code == 235 then
      self.authenticated = true
      return true
    end
    if r.code ~= 334 then
      return self:_refused(r, r.code < 500 and "ETEMPFAIL" or "EAUTH")
    end
    rounds = rounds + 1
    if rounds > 8 or on_challenge(r.text, rounds) == false then self.eng:auth_cancel() end
    ok, msg, code = self:_flush(nil, true)
    if not ok then return nil, msg, code end
  end
end

local function decode(text)
  return b64.decode(text) or ""
end

local MECH = {}

function MECH.PLAIN(self, user, pass)
  self:_secret(b64.encode("\0" .. user .. "\0" .. pass, 0))
  self.eng:auth_plain(user, pass)
  return self:_auth_exchange(function() return false end)
end

function MECH.LOGIN(self, user, pass)
  self.eng:auth("LOGIN")
  return self:_auth_exchange(function(_, round)
    if round > 2 then return false end
    self.eng:auth_response(round == 1 and user or pass)
  end)
end

MECH["CRAM-MD5"] = function(self, user, pass)
  self.eng:auth("CRAM-MD5")
  return self:_auth_exchange(function(challenge, round)
    if round > 1 then return false end
    self.eng:auth_cram(user, pass, challenge)
  end)
end

-- OAuth failures come as a 334 with a JSON error; the client answers
-- with an empty line (XOAUTH2) or ^A (RFC 7628 3.2.3) to get the 5xx.
function MECH.XOAUTH2(self, user, token)
  self:_secret(b64.encode("user=" .. user .. "\1auth=Bearer " .. token .. "\1\1", 0))
  self.eng:auth_xoauth2(user, token)
  return self:_auth_exchange(function(text, round)
    self.oauth_error = decode(text)
    if round > 1 then return false end
    self.eng:auth_response("")
  end)
end

function MECH.OAUTHBEARER(self, user, token)
  self.eng:auth_oauthbearer(user, token, self.host or "", self.port or 0)
  return self:_auth_exchange(function(text, round)
    self.oauth_error = decode(text)
    if round > 1 then return false end
    self.eng:auth_response("\1")
  end)
end

function Session:_login_checks(fname, user, secret, what)
  if type(user) ~= "string" or user == "" then
    error(fname .. ": user must be a non-empty string", 3)
  end
  if type(secret) ~= "string" or secret == "" then
    error(fname .. ": " .. what .. " must be a non-empty string", 3)
  end
  if user:find("[%z\r\n]") then error(fname .. ": user contains CR, LF or NUL", 3) end
  if secret:find("[%z\r\n]") then error(fname .. ": " .. what .. " contains CR, LF or NUL", 3) end
  self:_secret(secret)
  if self.authenticated then
    error(fname .. ": already authenticated (RFC 4954 4: one AUTH per session)", 3)
  end
  if not self.secure and not self.allow_cleartext_auth then
    return nil, fname .. ": refusing to send credentials without TLS "
      .. "(allow_cleartext_auth = true overrides)", "ETLSREQUIRED"
  end
  if not self.capabilities.AUTH then
    return nil, fname .. ": the server offers no AUTH", "EAUTH"
  end
  return true
end

local function offered_set(caps)
  local set = {}
  for _, m in ipairs(caps.AUTH or {}) do set[m] = true end
  return set
end

-- The strongest mechanism both allowed and offered.
local function choose(allowed, offered)
  for _, m in ipairs(smtp.MECHANISMS) do
    if allowed[m] and offered[m] then return m end
  end
  return nil
end

--- Authenticates (RFC 4954) with the strongest mechanism the server
--- offers among smtp.MECHANISMS, or among `mechanism` (a name or a list).
---@param user string
---@param password string
---@param mechanism? string|string[] "PLAIN", "LOGIN", "CRAM-MD5"
---@return boolean|nil ok
---@return string? message
---@return string? code "EAUTH", "ETLSREQUIRED", "ETEMPFAIL", ...
---@return table? detail
function Session:login(user, password, mechanism)
  local ok, msg, code = check(self, "smtp:login")
  if not ok then return nil, msg, code end
  local allowed = {}
  if mechanism == nil then
    for _, m in ipairs(smtp.MECHANISMS) do allowed[m] = true end
  elseif type(mechanism) == "string" or type(mechanism) == "table" then
    for _, m in ipairs(type(mechanism) == "string" and { mechanism } or mechanism) do
      if type(m) ~= "string" or not MECH[m:upper()] or m:upper():find("OAUTH") then
        error("smtp:login: unknown mechanism " .. tostring(m)
          .. " (PLAIN, LOGIN, CRAM-MD5; OAuth tokens go to login_oauth2)", 2)
      end
      allowed[m:upper()] = true
    end
  else
    error("smtp:login: mechanism must be a string or a list of strings", 2)
  end
  ok, msg, code = self:_login_checks("smtp:login", user, password, "password")
  if not ok then return nil, msg, code end
  local mech = choose(allowed, offered_set(self.capabilities))
  if not mech then
    return nil, "smtp:login: the server offers none of the allowed mechanisms (it offers "
      .. table.concat(self.capabilities.AUTH, " ") .. ")", "EAUTH"
  end
  self:_deadline()
  return MECH[mech](self, user, password)
end

--- Authenticates with an OAuth 2.0 bearer token: XOAUTH2 (default when
--- offered) or OAUTHBEARER (RFC 7628).
---@param user string
---@param token string
---@param mechanism? "XOAUTH2"|"OAUTHBEARER"
---@return boolean|nil ok
---@return string? message
---@return string? code
---@return table? detail
function Session:login_oauth2(user, token, mechanism)
  local ok, msg, code = check(self, "smtp:login_oauth2")
  if not ok then return nil, msg, code end
  if mechanism ~= nil and mechanism ~= "XOAUTH2" and mechanism ~= "OAUTHBEARER" then
    error('smtp:login_oauth2: mechanism must be "XOAUTH2" or "OAUTHBEARER"', 2)
  end
  ok, msg, code = self:_login_checks("smtp:login_oauth2", user, token, "token")
  if not ok then return nil, msg, code end
  local offered = offered_set(self.capabilities)
  local mech = mechanism or (offered.XOAUTH2 and "XOAUTH2")
    or (offered.OAUTHBEARER and "OAUTHBEARER")
  if not mech or not offered[mech] then
    return nil, "smtp:login_oauth2: the server offers " .. (mech or "neither XOAUTH2 nor "
      .. "OAUTHBEARER") .. (mech and " not" or ""), "EAUTH"
  end
  self:_deadline()
  return MECH[mech](self, user, token)
end

-- ---------------------------------------------------------------- sending

-- RFC 3461 4: xtext for ENVID and ORCPT.
local function xtext(s)
  return (s:gsub("[^!-*,-<>-~]", function(c) return ("+%02X"):format(c:byte()) end))
end

local NOTIFY = { NEVER = true, SUCCESS = true, FAILURE = true, DELAY = true }

local function notify_param(v, fname)
  if v == nil then return nil end
  local list = type(v) == "string" and { v } or v
  if type(list) ~= "table" or #list == 0 then
    error(fname .. ": notify must be a string or a list of NEVER/SUCCESS/FAILURE/DELAY", 4)
  end
  local out = {}
  for i, n in ipairs(list) do
    if type(n) ~= "string" or not NOTIFY[n:upper()] then
      error(fname .. ": notify must be NEVER, SUCCESS, FAILURE or DELAY", 4)
    end
    out[i] = n:upper()
  end
  return "NOTIFY=" .. table.concat(out, ",")
end

-- what: a name, or the index i of a recipient (named to[i] only on error)
local function check_addr(addr, what, allow_empty, suffix)
  local ok, why = type(addr) == "string", "must be a string address"
  if ok then ok, why = csmtp.check_path(addr, allow_empty) end
  if not ok then
    if type(what) == "number" then what = "to[" .. what .. "]" .. (suffix or "") end
    error("smtp:send: " .. what .. " " .. why, 4)
  end
  return addr, why   -- why: whether addr has 8-bit bytes
end

-- The envelope: {from =, rcpts = {{addr =, params =}, ...}, utf8 =, dsn =}.
local function envelope(args, to)
  local from, from8 = check_addr(args.from, "from", true)
  if type(to) == "string" then to = { to } end
  if type(to) ~= "table" or #to == 0 then
    error("smtp:send: to must be an address or a non-empty list of addresses", 3)
  end
  local env = { from = from, rcpts = {}, utf8 = from8, dsn = false }
  for i, r in ipairs(to) do
    local addr, notify, orcpt = r, args.notify, nil
    if type(r) == "table" then
      addr, notify, orcpt = r.addr, r.notify or args.notify, r.orcpt
    end
    local _, addr8 = check_addr(addr, i, false)
    local params = ""
    if notify or orcpt then
      local list = { notify_param(notify, "smtp:send") }
      if orcpt then
        if orcpt == true then orcpt = addr end
        check_addr(orcpt, i, false, ".orcpt")
        list[#list + 1] = (csmtp.has_8bit(orcpt) and "ORCPT=utf-8;" or "ORCPT=rfc822;")
          .. xtext(orcpt)
      end
      params = table.concat(list, " ")
      env.dsn = true
    end
    env.utf8 = env.utf8 or addr8
    env.rcpts[i] = { addr = addr, params = params }
  end
  return env
end

-- The message as {str =} or {src =}, with what is known about it.
local function message_of(args)
  local m = args.message
  local size = args.size
  if size ~= nil and (type(size) ~= "number" or size < 0 or size % 1 ~= 0) then
    error("smtp:send: size must be an integer >= 0", 3)
  end
  if type(m) == "string" then
    -- SIZE counts the message as it goes out: line ends made CRLF (RFC 1870 4)
    local eightbit, wire = csmtp.scan(m)
    return { str = m, size = size or wire, eightbit = eightbit }
  elseif type(m) == "function" then
    return { src = m, size = size, eightbit = args.eightbit }
  elseif (type(m) == "table" or type(m) == "userdata") and type(m.source) == "function" then
    if size == nil and type(m.size) == "function" then size = m:size() end
    return { src = m:source(), size = size, eightbit = args.eightbit, object = m }
  end
  error("smtp:send: message must be a string, an LTN12 source or an object with a :source()"
    .. " method", 3)
end

-- MAIL FROM parameters; or nil, msg, code when the server cannot take it.
function Session:_mail_params(env, msg, args)
  local caps, p = self.capabilities, {}
  if msg.size and caps.SIZE then
    if caps.SIZE > 0 and msg.size > caps.SIZE then
      return nil, ("smtp:send: the message (%d bytes) exceeds the server's SIZE limit (%d)")
        :format(msg.size, caps.SIZE), "ETOOLONG"
    end
    p[#p + 1] = ("SIZE=%d"):format(msg.size)
  end
  if caps["8BITMIME"] and (msg.eightbit ~= false or env.utf8) then
    -- a string is scanned; for a source the rule is: 8BITMIME whenever the
    -- server offers it (harmless for 7-bit data) unless eightbit = false
    if msg.eightbit or msg.src or env.utf8 then p[#p + 1] = "BODY=8BITMIME" end
  elseif msg.eightbit and not args.allow_8bit then
    return nil, "smtp:send: the message has 8-bit data and the server does not offer 8BITMIME"
      .. " (allow_8bit = true sends it anyway)", "EINVAL"
  end
  if env.utf8 then
    if not caps.SMTPUTF8 then
      return nil, "smtp:send: an address is not ASCII and the server does not offer SMTPUTF8",
        "EINVAL"
    end
    p[#p + 1] = "SMTPUTF8"
  end
  local dsn = args.dsn
  if dsn ~= nil then
    if type(dsn) ~= "table" then error("smtp:send: dsn must be a table", 3) end
    if dsn.ret ~= nil then
      local ret = type(dsn.ret) == "string" and dsn.ret:upper()
      if ret ~= "FULL" and ret ~= "HDRS" then
        error('smtp:send: dsn.ret must be "FULL" or "HDRS"', 3)
      end
      p[#p + 1] = "RET=" .. ret
    end
    if dsn.envid ~= nil then
      if type(dsn.envid) ~= "string" or dsn.envid == "" or #dsn.envid > 100 then
        error("smtp:send: dsn.envid must be a string of 1..100 bytes", 3)
      end
      p[#p + 1] = "ENVID=" .. xtext(dsn.envid)
    end
  end
  if (env.dsn or (dsn and (dsn.ret or dsn.envid))) and not caps.DSN then
    return nil, "smtp:send: DSN parameters given and the server does not offer DSN", "EINVAL"
  end
  return table.concat(p, " ")
end

-- Reads the MAIL and RCPT replies into the result.
function Session:_envelope_replies(env, res)
  local r, msg, code, d = self:_reply()
  if not r then return nil, msg, code, d end
  if r.code ~= 250 then res.mail_failed = r end
  for _, rc in ipairs(env.rcpts) do
    r, msg, code, d = self:_reply()
    if not r then return nil, msg, code, d end
    if r.code == 250 or r.code == 251 then
      res.accepted[#res.accepted + 1] = rc.addr
    else
      res.rejected[#res.rejected + 1] = { addr = rc.addr, code = r.code, enhanced = r.enhanced,
                                          text = r.text }
    end
  end
  return true
end

-- Non-pipelined envelope: each command waits for its reply; stops early.
function Session:_envelope_stepwise(env, params, res)
  self.eng:mail(env.from, params)
  local r, msg, code, d = self:_command()
  if not r then return nil, msg, code, d end
  if r.code ~= 250 then
    res.mail_failed = r
    return true
  end
  for _, rc in ipairs(env.rcpts) do
    self.eng:rcpt(rc.addr, rc.params)
    r, msg, code, d = self:_command()
    if not r then return nil, msg, code, d end
    if r.code == 250 or r.code == 251 then
      res.accepted[#res.accepted + 1] = rc.addr
    else
      res.rejected[#res.rejected + 1] = { addr = rc.addr, code = r.code, enhanced = r.enhanced,
                                          text = r.text }
    end
  end
  return true
end

-- The error for a transaction that cannot go on (after the envelope).
function Session:_envelope_error(res)
  if res.mail_failed then return self:_refused(res.mail_failed) end
  local temp = false
  for _, rj in ipairs(res.rejected) do temp = temp or rj.code < 500 end
  local first = res.rejected[1]
  local d = { code = first.code, enhanced = first.enhanced, text = first.text, stage = "RCPT",
              rejected = res.rejected }
  return nil, ("smtp: every recipient was refused (first: %s: %d%s %s)"):format(first.addr,
    first.code, first.enhanced and " " .. first.enhanced or "", first.text:gsub("\n", " ")),
    temp and "ETEMPFAIL" or "EREJECTED", d
end

-- RSET after a failed transaction, then the failure itself (called with
-- the nil, msg, code, detail of the failure).
function Session:_abort(_, msg, code, d)
  if not self.dead then
    self.eng:rset()
    local r, m2, c2, d2 = self:_command()
    if not r then return nil, m2, c2, d2 end
  end
  return nil, msg, code, d
end

-- A source wrapper: string slices, 8-bit policing, errors as values.
local function pieces(msg, police)
  local src = msg.src
  if msg.str then
    local s, pos = msg.str, 1
    src = function()
      if pos > #s then return nil end
      local piece = s:sub(pos, pos + SLICE - 1)
      pos = pos + SLICE
      return piece
    end
  end
  return function()
    local chunk, err = src()
    if chunk == nil then
      if err ~= nil then
        return nil, "smtp:send: the message source failed: " .. tostring(err), "EIO"
      end
      return nil
    end
    if type(chunk) ~= "string" then
      return nil, "smtp:send: the message source returned a " .. type(chunk), "EINVAL"
    end
    if police and csmtp.has_8bit(chunk) then
      return nil, "smtp:send: the message has 8-bit data and the server does not offer "
        .. "8BITMIME; the transfer was stopped before its end, nothing was delivered", "EINVAL"
    end
    return chunk
  end
end

-- Streams the body through send_piece(chunk, final), one chunk ahead so the
-- end of the body goes out with the last chunk (no small final write).
function Session:_stream(next_chunk, send_piece)
  local cur, err, code = next_chunk()
  if err then return self:_die(err, code) end
  while true do
    local nxt
    if cur ~= nil then
      nxt, err, code = next_chunk()
      if err then return self:_die(err, code) end
    end
    self:_deadline()   -- each piece of the body gets the whole timeout
    if cur ~= "" or nxt == nil then
      local ok, msg, scode, d = send_piece(cur or "", nxt == nil)
      if not ok then return nil, msg, scode, d end
    end
    if nxt == nil then return true end
    cur = nxt
  end
end

function Session:_send_data_body(msg, police)
  local eng = self.eng
  self:_trace("C", "(message body)")
  return self:_stream(pieces(msg, police), function(chunk, final)
    local out, em, ec = eng:body(chunk, final)
    if not out then return self:_die(em, ec) end
    local ok, m, c = self.t:send(out)
    if not ok then return self:_die("smtp: sending the message: " .. tostring(m), c) end
    return true
  end)
end

-- Stops the body stream when the server refused a chunk.
local STOP = {}

-- BDAT chunks; with pipelining one reply may be outstanding while the
-- next chunk goes out. Returns true, final reply | false, first refusal.
function Session:_send_bdat_body(msg, police, pipelined)
  local eng, waiting, failed, last = self.eng, 0, nil, nil
  local function read_one()
    local r, rm, rc, rd = self:_reply()
    if not r then return nil, rm, rc, rd end
    waiting = waiting - 1
    if r.code ~= 250 and not failed then failed = r end
    last = r
    return true
  end
  self:_trace("C", "(message body in BDAT chunks)")
  local ok, m, c, d = self:_stream(pieces(msg, police), function(chunk, final)
    local head, body, tail = eng:bdat(chunk, final)
    local sent, sm, sc = self:_flush_parts(head, body, tail)
    if not sent then return nil, sm, sc end
    waiting = waiting + 1
    local keep = (final or not pipelined) and 0 or 1
    while waiting > keep do
      local okr, rm, rc, rd = read_one()
      if not okr then return nil, rm, rc, rd end
    end
    if failed and not final then return nil, STOP end
    return true
  end)
  if not ok and m == STOP then
    while waiting > 0 do
      local okr, rm, rc, rd = read_one()
      if not okr then return nil, rm, rc, rd end
    end
    return false, failed
  end
  if not ok then return nil, m, c, d end
  return true, failed or last
end

function Session:_flush_parts(head, body, tail)
  local out = head
  if #head + #body <= ONE_WRITE then
    out = head .. body .. (tail or "")
    body, tail = nil, nil
  end
  local ok, m, c = self.t:send(out)
  if ok and body then ok, m, c = self.t:send(body) end
  if ok and tail then ok, m, c = self.t:send(tail) end
  if not ok then return self:_die("smtp: sending the message: " .. tostring(m), c) end
  return true
end

local function result_of(res, r)
  res.code, res.enhanced, res.text = r.code, r.enhanced, r.text
  res.mail_failed = nil
  return res
end

-- One transaction with DATA (RFC 5321 3.3), pipelined when offered.
function Session:_send_data(env, params, msg, police, pipelined)
  local eng, res = self.eng, { accepted = {}, rejected = {} }
  local ok, m, c, d
  if pipelined then
    eng:mail(env.from, params)
    for _, rc in ipairs(env.rcpts) do eng:rcpt(rc.addr, rc.params) end
    eng:data()
    ok, m, c = self:_flush()
    if not ok then return nil, m, c end
    ok, m, c, d = self:_envelope_replies(env, res)
    if not ok then return nil, m, c, d end
  else
    ok, m, c, d = self:_envelope_stepwise(env, params, res)
    if not ok then return nil, m, c, d end
    if res.mail_failed or #res.accepted == 0 then
      return self:_abort(self:_envelope_error(res))
    end
    eng:data()
    ok, m, c = self:_flush()
    if not ok then return nil, m, c end
  end
  local r
  r, m, c, d = self:_reply()
  if not r then return nil, m, c, d end
  if r.code ~= 354 then
    if res.mail_failed or #res.accepted == 0 then return self:_abort(self:_envelope_error(res)) end
    return self:_abort(self:_refused(r))
  end
  if res.mail_failed or #res.accepted == 0 then
    -- 354 with nobody to deliver to (RFC 2920 3.1): end the empty body
    local tail, tm, tc = eng:body("", true)
    if not tail then return self:_die(tm, tc) end
    ok, m, c = self:_flush(tail)
    if not ok then return nil, m, c end
    r, m, c, d = self:_reply()
    if not r then return nil, m, c, d end
    return self:_abort(self:_envelope_error(res))
  end
  ok, m, c, d = self:_send_data_body(msg, police)
  if not ok then return nil, m, c, d end
  r, m, c, d = self:_reply()
  if not r then return nil, m, c, d end
  if r.code ~= 250 then return self:_abort(self:_refused(r)) end
  return result_of(res, r)
end

-- One transaction with BDAT (RFC 3030). A string message goes with the
-- envelope in one write when pipelining.
function Session:_send_bdat(env, params, msg, police, pipelined)
  local eng, res = self.eng, { accepted = {}, rejected = {} }
  local ok, m, c, d
  if pipelined and msg.str and #msg.str <= BIG then
    eng:mail(env.from, params)
    for _, rc in ipairs(env.rcpts) do eng:rcpt(rc.addr, rc.params) end
    if self.trace then self:_trace("C", "(message body in one BDAT LAST)") end
    local head, body, tail = eng:bdat(msg.str, true)
    ok, m, c = self:_flush_parts(head, body, tail)
    if not ok then return nil, m, c end
    ok, m, c, d = self:_envelope_replies(env, res)
    if not ok then return nil, m, c, d end
    local r
    r, m, c, d = self:_reply()
    if not r then return nil, m, c, d end
    if res.mail_failed or #res.accepted == 0 then return self:_abort(self:_envelope_error(res)) end
    if r.code ~= 250 then return self:_abort(self:_refused(r)) end
    return result_of(res, r)
  end
  if pipelined then
    eng:mail(env.from, params)
    for _, rc in ipairs(env.rcpts) do eng:rcpt(rc.addr, rc.params) end
    ok, m, c = self:_flush()
    if not ok then return nil, m, c end
    ok, m, c, d = self:_envelope_replies(env, res)
  else
    ok, m, c, d = self:_envelope_stepwise(env, params, res)
  end
  if not ok then return nil, m, c, d end
  if res.mail_failed or #res.accepted == 0 then return self:_abort(self:_envelope_error(res)) end
  local r
  ok, r, c, d = self:_send_bdat_body(msg, police, pipelined)
  if ok == nil then return nil, r, c, d end
  if not ok or r.code ~= 250 then return self:_abort(self:_refused(r)) end
  return result_of(res, r)
end

---@class lmail.SmtpSendArgs
---@field from string envelope sender ("" for the null reverse-path)
---@field to? string|table recipients: addresses or {addr =, notify =, orcpt =}
---@field message string|function|table the message: string, LTN12 source, or object with :source()
---@field size? integer message size for SIZE when it is not a string
---@field eightbit? boolean for a source: whether it has 8-bit data (default: unknown)
---@field allow_8bit? boolean send 8-bit data to a server without 8BITMIME anyway
---@field dsn? table {ret = "FULL"|"HDRS", envid = string} (RFC 3461)
---@field notify? string|string[] NOTIFY for every recipient (NEVER, SUCCESS, FAILURE, DELAY)

--- Sends one message (MAIL, RCPT per recipient, DATA or BDAT). Refused
--- recipients are reported per recipient; it fails only when none is
--- accepted or the message itself is refused.
---@param args lmail.SmtpSendArgs
---@return table|nil result {accepted =, rejected =, code =, enhanced =, text =}
---@return string? message
---@return string? code
---@return table? detail
function Session:send(args)
  local ok, m, c = check(self, "smtp:send")
  if not ok then return nil, m, c end
  if type(args) ~= "table" then error("smtp:send: expects a table of arguments", 2) end
  if args.message == nil then error("smtp:send: message is required", 2) end
  local msg = message_of(args)
  local to = args.to
  if to == nil and msg.object and type(msg.object.recipients) == "function" then
    to = msg.object:recipients()
  end
  local env = envelope(args, to)
  local params
  params, m, c = self:_mail_params(env, msg, args)
  if not params then return nil, m, c end
  local caps = self.capabilities
  -- a source the server cannot take 8-bit data for is checked as it goes
  local police = msg.src ~= nil and not caps["8BITMIME"] and not args.allow_8bit
  local pipelined = self.pipelining and caps.PIPELINING and true or false
  self:_deadline()
  if self.chunking and caps.CHUNKING then
    return self:_send_bdat(env, params, msg, police, pipelined)
  end
  return self:_send_data(env, params, msg, police, pipelined)
end

-- ---------------------------------------------------------------- the rest

function Session:_simple(fname, queue)
  local ok, m, c = check(self, fname)
  if not ok then return nil, m, c end
  self:_deadline()
  queue()
  local r, msg, code, d = self:_command()
  if not r then return nil, msg, code, d end
  if r.code >= 400 then return self:_refused(r) end
  return r
end

--- RSET: abandons the current transaction.
---@return boolean|nil ok
---@return string? message
---@return string? code
---@return table? detail
function Session:rset()
  local r, m, c, d = self:_simple("smtp:rset", function() self.eng:rset() end)
  if not r then return nil, m, c, d end
  return true
end

--- NOOP: checks the connection is alive (and resets the server's idle timer).
---@return boolean|nil ok
---@return string? message
---@return string? code
---@return table? detail
function Session:noop()
  local r, m, c, d = self:_simple("smtp:noop", function() self.eng:noop() end)
  if not r then return nil, m, c, d end
  return true
end

--- VRFY: asks the server about a user or mailbox (most servers answer 252).
---@param addr string
---@return table|nil reply {code =, enhanced =, text =}
---@return string? message
---@return string? code
---@return table? detail
function Session:vrfy(addr)
  if type(addr) ~= "string" or addr == "" or addr:find("%c") then
    error("smtp:vrfy: addr must be a non-empty string without control characters", 2)
  end
  local r, m, c, d = self:_simple("smtp:vrfy", function() self.eng:vrfy(addr) end)
  if not r then return nil, m, c, d end
  return { code = r.code, enhanced = r.enhanced, text = r.text }
end

function Session:_quit_quietly()
  if self.dead or not self.eng or self.eng:isclosed() then return end
  if pcall(self.eng.quit, self.eng) then
    pcall(self._flush, self)
    if not self.dead then pcall(self._reply, self) end
  end
end

--- QUIT, then close. Always ends the session; returns true.
---@return boolean true
function Session:quit()
  if getmetatable(self) ~= Session then error("smtp:quit: not an SMTP session", 2) end
  if self.closed then return true end
  if not self.dead then
    self:_deadline()
    self:_quit_quietly()
  end
  return self:close()
end

--- Closes the connection without QUIT. Idempotent; also __close and __gc.
---@return boolean true
function Session:close()
  if self.closed then return true end
  self.closed = true
  self:_teardown()
  return true
end
Session.__close = Session.close
Session.__gc = Session.close

function Session:__tostring()
  return ("lmail.smtp.session (%s:%s, %s)"):format(tostring(self.host or "transport"),
    tostring(self.port or "-"), (self.closed or self.dead) and "closed" or "open")
end

return smtp
