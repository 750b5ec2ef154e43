--- lmail.connect: what the SMTP and POP3 sessions share about reaching a
-- server: checking the connection options, choosing the TLS mode from the
-- port, connecting (TCP, or a transport the caller supplies), implicit TLS,
-- the STARTTLS/STLS upgrade and per-operation deadlines. Internal to lmail;
-- the options are documented with lmail.smtp.open and lmail.pop3.open.
local tcp = require "lmail.transport.tcp"
local tls = require "lmail.tls"

local connect = {}

local MODES = { tls = true, starttls = true, none = true }

---@class lmail.ConnectProfile
---@field name string "smtp.open" or "pop3.open", for error messages
---@field default_port integer port used when neither port nor tls is given
---@field tls_port integer the implicit-TLS port (465, 995)
---@field plain_port integer the port for a plain/STARTTLS default (587, 110)

local STRING_OPTS = { "host", "cafile", "capath", "cert", "key", "servername" }

--- Checks the options shared by smtp.open and pop3.open and fills in the
--- defaults; raises (misuse) on a wrong type. Returns a new table.
---@param opts table
---@param profile lmail.ConnectProfile
---@return table settings {host, port, tls, timeout, tls_opts, transport, ...}
function connect.settings(opts, profile)
  local fname = profile.name
  if type(opts) ~= "table" then
    error(fname .. ": options must be a table, got " .. type(opts), 3)
  end
  for _, k in ipairs(STRING_OPTS) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      error(fname .. ": opts." .. k .. " must be a string", 3)
    end
  end
  if opts.transport == nil and opts.host == nil then
    error(fname .. ": opts.host is required", 3)
  end
  local port = opts.port
  if port ~= nil and (type(port) ~= "number" or port % 1 ~= 0 or port < 1 or port > 65535) then
    error(fname .. ": opts.port must be an integer 1..65535", 3)
  end
  local mode = opts.tls
  if mode ~= nil and not MODES[mode] then
    error(fname .. ': opts.tls must be "tls", "starttls" or "none"', 3)
  end
  if mode == nil then
    -- The port decides: the implicit-TLS port means TLS from the first
    -- byte; anything else upgrades with STARTTLS/STLS.
    if port == nil then port = profile.default_port end
    mode = port == profile.tls_port and "tls" or "starttls"
  elseif port == nil then
    port = mode == "tls" and profile.tls_port or profile.plain_port
  end
  local timeout = opts.timeout
  if timeout == nil then timeout = tcp.DEFAULT_TIMEOUT end
  if timeout ~= false and (type(timeout) ~= "number" or timeout ~= timeout or timeout < 0) then
    error(fname .. ": opts.timeout must be a number >= 0 or false", 3)
  end
  if opts.insecure ~= nil and type(opts.insecure) ~= "boolean" then
    error(fname .. ": opts.insecure must be a boolean", 3)
  end
  return {
    host = opts.host, port = port, tls = mode, timeout = timeout or nil,
    transport = opts.transport,
    tls_opts = {
      host = opts.servername or opts.host, cafile = opts.cafile, capath = opts.capath,
      cert = opts.cert, key = opts.key, insecure = opts.insecure == true,
      context = opts.tls_context,
    },
  }
end

--- The transport for settings: the caller's own (opts.transport), or a TCP
--- connection; wrapped in TLS at once when the mode is "tls".
---@return table|userdata|nil transport
---@return string? message
---@return string? code
---@return table? detail
function connect.open(settings)
  local t = settings.transport
  if t == nil then
    local msg, code
    t, msg, code = tcp.connect(settings.host, settings.port,
      { timeout = settings.timeout or false })
    if not t then return nil, msg, code end
  end
  if settings.tls == "tls" then
    return connect.tls(t, settings)
  end
  return t
end

--- Runs the TLS handshake over t (implicit TLS, or after a STARTTLS/STLS
--- go-ahead) within the settings' timeout. On failure t is closed.
function connect.tls(t, settings)
  local o = {}
  for k, v in pairs(settings.tls_opts) do o[k] = v end
  o.timeout = settings.timeout
  return tls.wrap(t, o)
end

--- Gives the next operation on t an overall deadline of timeout seconds
--- from now (nil: none), as an absolute deadline where the transport has
--- one, so a server that drips bytes cannot stretch the operation.
function connect.deadline(t, timeout)
  if t.setdeadline then
    t:setdeadline(timeout and tcp.now() + timeout or nil)
  else
    t:settimeout(timeout)
  end
end

return connect
