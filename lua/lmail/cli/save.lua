--- lmail.cli.save: `lmail save N DIR` writes the attachments of message N
-- into DIR under names lmail.text.safe_filename made (no directory part,
-- no "..", no control characters); an existing file is never overwritten:
-- "name (2).ext" is used instead. Files are created exclusively, mode 0600.
local common = require "lmail.cli.common"
local main = require "lmail.cli.main"
local read = require "lmail.cli.read"
local text = require "lmail.text"

local save = {}

local options = {}
for _, o in ipairs(main.CONNECTION_OPTIONS) do options[#options + 1] = o end

save.command = {
  name = "save",
  usage = "lmail save [options] N DIR",
  summary = "Save the attachments of message N of a POP3 mailbox into DIR.",
  options = options,
}

local fs = require("lmail.core").fs

local function exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() return true end
  return false
end

--- Creates a new file in dir for name (exclusively, mode 0600, so nothing
--- that exists is ever overwritten, even by a file appearing meanwhile):
--- "name", else "name (2).ext", ... Returns the open file and its path, or
--- nil and a message.
function save.create(dir, name)
  local base, ext = name:match("^(.-)(%.[^.]*)$")
  if not base or base == "" then base, ext = name, "" end
  for k = 1, 9999 do
    local path = k == 1 and dir .. "/" .. name or ("%s/%s (%d)%s"):format(dir, base, k, ext)
    local fh, msg = fs.open(path, "x")
    if fh then return fh, path end
    if not exists(path) then return nil, msg end
  end
  return nil, "no free file name in " .. dir
end

function save.run(ctx, values, positional)
  if #positional ~= 2 or not common.message_number(positional[1]) then
    return main.fail(ctx, "give a message number and a directory", "EUSAGE")
  end
  local dir = positional[2]
  local probe = io.open(dir .. "/.", "rb")
  if not probe then return main.fail(ctx, "no such directory: " .. dir, "ENOINPUT") end
  probe:close()
  local m, msg, code = read.fetch_message(ctx, values, { positional[1] })
  if not m then return main.fail(ctx, msg, code) end
  local atts = m:attachments()
  if #atts == 0 then
    ctx.stdout:write("message ", positional[1], " has no attachments\n")
    return main.EXIT.ok
  end
  for _, a in ipairs(atts) do
    local fh, path = save.create(dir, text.safe_filename(a.filename))
    if not fh then return main.fail(ctx, path, "ECANTCREAT") end
    local ok, werr = fh:write(a:content())
    local closed, cerr = fh:close()
    if not ok or not closed then
      return main.fail(ctx, "cannot write " .. path .. ": " .. tostring(werr or cerr), "ECANTCREAT")
    end
    ctx.stdout:write(path, "\n")
  end
  return main.EXIT.ok
end

return save
