-- spec/support/pop3_mail.lua: putting mail into the real stack's mailboxes
-- for the POP3 integration specs and benches, and taking it out again.
--   local mail = require "spec.support.pop3_mail"
--   mail.deliver(env, env.ALICE_ADDR, {msg1, msg2, ...})  -- through Postfix
--   mail.wait(env.ALICE_MAILDIR, n)                         -- until delivered
--   mail.empty(env, "alice", env.ALICE_PASS)                -- delete everything
-- mail.deliver is the one place that submits mail: lmail.smtp, one
-- session for all the messages (the issue: "delivered by Postfix (via
-- lmail.smtp)"). Emptying and the served-copy oracle stay on Python's
-- poplib, so that a broken lmail cannot make a mailbox look right.
local mailstack = require "spec.support.mailstack"
local util = require "spec.support.pop3_util"

local mail = {}

local q = require("spec.support.proc").quote

--- Sends every message (strings with CRLF line ends) to rcpt through
--- Postfix's SMTP port, in one SMTP session.
function mail.deliver(env, rcpt, messages)
  local smtp = require "lmail.smtp"
  local s = assert(smtp.open{ host = "127.0.0.1", port = env.SMTP_PORT, cafile = env.CAFILE,
                              servername = "localhost", timeout = 60 })
  for i, m in ipairs(messages) do
    local r, msg, code = s:send{ from = "sender@example.test", to = { rcpt }, message = m }
    assert(r, ("mail.deliver: message %d: %s (%s)"):format(i, tostring(msg), tostring(code)))
  end
  assert(s:quit())
end

--- Waits (up to timeout seconds, default 120) until the Maildir holds
--- count messages; raises with the Postfix log tail otherwise.
function mail.wait(env, maildir, count, timeout)
  local deadline = os.time() + (timeout or 120)
  local n
  repeat
    n = #mailstack.maildir_files(maildir)
    if n >= count then return n end
    os.execute("sleep 0.2")
  until os.time() > deadline
  local _, log = util.run("tail -n 20 " .. q(env.POSTFIX_LOG))
  error(("mail.wait: %d of %d messages in %s\n%s"):format(n, count, maildir, log), 0)
end

local EMPTY = [[
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
count, _ = p.stat()
for i in range(1, count + 1):
    p.dele(i)
p.quit()
]]

--- Deletes every message of user's mailbox (Python's poplib, so that a
--- broken lmail cannot make it look empty).
function mail.empty(env, user, pass)
  local dir = util.tmpdir("empty")
  util.write(dir .. "/empty.py", EMPTY)
  local ok, out = util.run(("python3 %s %d %s %s"):format(q(dir .. "/empty.py"),
    env.POP3_PORT, q(user), q(pass)))
  util.rmtree(dir)
  assert(ok, "mail.empty: poplib failed:\n" .. out)
end

local RETR = [[
import hashlib, poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
for line in p.uidl()[1]:
    n, uid = line.split()
    lines = p.retr(int(n))[1]
    data = b"".join(l + b"\r\n" for l in lines)
    print(uid.decode(), hashlib.md5(data).hexdigest(), len(data))
p.quit()
]]

--- What Dovecot serves, as seen by another client (Python's poplib): a
--- table uid -> {md5 =, size =} of every message (RETR, lines joined with
--- CRLF).
function mail.served(env, user, pass)
  local dir = util.tmpdir("served")
  util.write(dir .. "/retr.py", RETR)
  local ok, out = util.run(("python3 %s %d %s %s"):format(q(dir .. "/retr.py"),
    env.POP3_PORT, q(user), q(pass)))
  util.rmtree(dir)
  assert(ok, "mail.served: poplib failed:\n" .. out)
  local t = {}
  for uid, sum, size in out:gmatch("(%S+) (%x+) (%d+)\n") do
    t[uid] = { md5 = sum, size = tonumber(size) }
  end
  return t
end

return mail
