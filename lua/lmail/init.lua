--- lmail: email for Lua. This facade grows the one-call conveniences
-- (lmail.send, lmail.fetch) with the SMTP and POP3 issues.
local lmail = {
  _VERSION = "lmail scm",
  errors = require "lmail.errors",
}

return lmail
