--- lmail.cli.args: the command line parser of the lmail command.
-- A command describes its options:
--   { name = "send", usage = "lmail send [options] < body", summary = "...",
--     options = {
--       { "to", short = nil, arg = "ADDR", multi = true, help = "..." },
--       { "sendmail", short = "t", help = "..." },   -- no arg: a flag
--     } }
-- and args.parse(command, argv) gives the values (flags true, options
-- with an argument their string, multi options a list) and the positional
-- arguments, or nil and a message for a usage error. --opt=value and
-- --opt value both work; "--" ends the options.
local args = {}

local function find(command, long, short)
  for _, o in ipairs(command.options) do
    if (long and o[1] == long) or (short and o.short == short) then return o end
  end
  return nil
end

local function store(values, o, v)
  local key = o[1]:gsub("-", "_")
  if o.multi then
    values[key] = values[key] or {}
    table.insert(values[key], v)
  elseif o.arg and values[key] ~= nil then
    return "--" .. o[1] .. " given twice"
  else
    values[key] = v
  end
  return nil
end

--- Parses argv (a list of strings) against command.
---@return table|nil values
---@return table|string positional, or the usage error message
function args.parse(command, argv)
  local values, positional = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do positional[#positional + 1] = argv[j] end
      break
    end
    local long, inline = a:match("^%-%-([%w][%w-]*)=(.*)$")
    if not long then long = a:match("^%-%-([%w][%w-]*)$") end
    local short = not long and a:match("^%-(%w)$")
    if long or short then
      local o = find(command, long, short)
      if not o then return nil, "unknown option " .. a end
      local v = true
      if o.arg then
        if inline then
          v = inline
        else
          i = i + 1
          v = argv[i]
          if v == nil then return nil, "option " .. a .. " needs " .. o.arg end
        end
      elseif inline then
        return nil, "option --" .. long .. " takes no value"
      end
      local err = store(values, o, v)
      if err then return nil, err end
    elseif a:match("^%-%w") or a:match("^%-%-") then
      return nil, "unknown option " .. a
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return values, positional
end

--- The --help text of a command.
---@return string
function args.help(command)
  local lines = { "usage: " .. command.usage, "", command.summary, "" }
  if #command.options > 0 then lines[#lines + 1] = "options:" end
  local width = 0
  local heads = {}
  for k, o in ipairs(command.options) do
    local h = (o.short and ("-" .. o.short .. ", ") or "    ") .. "--" .. o[1]
      .. (o.arg and (" " .. o.arg) or "")
    heads[k] = h
    if #h > width then width = #h end
  end
  for k, o in ipairs(command.options) do
    lines[#lines + 1] = "  " .. heads[k] .. string.rep(" ", width - #heads[k] + 2) .. o.help
  end
  if command.epilog then
    lines[#lines + 1] = ""
    lines[#lines + 1] = command.epilog
  end
  return table.concat(lines, "\n") .. "\n"
end

return args
