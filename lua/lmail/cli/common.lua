--- lmail.cli.common: what the subcommands share: turning the connection
-- flags into settings (over the environment and the config file), opening
-- a logged-in POP3 session, reading a message by number.
local config = require "lmail.config"

local common = {}

-- Flag name (as args.parse stores it) -> settings key, with the reader.
local FLAGS = {
  host = "string", port = "number", tls = "string", user = "string", cafile = "string",
  timeout = "number", insecure = "boolean", allow_cleartext_auth = "boolean",
  profile = "string",
}

--- The settings for proto from the parsed flags; nil, message, code on a
--- bad value or configuration.
---@return table|nil
---@return string? message
---@return string? code
function common.settings(ctx, proto, values)
  local opts = {}
  for key, kind in pairs(FLAGS) do
    local v = values[key]
    if v ~= nil then
      if kind == "number" then
        local n = tonumber(v)
        if not n then return nil, "--" .. key:gsub("_", "-") .. " must be a number", "EUSAGE" end
        v = n
      end
      opts[key] = v
    end
  end
  local s, msg, code = config.resolve(proto, opts, ctx.getenv)
  if not s then return nil, msg, code == "EINVAL" and "ECONFIG" or code end
  if s.host == nil then
    return nil, "no server: give --host, LMAIL_HOST or a config profile", "EUSAGE"
  end
  return s
end

--- A copy of settings with the fields of extra added.
function common.with(settings, extra)
  local t = {}
  for k, v in pairs(settings) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

--- The options of smtp.open / pop3.open from settings.
function common.open_options(s)
  return {
    host = s.host, port = s.port, tls = s.tls, timeout = s.timeout, cafile = s.cafile,
    capath = s.capath, insecure = s.insecure, helo = s.helo,
    allow_cleartext_auth = s.allow_cleartext_auth,
  }
end

--- A logged-in POP3 session, or nil, message, code.
function common.pop3_session(s)
  local pop3 = require "lmail.pop3"
  local p, msg, code = pop3.open(common.open_options(s))
  if not p then return nil, msg, code end
  if s.user then
    if s.password == nil then
      p:close()
      return nil, "no password for " .. s.user .. ": set LMAIL_PASSWORD or password_command",
        "EAUTH"
    end
    local ok, lmsg, lcode = p:login(s.user, s.password, s.mechanism)
    if not ok then
      p:close()
      return nil, lmsg, lcode
    end
  end
  return p
end

--- Message number n (a positional argument) as an integer, or nil.
function common.message_number(arg)
  local n = tonumber(arg)
  if not n or n < 1 or n % 1 ~= 0 then return nil end
  return math.floor(n)
end

--- Whether fd 1 or 2 (which) is a terminal: asks test(1), which inherits
--- our descriptors.
function common.isatty(which)
  local ok, _, code = os.execute("test -t " .. tostring(which))
  if type(ok) == "number" then return ok == 0 end -- Lua 5.1
  return ok == true and (code == nil or code == 0)
end

return common
