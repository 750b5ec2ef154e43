-- spec/support/mailstack.lua: the real Postfix + Dovecot of
-- spec/support/mailstack.sh for integration specs.
--   local ms = require "spec.support.mailstack"
--   local env = ms.up()   -- starts the stack unless it is up; never skips
--   env.SUBMISSION_PORT, env.CAFILE, env.ALICE_USER, env.ALICE_PASS, ...
-- (the LMAIL_MS_ / LMAIL_ prefix of `mailstack.sh env` is dropped; ports
-- are numbers). The stack's own variables are LMAIL_MS_*, so that they
-- never mix with the LMAIL_HOST, LMAIL_SMTP_PORT, ... that lmail.config
-- reads.
-- The stack is left running for the other specs of the run:
-- tools/run-specs.sh stops it at the end of a run that started it, and its
-- own watchdog stops it after LMAIL_MAILSTACK_TTL seconds in any case.
-- Ports and the state dir follow the LMAIL_MS_* variables of mailstack.sh, so
-- two checkouts can run their suites side by side.
local proc = require "spec.support.proc"

local mailstack = {}

local SCRIPT = "spec/support/mailstack.sh"
local cached

local function run(cmd)
  local p = assert(io.popen("env -u LD_PRELOAD bash " .. SCRIPT .. " " .. cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

local function parse_env(text)
  local env = {}
  for name, value in text:gmatch("export LMAIL_([%w_]+)='([^']*)'") do
    name = name:gsub("^MS_", "")
    env[name] = tonumber(value) and name:find("PORT$") and tonumber(value) or value
  end
  return env
end

--- Brings the stack up (once per process) and returns its settings; raises
--- with the script's output when it cannot.
function mailstack.up()
  if cached then return cached end
  local up = run("status")
  if not up then
    local ok, out = run("up")
    assert(ok, "spec/support/mailstack.sh up failed:\n" .. out)
  end
  local ok, out = run("env")
  assert(ok, "spec/support/mailstack.sh env failed:\n" .. out)
  cached = parse_env(out)
  assert(cached.SUBMISSION_PORT and cached.CAFILE, "mailstack env incomplete:\n" .. out)
  return cached
end

--- Paths of the messages in a Maildir's new/ and cur/ (sorted).
function mailstack.maildir_files(dir)
  local p = assert(io.popen("find " .. proc.quote(dir) .. "/new " .. proc.quote(dir)
    .. "/cur -type f 2>/dev/null | sort"))
  local files = {}
  for line in p:lines() do files[#files + 1] = line end
  p:close()
  return files
end

local read_file = require("spec.support.files").read

--- Waits up to `seconds` (default 30: Postfix delivers asynchronously)
--- until `count` (default 1) messages of maildir contain marker; returns
--- their contents, or raises naming what is missing.
function mailstack.wait_delivered(maildir, marker, count, seconds)
  count = count or 1
  local found
  for _ = 1, (seconds or 30) * 10 do
    found = {}
    for _, p in ipairs(mailstack.maildir_files(maildir)) do
      local s = read_file(p)
      if s and s:find(marker, 1, true) then found[#found + 1] = s end
    end
    if #found >= count then return found end
    os.execute("env -u LD_PRELOAD sleep 0.1")
  end
  error(("only %d of %d messages with %s arrived in %s"):format(#found, count, marker, maildir))
end

return mailstack
