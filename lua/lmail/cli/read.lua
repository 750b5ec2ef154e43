--- lmail.cli.read: `lmail read N`: the main headers decoded, the text body
-- (or the HTML body converted to text), and the list of attachments.
-- Everything printed goes through lmail.text.sanitize: a message cannot
-- send escape sequences to the terminal.
local common = require "lmail.cli.common"
local main = require "lmail.cli.main"
local text = require "lmail.text"

local read = {}

local options = {
  { "raw", help = "print the message exactly as the server sends it" },
}
for _, o in ipairs(main.CONNECTION_OPTIONS) do options[#options + 1] = o end

read.command = {
  name = "read",
  usage = "lmail read [options] N",
  summary = "Print message N of a POP3 mailbox: headers, text, attachments.",
  options = options,
}

--- The whole message n, parsed; or nil, message, code. Shared with save.
function read.fetch_message(ctx, values, positional)
  local n = common.message_number(positional[1])
  if not n or #positional ~= 1 then
    return nil, "give one message number (lmail list shows them)", "EUSAGE"
  end
  local s, msg, code = common.settings(ctx, "pop3", values)
  if not s then return nil, msg, code end
  local p
  p, msg, code = common.pop3_session(s)
  if not p then return nil, msg, code end
  local raw
  raw, msg, code = p:retr(n)
  if not raw then
    p:close()
    return nil, msg, code
  end
  p:quit()
  if values.raw then return raw end
  local mime = require "lmail.mime"
  local m, perr = mime.parse(raw)
  if not m then return nil, "cannot parse message " .. n .. ": " .. tostring(perr), "EINVAL" end
  return m, raw
end

--- The printable form of a parsed message.
function read.render(m)
  local lines = {}
  for _, h in ipairs({ "From", "To", "Cc", "Date", "Subject" }) do
    local v = m:header(h)
    if v then lines[#lines + 1] = h .. ": " .. text.sanitize(v) end
  end
  lines[#lines + 1] = ""
  local body = m:text()
  if not body then
    local html = m:html()
    body = html and text.html_to_text(html) or "(no text body)\n"
  end
  lines[#lines + 1] = text.sanitize(body, true)
  local atts = m:attachments()
  if #atts > 0 then
    lines[#lines + 1] = "Attachments:"
    for k, a in ipairs(atts) do
      lines[#lines + 1] = string.format("  %d. %s (%s, %d bytes)", k,
        text.sanitize(a.filename or "(unnamed)"), text.sanitize(a.content_type or "?"),
        a.size or #a:content())
    end
  end
  return table.concat(lines, "\n"):gsub("\n*$", "\n")
end

function read.run(ctx, values, positional)
  local m, msg, code = read.fetch_message(ctx, values, positional)
  if not m then return main.fail(ctx, msg, code) end
  if type(m) == "string" then
    ctx.stdout:write(m)
  else
    ctx.stdout:write(read.render(m))
  end
  return main.EXIT.ok
end

return read
