-- spec/support/tls_server.lua: `openssl s_server` on 127.0.0.1 for specs and
-- benches, bounded in time by coreutils `timeout` and stopped by its PID.
--   local srv = tls_server.start{cert = c.cert, key = c.key, mode = "rev"}
--   ... connect to srv.port ...
--   srv:stop()
-- Modes: "rev" answers each line reversed (s_server -rev); "sink" writes
-- every plaintext byte it receives to srv.out (read it with srv:output()).
-- extra = {...} adds s_server arguments (e.g. {"-tls1_1"}).
local proc = require "spec.support.proc"

local tls_server = {}

local q = proc.quote

-- Helper commands run without the spec's LD_PRELOAD (the ASan runtime
-- under check-asan), which makes them slow and their exit status useless.
local NOPRELOAD = "env -u LD_PRELOAD "

local function sleep(s)
  os.execute(NOPRELOAD .. "sleep " .. s)
end

-- Whether something listens on 127.0.0.1:port (Linux /proc/net/tcp: local
-- address as hex IP:port, state 0A is LISTEN).
local function listening(port)
  local want = (":%04X"):format(port)
  local f = io.open("/proc/net/tcp", "r")
  if not f then error("tls_server: /proc/net/tcp is not readable", 0) end
  for line in f:lines() do
    local lport, state = line:match("^%s*%d+:%s+%x+(:%x+)%s+%x+:%x+%s+(%x+)")
    if lport == want and state == "0A" then
      f:close()
      return true
    end
  end
  f:close()
  return false
end

-- the file's bytes, "" while it does not exist yet
local function read_file(path)
  return require("spec.support.files").read(path) or ""
end

local Server = {}
Server.__index = Server

local function command(opts, port, out, err)
  -- Without the spec's LD_PRELOAD (ASan under check-asan): not our code.
  local args = { "env", "-u", "LD_PRELOAD", "openssl", "s_server", "-accept", "127.0.0.1:" .. port,
                 "-cert", opts.cert, "-key", opts.key, "-naccept", tostring(opts.naccept or 1) }
  if opts.mode == "rev" then
    args[#args + 1] = "-rev"
  else
    args[#args + 1] = "-quiet"
  end
  for _, a in ipairs(opts.extra or {}) do args[#args + 1] = a end
  local words = {}
  for i, a in ipairs(args) do words[i] = q(a) end
  -- s_server ends its session when its stdin reaches end of file, so stdin
  -- is a pipe that stays silent for as long as the server may live.
  return ("sleep %d | %s > %s 2> %s"):format(opts.limit, table.concat(words, " "), q(out), q(err))
end

local function try_start(opts, port)
  local base = os.tmpname()
  local self = setmetatable({ port = port, out = base .. ".out", err = base .. ".err",
                              base = base }, Server)
  self.proc = proc.start({ "sh", "-c", command(opts, port, self.out, self.err) },
                         { limit = opts.limit })
  for _ = 1, 100 do
    if listening(port) then return self end
    if read_file(self.err):find("[Ee]rror") then break end
    sleep(0.05)
  end
  self:stop()
  return nil
end

--- Starts a server; raises if none could be started (never skips).
function tls_server.start(opts)
  assert(opts.cert and opts.key, "tls_server.start: cert and key are required")
  opts.limit = opts.limit or 60
  opts.mode = opts.mode or "rev"
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for _ = 1, 5 do
    local port = math.random(20000, 60999)
    -- A port someone else listens on would pass the readiness check.
    local srv = not listening(port) and try_start(opts, port)
    if srv then return srv end
  end
  error("tls_server.start: openssl s_server did not start", 2)
end

--- All the plaintext a "sink" server has written so far.
function Server:output()
  return read_file(self.out)
end

--- Waits up to `seconds` until the sink holds n bytes; returns its size.
function Server:wait_output(n, seconds)
  local size = 0
  for _ = 1, math.ceil(seconds / 0.05) do
    local f = io.open(self.out, "rb")
    if f then
      size = f:seek("end")
      f:close()
    end
    if size >= n then break end
    sleep(0.05)
  end
  return size
end

--- The server's diagnostics (stderr).
function Server:errors()
  return read_file(self.err)
end

--- Stops the server by PID and removes its files; safe to call twice.
function Server:stop()
  if self.proc then
    self.proc:stop()
    self.proc = nil
  end
  os.remove(self.out)
  os.remove(self.err)
  os.remove(self.base)
end

return tls_server
