--- lmail.cli.list: `lmail list`, the mailbox as an aligned table: number,
-- From, Subject, Date, size. Headers come from TOP n 0 (the body is never
-- downloaded), decoded from RFC 2047 and their charsets to UTF-8 and made
-- safe for the terminal; columns are aligned by display width, so CJK
-- subjects line up.
local common = require "lmail.cli.common"
local main = require "lmail.cli.main"
local text = require "lmail.text"

local list = {}

local options = {
  { "width", arg = "COLUMNS", help = "table width (default: $COLUMNS, else 100)" },
}
for _, o in ipairs(main.CONNECTION_OPTIONS) do options[#options + 1] = o end

list.command = {
  name = "list",
  usage = "lmail list [options]",
  summary = "List the messages of a POP3 mailbox.",
  options = options,
}

--- "512", "2.1K", "3.4M": octets in four columns at most.
function list.human_size(n)
  if n < 1000 then return tostring(n) end
  if n < 1000 * 1024 then return string.format("%.1fK", n / 1024) end
  if n < 1000 * 1024 * 1024 then return string.format("%.1fM", n / 1048576) end
  return string.format("%.1fG", n / 1073741824)
end

-- Who sent it, in few columns: the display name, else the address.
local function sender(m)
  local a = (m:addresses("From") or {})[1]
  if a then
    return (a.name and a.name ~= "") and a.name or a.addr
  end
  return m:header("From") or ""
end

--- One row of the table for message n of `octets` bytes and its parsed
--- header m (nil when it could not be read).
function list.row(n, octets, m, widths)
  local from, subject, date = "?", "(header unreadable)", ""
  if m then
    from = sender(m)
    subject = m:header("Subject") or ""
    local t = m:date()
    date = t and os.date("%Y-%m-%d %H:%M", t) or ""
  end
  return table.concat({
    string.format("%4d", n),
    text.fit(text.sanitize(from), widths.from),
    text.fit(text.sanitize(subject), widths.subject),
    text.fit(date, 16),
    string.format("%6s", list.human_size(octets)),
  }, "  ")
end

--- Column widths for a table of `total` columns.
function list.widths(total)
  local fixed = 4 + 16 + 6 + 4 * 2
  local rest = math.max(total - fixed, 20)
  local from = math.max(math.floor(rest / 3), 10)
  return { from = from, subject = math.max(rest - from, 10) }
end

function list.run(ctx, values, positional)
  if #positional > 0 then
    return main.fail(ctx, "unexpected argument " .. positional[1], "EUSAGE")
  end
  local s, msg, code = common.settings(ctx, "pop3", values)
  if not s then return main.fail(ctx, msg, code) end
  local total = tonumber(values.width or ctx.getenv("COLUMNS") or "") or 100
  local widths = list.widths(total)
  local mime = require "lmail.mime"
  local p
  p, msg, code = common.pop3_session(s)
  if not p then return main.fail(ctx, msg, code) end
  local sizes
  sizes, msg, code = p:list()
  if not sizes then
    p:close()
    return main.fail(ctx, msg, code)
  end
  local out = ctx.stdout
  out:write(table.concat({ "   #", text.fit("From", widths.from),
    text.fit("Subject", widths.subject), text.fit("Date", 16), "  Size" }, "  "), "\n")
  local numbers = {}
  for n in pairs(sizes) do numbers[#numbers + 1] = n end
  table.sort(numbers)
  for _, n in ipairs(numbers) do
    local head
    head, msg, code = p:top(n, 0)
    if not head then
      p:close()
      return main.fail(ctx, msg, code)
    end
    local m = mime.parse(head)
    out:write(list.row(n, sizes[n], m, widths), "\n")
  end
  -- Read only: leave without QUIT's UPDATE state mattering (nothing was
  -- deleted), but say goodbye properly.
  p:quit()
  if #numbers == 0 then out:write("(no messages)\n") end
  return main.EXIT.ok
end

return list
