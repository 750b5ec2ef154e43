--- lmail.cli.save: `lmail save N DIR` writes the attachments of message N
-- into DIR under names lmail.text.safe_filename made (no directory part,
-- no "..", no control characters); an existing file is never overwritten:
-- "name (2).ext" is used instead.
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

local function exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() return true end
  return false
end

--- A path in dir for name that does not exist yet.
function save.free_path(dir, name)
  local path = dir .. "/" .. name
  if not exists(path) then return path end
  local base, ext = name:match("^(.-)(%.[^.]*)$")
  if not base or base == "" then base, ext = name, "" end
  for k = 2, 9999 do
    path = string.format("%s/%s (%d)%s", dir, base, k, ext)
    if not exists(path) then return path end
  end
  return nil
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
    local path = save.free_path(dir, text.safe_filename(a.filename))
    if not path then return main.fail(ctx, "no free file name in " .. dir, "ECANTCREAT") end
    local fh = io.open(path, "wb")
    if not fh then return main.fail(ctx, "cannot create " .. path, "ECANTCREAT") end
    local ok = fh:write(a:content())
    fh:close()
    if not ok then return main.fail(ctx, "cannot write " .. path, "ECANTCREAT") end
    ctx.stdout:write(path, "\n")
  end
  return main.EXIT.ok
end

return save
