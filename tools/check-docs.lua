-- tools/check-docs.lua: fails when a public name is undocumented.
-- Public names: fields of module tables in lua/lmail/**/*.lua
-- (`function mod.name(`, `mod.name =`), and every method registered in a
-- luaL_Reg array of csrc/lua/*.c (metamethods excepted). Each must appear in
-- docs/*.md as `.name`, `:name` or `name(`.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function list(cmd)
  local out = {}
  for line in assert(io.popen(cmd)):lines() do out[#out + 1] = line end
  return out
end

local docs = {}
for _, p in ipairs(list("ls docs/*.md README.md 2>/dev/null")) do docs[#docs + 1] = read(p) end
docs = table.concat(docs, "\n")

local function documented(name)
  local e = name:gsub("%p", "%%%0")
  return docs:find("[%.:]" .. e .. "%f[^%w_]") or docs:find("%f[%w_]" .. e .. "%(")
end

local missing = {}
local function need(name, where)
  if not documented(name) then missing[#missing + 1] = name .. "  (" .. where .. ")" end
end

for _, p in ipairs(list("find lua/lmail -name '*.lua' | sort")) do
  local src = read(p)
  local mod = src:match("\nreturn%s+([%a_][%w_]*)%s*$")
  if mod then
    local e = mod:gsub("%p", "%%%0")
    for name in src:gmatch("\nfunction%s+" .. e .. "[%.:]([%a_][%w_]*)") do need(name, p) end
    for name in src:gmatch("\n" .. e .. "%.([%a_][%w_]*)%s*=") do need(name, p) end
  end
end

for _, p in ipairs(list("ls csrc/lua/*.c")) do
  local src = read(p)
  for body in src:gmatch("luaL_Reg%s+[%w_]+%[%]%s*=%s*(%b{})") do
    for name in body:gmatch('{%s*"([%a_][%w_]*)"') do
      if not name:find("^__") then need(name, p) end
    end
  end
end

if #missing > 0 then
  io.stderr:write("check-docs: undocumented public names:\n  ", table.concat(missing, "\n  "), "\n")
  os.exit(1)
end
print("check-docs: every public name is documented")
