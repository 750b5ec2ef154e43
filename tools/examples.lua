-- tools/examples.lua: runs the scripts of examples/ against the project's
-- local Postfix + Dovecot (spec/support/mailstack.sh), with their settings
-- in LMAIL_* environment variables as a user would give them.
--   lua5.4 tools/examples.lua          (make examples) runs them all, prints
--                                      their output, exits 1 if one fails
--   require "tools.examples"           spec/examples_spec.lua: examples.run
local mailstack = require "spec.support.mailstack"
local q = require("spec.support.proc").quote

local examples = {}

examples.NAMES = { "verification_code", "bulk_send", "fetch_attachments", "coroutines" }

--- The environment the examples get: alice sends over STARTTLS, bob reads
--- over POP3S.
function examples.env(env)
  return {
    LMAIL_SMTP_HOST = "localhost", LMAIL_SMTP_PORT = env.SUBMISSION_PORT,
    LMAIL_SMTP_USER = env.ALICE_USER, LMAIL_SMTP_PASSWORD = env.ALICE_PASS,
    LMAIL_FROM = "Alice <" .. env.ALICE_ADDR .. ">", LMAIL_CAFILE = env.CAFILE,
    LMAIL_POP3_HOST = "localhost", LMAIL_POP3_PORT = env.POP3S_PORT, LMAIL_POP3_TLS = "tls",
    LMAIL_POP3_USER = env.BOB_USER, LMAIL_POP3_PASSWORD = env.BOB_PASS,
    CODE_TO = env.BOB_ADDR, CODE_CHECK_POP3 = "1",
    BULK_TO = env.BOB_ADDR .. "," .. env.ALICE_ADDR .. ",nobody@example.test",
    POP3_USER2 = env.ALICE_USER, POP3_PASSWORD2 = env.ALICE_PASS,
  }
end

local PASS_THROUGH = { "PATH", "LUA_PATH", "LUA_CPATH", "LD_PRELOAD", "ASAN_OPTIONS",
                       "UBSAN_OPTIONS" }

--- Runs examples/<name>.lua with args; returns ok, exit code, output
--- (stdout and stderr together).
function examples.run(name, args, env)
  local words = {}
  for _, k in ipairs(PASS_THROUGH) do
    local v = os.getenv(k)
    if v then words[#words + 1] = k .. "=" .. q(v) end
  end
  local home = os.getenv("HOME") or "/tmp"
  words[#words + 1] = "HOME=" .. q(home)
  words[#words + 1] = "XDG_CONFIG_HOME=/nonexistent"   -- only the variables below count
  for k, v in pairs(examples.env(env)) do words[#words + 1] = k .. "=" .. q(tostring(v)) end
  local quoted = {}
  for i, a in ipairs(args or {}) do quoted[i] = q(a) end
  local cmd = "env -i " .. table.concat(words, " ") .. " lua5.4 examples/" .. name .. ".lua "
    .. table.concat(quoted, " ") .. " 2>&1; echo \"exit=$?\""
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)\n$"))
  return code == 0, code, (out:gsub("exit=%d+\n$", ""))
end

--- Sends bob a message with an attachment and waits until it is in his
--- Maildir, so that fetch_attachments has something to save.
function examples.prepare_attachment(env)
  local lmail = require "lmail"
  local tag = "examples-" .. require("lmail.crypto").random_code(8)
  assert(lmail.send{ host = "localhost", port = env.SUBMISSION_PORT, cafile = env.CAFILE,
    user = env.ALICE_USER, password = env.ALICE_PASS, from = env.ALICE_ADDR,
    to = env.BOB_ADDR, subject = tag .. " report", text = "attached",
    attachments = { { filename = "../report 2026.csv", content = "a,b\n1,2\n" } } })
  mailstack.wait_delivered(env.BOB_MAILDIR, tag)
end

-- As a script: run every example and show what it printed.
if not pcall(debug.getlocal, 4, 1) then
  local env = mailstack.up()
  local dir = os.tmpname()
  os.remove(dir)
  local failed = 0
  for _, name in ipairs(examples.NAMES) do
    local args = name == "fetch_attachments" and { dir .. "/Maildir", dir .. "/attachments" }
      or nil
    io.write("== examples/", name, ".lua\n")
    if name == "fetch_attachments" then examples.prepare_attachment(env) end
    local ok, code, out = examples.run(name, args, env)
    io.write(out)
    if not ok then
      failed = failed + 1
      io.write("!! examples/", name, ".lua exited with ", tostring(code), "\n")
    end
  end
  os.execute("rm -rf " .. q(dir))
  os.exit(failed == 0 and 0 or 1)
end

return examples
