-- spec/support/proc.lua: background helper processes for specs, each bounded
-- in time by coreutils `timeout` and stopped by its own PID (never by name).
--   local p = proc.start({"python3", "spec/support/fakeserver.py", "echo"}, {limit = 60})
--   local port = tonumber(p:line())   -- reads one line of its stdout
--   p:stop()                          -- kill -TERM <pid>, then reap it
local proc = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
proc.quote = quote

local Proc = {}
Proc.__index = Proc

--- Starts argv in the background; its stdout is readable with p:line().
-- opts.limit: seconds before `timeout` ends it (default 60); after 5 more
-- seconds it is killed outright.
function proc.start(argv, opts)
  local limit = (opts and opts.limit) or 60
  local words = {}
  for i, a in ipairs(argv) do words[i] = quote(a) end
  -- The shell prints its own PID, then becomes `timeout`: that PID is the
  -- process to signal, and it stays ours (unreaped) until p:stop() closes it.
  -- Helpers are not ours to sanitize: drop an ASan/valgrind LD_PRELOAD.
  local cmd = "echo $$; exec env -u LD_PRELOAD timeout -k 5 " .. limit .. " "
    .. table.concat(words, " ")
  local fh = assert(io.popen(cmd, "r"))
  local pid = tonumber(fh:read("l"))
  assert(pid, "proc.start: could not read the PID of " .. table.concat(argv, " "))
  return setmetatable({ pid = pid, fh = fh }, Proc)
end

--- The next line of the process's stdout, or nil at its end.
function Proc:line()
  return self.fh:read("l")
end

--- Stops the process by PID and waits for it; safe to call twice.
function Proc:stop()
  if not self.fh then return end
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  self.fh:close()
  self.fh = nil
end

-- A forgotten process must not make the GC block: collecting the io.popen
-- handle waits for the process, so stop it first (finalizers run in reverse
-- order of creation, and this table is newer than its handle).
Proc.__gc = Proc.stop

--- Waits for the process to end by itself; returns what io.close returns.
function Proc:wait()
  if not self.fh then return nil end
  local ok, how, code = self.fh:close()
  self.fh = nil
  return ok, how, code
end

return proc
