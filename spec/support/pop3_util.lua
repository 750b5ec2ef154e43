-- spec/support/pop3_util.lua: file helpers shared by the POP3 and fetch
-- specs: temporary directories, whole-file reads and writes, the messages
-- of a Maildir, and the POP3 fault-injection server (pop3_server.py).
local proc = require "spec.support.proc"

local util = {}

local q = proc.quote

local function run(cmd)
  local p = assert(io.popen("env -u LD_PRELOAD " .. cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end
util.run = run

--- A new empty directory under /tmp (removed by util.rmtree).
function util.tmpdir(tag)
  local ok, out = run("mktemp -d /tmp/lmail-" .. (tag or "pop3") .. "-XXXXXX")
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

function util.rmtree(dir)
  assert(dir:match("^/tmp/lmail%-"), "rmtree outside /tmp/lmail-*: " .. dir)
  os.execute("rm -rf " .. q(dir))
end

function util.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function util.write(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
end

--- The regular files of dir (one level), sorted, as full paths.
function util.files(dir)
  local p = assert(io.popen("find " .. q(dir) .. " -maxdepth 1 -type f 2>/dev/null | sort"))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

--- The contents of every message in a Maildir's new/ and cur/, and the
--- number of files left in its tmp/.
function util.maildir_messages(dir)
  local msgs = {}
  for _, sub in ipairs({ "new", "cur" }) do
    for _, f in ipairs(util.files(dir .. "/" .. sub)) do msgs[#msgs + 1] = util.read(f) end
  end
  return msgs, #util.files(dir .. "/tmp")
end

--- Counts how many times each string of list occurs.
function util.counts(list)
  local c = {}
  for _, s in ipairs(list) do c[s] = (c[s] or 0) + 1 end
  return c
end

--- Starts spec/support/pop3_server.py with args (a list); returns the
--- process and its port. The server serves at most opts.connections.
function util.pop3_server(args, limit)
  local argv = { "python3", "spec/support/pop3_server.py" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local p = proc.start(argv, { limit = limit or 60 })
  local port = tonumber(p:line())
  assert(port, "pop3_server.py did not report a port")
  return p, port
end

return util
