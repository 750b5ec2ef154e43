--- lmail: email for Lua. The one-call conveniences over lmail.smtp,
-- lmail.pop3 and lmail.mime; each module is loaded when first used, so
-- `require "lmail"` stays cheap.
local lmail = {
  _VERSION = "lmail scm",
  errors = require "lmail.errors",
}

-- The envelope address of a From value: {name =, addr =}, "Name <addr>"
-- or a bare address.
local function envelope_from(from)
  if type(from) == "table" then return from.addr end
  if type(from) ~= "string" then return nil end
  return from:match("<([^<>]*)>%s*$") or from:match("^%s*(.-)%s*$")
end

local MESSAGE_FIELDS = { "from", "to", "cc", "bcc", "reply_to", "sender", "subject", "date",
                         "message_id", "headers", "text", "html", "attachments" }

--- Sends one message in one call: builds it (unless opts.message is given),
--- connects (the port decides TLS; credentials require TLS), logs in when a
--- user is given, sends and says goodbye. Options: those of smtp.open
--- (host, port, tls, timeout, cafile, capath, insecure, helo,
--- allow_cleartext_auth), user, password (or password_command), mechanism,
--- profile, the fields of mime.message (from, to, cc, bcc, subject, text,
--- html, attachments, headers, ...), or message = a built message, a string
--- or an LTN12 source (then from and to/cc/bcc give the envelope). Missing
--- options come from LMAIL_* variables and the config file (lmail.config).
---@param opts table
---@return table|nil result as smtp:send returns it
---@return string? message
---@return string? code
---@return table? detail
function lmail.send(opts)
  if type(opts) ~= "table" then error("lmail.send: options must be a table", 2) end
  local config = require "lmail.config"
  local s, msg, code = config.resolve("smtp", opts)
  if not s then return nil, msg, code end
  if s.host == nil then error("lmail.send: no host (opts.host, LMAIL_HOST or a profile)", 2) end
  local from = envelope_from(s.from)
  if not from then error("lmail.send: opts.from is required", 2) end
  local message = s.message
  local recipients
  if message == nil then
    local mime = require "lmail.mime"
    local fields = {}
    for _, k in ipairs(MESSAGE_FIELDS) do fields[k] = s[k] end
    message, msg, code = mime.message(fields)
    if not message then return nil, msg, code end
    recipients = message:recipients()
  else
    recipients = {}
    for _, k in ipairs({ "to", "cc", "bcc" }) do
      local v = s[k]
      if type(v) == "string" then v = { v } end
      for _, a in ipairs(v or {}) do recipients[#recipients + 1] = envelope_from(a) end
    end
  end
  local smtp = require "lmail.smtp"
  local session, detail
  session, msg, code, detail = smtp.open{
    host = s.host, port = s.port, tls = s.tls, timeout = s.timeout, cafile = s.cafile,
    capath = s.capath, insecure = s.insecure, helo = s.helo,
    allow_cleartext_auth = s.allow_cleartext_auth, transport = s.transport,
  }
  if not session then return nil, msg, code, detail end
  if s.user ~= nil then
    if s.password == nil then
      session:close()
      return nil, "lmail.send: no password for the user (password, LMAIL_PASSWORD or "
        .. "password_command)", "EAUTH"
    end
    local ok
    ok, msg, code, detail = session:login(s.user, s.password, s.mechanism)
    if not ok then
      session:close()
      return nil, msg, code, detail
    end
  end
  local r
  r, msg, code, detail = session:send{ from = from, to = recipients, message = message,
                                       size = s.size }
  if not r then
    session:close()
    return nil, msg, code, detail
  end
  session:quit()
  return r
end

--- Downloads a POP3 mailbox into a Maildir, safely (docs/pop3.md): nothing
--- is deleted on the server before it is on disk. Missing options come from
--- LMAIL_* variables and the config file (lmail.config), like lmail.send.
--- lmail.fetch is loaded on the first call, so `require "lmail"` stays cheap.
---@param opts table
---@return table|nil result {fetched =, skipped =, deleted =, bytes =, paths =, failed =}
---@return string? message
---@return string? code
---@return table? detail
function lmail.fetch(opts)
  if type(opts) ~= "table" then error("lmail.fetch: options must be a table", 2) end
  local s, msg, code = require("lmail.config").resolve("pop3", opts)
  if not s then return nil, msg, code end
  return require("lmail.fetch").run(s)
end

return lmail
