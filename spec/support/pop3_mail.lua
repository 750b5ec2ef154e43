-- spec/support/pop3_mail.lua: putting mail into the real stack's mailboxes
-- for the POP3 integration specs and benches, and taking it out again.
--   local mail = require "spec.support.pop3_mail"
--   mail.deliver(env, env.ALICE_ADDR, {msg1, msg2, ...})  -- through Postfix
--   mail.wait(env.ALICE_MAILDIR, n)                         -- until delivered
--   mail.empty(env, "alice", env.ALICE_PASS)                -- delete everything
-- mail.deliver is the one place that submits mail. It uses Python's smtplib
-- for now: lmail.smtp is written on another branch; after the merge, switch
-- this function to lmail.smtp (one SMTP session, the same messages).
local mailstack = require "spec.support.mailstack"
local util = require "spec.support.pop3_util"

local mail = {}

local q = require("spec.support.proc").quote

local SEND = [[
import os, smtplib, sys
port, sender, rcpt, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as f:
        s.sendmail(sender, [rcpt], f.read())
s.quit()
]]

--- Sends every message (strings with CRLF line ends) to rcpt through
--- Postfix's SMTP port, in one SMTP session.
function mail.deliver(env, rcpt, messages)
  local dir = util.tmpdir("deliver")
  os.execute("mkdir " .. q(dir .. "/msgs"))
  for i, m in ipairs(messages) do util.write(("%s/msgs/%06d.eml"):format(dir, i), m) end
  util.write(dir .. "/send.py", SEND)
  local ok, out = util.run(("python3 %s %d %s %s %s"):format(q(dir .. "/send.py"),
    env.SMTP_PORT, q("sender@example.test"), q(rcpt), q(dir .. "/msgs")))
  util.rmtree(dir)
  assert(ok, "mail.deliver: smtplib failed:\n" .. out)
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
