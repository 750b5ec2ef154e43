-- spec/support/python.lua: the python3 the specs use as an oracle. Debian's
-- /usr/bin/python3 is preferred: tools/ensure-deps.sh installs it with its
-- test suite package (Python's email test corpus); any other python3 on
-- PATH is the fallback. Never skips: a missing interpreter fails the spec.
local python = {}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

python.exe = exists("/usr/bin/python3") and "/usr/bin/python3" or "python3"

-- Runs `python3 args` and returns its standard output; raises on failure.
function python.run(args)
  local out = os.tmpname()
  -- an ASan run preloads libasan into this process: python must not inherit it
  local cmd = "env -u LD_PRELOAD " .. python.exe .. " " .. args .. " >" .. out .. " 2>&1"
  local ok = os.execute(cmd)
  local f = assert(io.open(out, "rb"))
  local s = f:read("a")
  f:close()
  os.remove(out)
  if not ok then error("python failed: " .. cmd .. "\n" .. s, 2) end
  return s
end

function python.quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

return python
