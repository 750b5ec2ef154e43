--- lmail.cli.send: `lmail send`. Builds a message from flags and a body on
-- stdin, or with -t takes a complete message from stdin and its
-- recipients from its To, Cc and Bcc headers (sendmail -t; Bcc is removed
-- before sending). The message is streamed: stdin is never read whole.
local common = require "lmail.cli.common"
local main = require "lmail.cli.main"

local send = {}

local options = {
  { "to", arg = "ADDR", multi = true, help = "recipient (repeatable)" },
  { "cc", arg = "ADDR", multi = true, help = "copy recipient (repeatable)" },
  { "bcc", arg = "ADDR", multi = true, help = "blind copy recipient (repeatable)" },
  { "from", arg = "ADDR", help = "sender (default: the profile's from, LMAIL_FROM)" },
  { "subject", short = "s", arg = "TEXT", help = "subject (UTF-8)" },
  { "attach", short = "a", arg = "FILE", multi = true, help = "attach a file (repeatable)" },
  { "html", arg = "FILE", help = "an HTML alternative of the body, from FILE" },
  { "header", arg = "'Name: value'", multi = true, help = "an extra header (repeatable)" },
  { "sendmail", short = "t",
    help = "read a whole message from stdin; recipients from its headers" },
}
for _, o in ipairs(main.CONNECTION_OPTIONS) do options[#options + 1] = o end

send.command = {
  name = "send",
  usage = "lmail send --to ADDR [--subject TEXT] [options] < body\n"
    .. "       lmail send -t [ADDR...] < message",
  summary = "Send a message over SMTP. The body is read from stdin (UTF-8 text).",
  options = options,
  epilog = "With -t, addresses given as arguments are added to those of the headers.",
}

-- Reads stdin in chunks: an LTN12 source.
local function stdin_source(fh)
  return function()
    local chunk = fh:read(65536)
    return chunk
  end
end

-- Header lines of a message read from fh: the raw header block (with its
-- line ends, up to and including the blank line) and the rest already
-- read. The block is bounded: a header over 1 MiB is refused.
local MAX_HEADER = 1024 * 1024

local function read_header_block(fh)
  local lines, size = {}, 0
  while true do
    local line = fh:read("L")
    if line == nil then break end
    size = size + #line
    if size > MAX_HEADER then return nil, "the message header is larger than 1 MiB" end
    lines[#lines + 1] = line
    if line == "\n" or line == "\r\n" then break end
  end
  return table.concat(lines)
end

-- Unfolded header fields of a raw block: list of {name, value, raw}.
local function header_fields(block)
  local fields = {}
  for line in block:gmatch("[^\n]*\n?") do
    if line == "" then break end
    local bare = line:gsub("\r?\n$", "")
    if bare == "" then break end
    if bare:find("^[ \t]") and #fields > 0 then
      local f = fields[#fields]
      f.value = f.value .. " " .. bare:gsub("^%s+", "")
      f.raw = f.raw .. line
    else
      local name, value = bare:match("^([!-9;-~]+):%s*(.*)$")
      if not name then return nil, "malformed header line: " .. bare:sub(1, 60) end
      fields[#fields + 1] = { name = name, value = value, raw = line }
    end
  end
  return fields
end

local function run_sendmail(ctx, values, positional, s)
  local mime = require "lmail.mime"
  local block, err = read_header_block(ctx.stdin)
  if not block then return main.fail(ctx, err, "EINVAL") end
  local fields
  fields, err = header_fields(block)
  if not fields then return main.fail(ctx, err, "EINVAL") end
  -- The recipients: parse the address headers with lmail's own parser.
  local parsed, perr = mime.parse(block:find("\n\r?\n$") and block or (block .. "\r\n"))
  if not parsed then return main.fail(ctx, "cannot parse the message header: " .. tostring(perr),
    "EINVAL") end
  local to = {}
  for _, h in ipairs({ "To", "Cc", "Bcc" }) do
    for _, a in ipairs(parsed:addresses(h) or {}) do to[#to + 1] = a.addr end
  end
  for _, a in ipairs(positional) do to[#to + 1] = a end
  if #to == 0 then return main.fail(ctx, "no recipients in To, Cc or Bcc", "EUSAGE") end
  local from = values.from or s.from
  if not from then
    local list = parsed:addresses("From") or {}
    from = list[1] and list[1].addr
  end
  if not from then return main.fail(ctx, "no sender: give --from or a From header", "EUSAGE") end
  -- The header block without Bcc (sendmail -t removes it), then the body.
  local kept = {}
  for _, f in ipairs(fields) do
    if f.name:lower() ~= "bcc" then kept[#kept + 1] = f.raw end
  end
  local head = table.concat(kept) .. "\r\n"
  local body = stdin_source(ctx.stdin)
  local first = true
  local source = function()
    if first then first = false return head end
    return body()
  end
  local lmail = require "lmail"
  local r, msg, code = lmail.send(common.with(s, { from = from, to = to, message = source }))
  if not r then return main.fail(ctx, msg, code) end
  return send.report(ctx, r)
end

--- Prints refused recipients (the message went to the others) and
--- returns the exit code.
function send.report(ctx, r)
  for _, rj in ipairs(r.rejected or {}) do
    ctx.stderr:write("lmail send: ", rj.addr, " refused: ", tostring(rj.code or ""), " ",
      tostring(rj.text or ""), "\n")
  end
  if r.rejected and #r.rejected > 0 then return main.EXIT.rejected end
  return main.EXIT.ok
end

local function read_file(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local s = fh:read("*a")
  fh:close()
  return s
end

function send.run(ctx, values, positional)
  local s, msg, code = common.settings(ctx, "smtp", values)
  if not s then return main.fail(ctx, msg, code) end
  if values.sendmail then return run_sendmail(ctx, values, positional, s) end
  if #positional > 0 then
    return main.fail(ctx, "unexpected argument " .. positional[1] .. " (use --to)", "EUSAGE")
  end
  if not values.to and not values.cc and not values.bcc then
    return main.fail(ctx, "no recipients: give --to", "EUSAGE")
  end
  local from = values.from or s.from
  if not from then return main.fail(ctx, "no sender: give --from or LMAIL_FROM", "EUSAGE") end
  local headers = {}
  for _, h in ipairs(values.header or {}) do
    local name, value = h:match("^([!-9;-~]+):%s*(.*)$")
    if not name then return main.fail(ctx, "--header must be 'Name: value'", "EUSAGE") end
    headers[#headers + 1] = { name, value }
  end
  local attachments = {}
  for _, path in ipairs(values.attach or {}) do
    local fh = io.open(path, "rb")
    if not fh then return main.fail(ctx, "cannot read " .. path, "ENOINPUT") end
    fh:close()
    attachments[#attachments + 1] = { path = path }
  end
  local html
  if values.html then
    html = read_file(values.html)
    if not html then return main.fail(ctx, "cannot read " .. values.html, "ENOINPUT") end
  end
  local text = ctx.stdin:read("*a") or ""
  local lmail = require "lmail"
  local r
  r, msg, code = lmail.send(common.with(s, {
    from = from, to = values.to, cc = values.cc, bcc = values.bcc,
    subject = values.subject, text = text, html = html,
    attachments = #attachments > 0 and attachments or nil,
    headers = #headers > 0 and headers or nil,
  }))
  if not r then return main.fail(ctx, msg, code) end
  return send.report(ctx, r)
end

return send
