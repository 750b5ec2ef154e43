--- lmail: email for Lua. This facade grows the one-call conveniences
-- (lmail.send, lmail.fetch) with the SMTP and POP3 issues.
local lmail = {
  _VERSION = "lmail scm",
  errors = require "lmail.errors",
}

--- Downloads a POP3 mailbox into a Maildir, safely: see lmail.fetch.run
--- (docs/pop3.md). lmail.fetch is loaded on the first call, so that
--- `require "lmail"` stays cheap.
---@param opts table
---@return table|nil result {fetched =, skipped =, deleted =, bytes =, paths =, failed =}
---@return string? message
---@return string? code
---@return table? detail
function lmail.fetch(opts)
  return require("lmail.fetch").run(opts)
end

return lmail
