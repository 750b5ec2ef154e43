--- lmail.config: account settings without secrets in code.
-- config.resolve(kind, opts) merges, from strongest to weakest:
--   1. the table the caller passes (lmail.send{...}, command-line flags);
--   2. environment variables: LMAIL_SMTP_<KEY> / LMAIL_POP3_<KEY> for one
--      protocol, then LMAIL_<KEY> for both (KEY: HOST, PORT, TLS, USER,
--      PASSWORD, PASSWORD_COMMAND, FROM, CAFILE, CAPATH, TIMEOUT, INSECURE,
--      ALLOW_CLEARTEXT_AUTH, HELO, MECHANISM);
--   3. a profile of the config file $LMAIL_CONFIG, else
--      $XDG_CONFIG_HOME/lmail/config.lua (default ~/.config/lmail/config.lua):
--        return {
--          default = "work",
--          profiles = {
--            work = { host = "mail.example.org", user = "me@example.org",
--                     password_command = "pass show mail/work", from = "Me <me@example.org>",
--                     smtp = { port = 587 }, pop3 = { port = 995 } },
--          },
--        }
--      The profile is opts.profile, else $LMAIL_PROFILE, else `default`;
--      its smtp = {...} / pop3 = {...} tables override its common keys.
-- A password_command (like msmtp's passwordeval) runs through the shell
-- when no password was given; the first line of its output is the
-- password. The file is read as data: it runs with no access to globals.
local config = {}

-- Keys an environment variable may set, and how to read its text.
local ENV_KEYS = {
  host = "string", port = "number", tls = "string", user = "string", password = "string",
  password_command = "string", from = "string", cafile = "string", capath = "string",
  timeout = "number", insecure = "boolean", allow_cleartext_auth = "boolean",
  helo = "string", mechanism = "string",
}

local PREFIX = { smtp = "LMAIL_SMTP_", pop3 = "LMAIL_POP3_" }

local function env_value(name, kind, getenv)
  local v = getenv(name)
  if v == nil or v == "" then return nil end
  if kind == "number" then
    local num = tonumber(v)
    if not num then return nil, name .. " must be a number" end
    return num
  elseif kind == "boolean" then
    if v == "1" or v == "true" or v == "yes" then return true end
    if v == "0" or v == "false" or v == "no" then return false end
    return nil, name .. " must be 1/0, true/false or yes/no"
  end
  return v
end

local function from_env(proto, getenv)
  local t = {}
  for key, kind in pairs(ENV_KEYS) do
    local upper = key:upper()
    local v, err = env_value(PREFIX[proto] .. upper, kind, getenv)
    if err then return nil, err end
    if v == nil then
      v, err = env_value("LMAIL_" .. upper, kind, getenv)
      if err then return nil, err end
    end
    t[key] = v
  end
  return t
end

--- The config file path: $LMAIL_CONFIG, $XDG_CONFIG_HOME/lmail/config.lua
--- or ~/.config/lmail/config.lua (nil when there is no home either).
---@param getenv? fun(name: string): string|nil
---@return string|nil
function config.path(getenv)
  getenv = getenv or os.getenv
  local p = getenv("LMAIL_CONFIG")
  if p and p ~= "" then return p end
  local xdg = getenv("XDG_CONFIG_HOME")
  if xdg and xdg ~= "" then return xdg .. "/lmail/config.lua" end
  local home = getenv("HOME")
  if home and home ~= "" then return home .. "/.config/lmail/config.lua" end
  return nil
end

-- Lua 5.1 / LuaJIT load a chunk and give it its environment in two steps.
local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")

local function load_chunk(src, path)
  local env = {}
  if setfenv then
    local fn, err = loadstring(src, "@" .. path)
    if fn then setfenv(fn, env) end
    return fn, err
  end
  return load(src, "@" .. path, "t", env)
end

--- Reads the config file: its table, or nil when it does not exist, or
--- nil, message, "EINVAL" when it is not valid.
---@param path string
---@return table|nil
---@return string? message
---@return string? code
function config.load_file(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local src = fh:read("*a") or ""
  fh:close()
  local fn, err = load_chunk(src, path)
  if not fn then return nil, "config: " .. tostring(err), "EINVAL" end
  local ok, t = pcall(fn)
  if not ok then return nil, "config: " .. tostring(t), "EINVAL" end
  if type(t) ~= "table" then
    return nil, "config: " .. path .. " must return a table", "EINVAL"
  end
  if t.profiles ~= nil and type(t.profiles) ~= "table" then
    return nil, "config: " .. path .. ": profiles must be a table", "EINVAL"
  end
  return t
end

local function from_file(proto, profile_name, getenv)
  local path = config.path(getenv)
  if not path then return {} end
  local file, err, code = config.load_file(path)
  if err then return nil, err, code end
  if not file then
    if profile_name then
      return nil, "config: profile '" .. profile_name .. "' asked for, but " .. path
        .. " does not exist", "EINVAL"
    end
    return {}
  end
  local name = profile_name or file.default
  if name == nil then return {} end
  local profile = (file.profiles or {})[name]
  if type(profile) ~= "table" then
    return nil, "config: no profile '" .. tostring(name) .. "' in " .. path, "EINVAL"
  end
  local t = {}
  for k, v in pairs(profile) do
    if k ~= "smtp" and k ~= "pop3" then t[k] = v end
  end
  if type(profile[proto]) == "table" then
    for k, v in pairs(profile[proto]) do t[k] = v end
  end
  return t
end

--- Runs cmd through the shell and returns the first line of its output
--- (the password), or nil, message, "EAUTH". The message names neither
--- the command (it may hold a secret) nor its output.
---@param cmd string
---@return string|nil password
---@return string? message
---@return string? code
function config.run_password_command(cmd)
  local p = io.popen(cmd, "r")
  if not p then return nil, "password_command could not be started", "EAUTH" end
  local out = p:read("*a") or ""
  local ok, how, status = p:close()
  if ok == nil or (ok == false) or (how == "exit" and status ~= 0) then
    return nil, "password_command failed (" .. tostring(how) .. " " .. tostring(status) .. ")",
      "EAUTH"
  end
  local line = out:match("^([^\r\n]*)")
  if line == nil or line == "" then
    return nil, "password_command printed no password", "EAUTH"
  end
  return line
end

--- The settings for one protocol ("smtp" or "pop3"): opts over the
--- environment over the config file profile. password_command is run when
--- a user but no password is known. Returns a new table, or nil, message,
--- code.
---@param proto "smtp"|"pop3"
---@param opts? table
---@param getenv? fun(name: string): string|nil for tests; default os.getenv
---@return table|nil settings
---@return string? message
---@return string? code
function config.resolve(proto, opts, getenv)
  if proto ~= "smtp" and proto ~= "pop3" then
    error('config.resolve: proto must be "smtp" or "pop3"', 2)
  end
  opts = opts or {}
  getenv = getenv or os.getenv
  local profile = opts.profile or getenv("LMAIL_PROFILE")
  local file, err, code = from_file(proto, profile, getenv)
  if not file then return nil, err, code end
  local env
  env, err = from_env(proto, getenv)
  if not env then return nil, "config: " .. err, "EINVAL" end
  local t = {}
  for k, v in pairs(file) do t[k] = v end
  for k, v in pairs(env) do t[k] = v end
  for k, v in pairs(opts) do t[k] = v end
  -- The result names its profile, so resolving it again (lmail.send given
  -- settings the CLI resolved) merges the same layers: the same result.
  t.profile = profile
  if t.user ~= nil and t.password == nil and t.password_command ~= nil then
    local pw, perr, pcode = config.run_password_command(t.password_command)
    if not pw then return nil, perr, pcode end
    t.password = pw
  end
  t.password_command = nil
  return t
end

return config
