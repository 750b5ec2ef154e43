--- lmail.transport.tcp: the default transport, blocking TCP with deadlines
-- (csrc/net/lm_net.c). Every transport has the same contract (DESIGN.md 3):
--   t:send(data)     -> #data | nil, msg, code   (all bytes, or a failure)
--   t:receive(max)   -> 1..max bytes | nil, msg, code
--   t:settimeout(s)  per-operation timeout in seconds (nil: none)
--   t:setdeadline(abs) / t:deadline()   absolute limit on tcp.now()'s clock
--   t:close()        idempotent; also __gc and __close
-- Codes: ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENAMERESOLVE, ECLOSED (the
-- peer closed; from receive: an orderly end of stream), EIO, EINVAL.
-- A timeout never drops data: whatever arrived stays for the next receive.
local core = require "lmail.core"

local net = core.net
local tcp = {}

--- The default timeout in seconds for connect and for each later operation.
tcp.DEFAULT_TIMEOUT = 30

---@class lmail.TcpOptions
---@field timeout? number seconds for the connect and then per operation (default 30); false: none

--- Connects to host:port (IPv6 and IPv4 addresses are tried in turn, all
--- within one timeout).
---@param host string a name or an address literal
---@param port integer|string a port number or a service name
---@param opts? lmail.TcpOptions
---@return userdata|nil transport an `lmail.net.socket`
---@return string? message
---@return string? code
function tcp.connect(host, port, opts)
  if type(host) ~= "string" then
    error("tcp.connect: host must be a string, got " .. type(host), 2)
  end
  if type(port) ~= "number" and type(port) ~= "string" then
    error("tcp.connect: port must be a number or a string, got " .. type(port), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("tcp.connect: opts must be a table, got " .. type(opts), 2)
  end
  local timeout = tcp.DEFAULT_TIMEOUT
  if opts and opts.timeout ~= nil then
    timeout = opts.timeout
    if timeout == false then
      timeout = nil
    elseif type(timeout) ~= "number" or timeout < 0 then
      error("tcp.connect: opts.timeout must be a number >= 0 or false", 2)
    end
  end
  if type(port) == "number" and port ~= math.floor(port) then
    return nil, "tcp.connect: port must be an integer", "EINVAL"
  end
  return net.connect(host, port, timeout)
end

--- Seconds on the monotonic clock that setdeadline uses.
---@return number
function tcp.now()
  return net.now()
end

--- Blocks for `seconds` (0..86400) on the monotonic clock: for rate
--- limits and schedulers that have nothing to do.
---@param seconds number
function tcp.sleep(seconds)
  if type(seconds) ~= "number" then error("tcp.sleep: seconds must be a number", 2) end
  net.sleep(seconds)
end

return tcp
