-- tools/demo.lua: `make demo`, the whole library against real servers.
-- Starts the project's own Postfix + Dovecot on 127.0.0.1
-- (spec/support/mailstack.sh), then through lmail only:
--   1. sends a message with a UTF-8 subject, text + HTML and a binary
--      attachment over STARTTLS with CRAM-MD5;
--   2. lists the mailbox and fetches the message over POP3 with STLS + APOP;
--   3. fetches it again over POP3S (implicit TLS) with USER/PASS;
--   4. parses it and checks the attachment's MD5 against the original;
-- prints a short report of each step, stops the servers, and exits
-- non-zero when any step fails.
local mailstack = require "spec.support.mailstack"

local now = require("lmail.transport.tcp").now

local failures = 0
local t0 = now()

local function step(name, fn)
  local started = now()
  local ok, result, detail = pcall(fn)
  local took = string.format("%5.2f s", now() - started)
  if ok and result then
    io.write(string.format("  ok    %s  %-56s %s\n", took, name, detail or ""))
  else
    failures = failures + 1
    local why = ok and tostring(detail) or tostring(result)
    io.write(string.format("  FAIL  %s  %-56s %s\n", took, name, why))
  end
  io.flush()
  return ok and result or nil
end

local function must(v, msg, code)
  if not v then error((msg or "failed") .. (code and (" [" .. code .. "]") or ""), 0) end
  return v
end

io.write("lmail demo: starting the local mail stack (Postfix + Dovecot on 127.0.0.1)\n")
local env = mailstack.up()

local lmail = require "lmail"
local crypto = require "lmail.crypto"
local md5 = require "lmail.md5"
local mime = require "lmail.mime"
local pop3 = require "lmail.pop3"
local text = require "lmail.text"

-- A binary attachment: random bytes in a temp file.
local attachment = os.tmpname()
local original = must(crypto.random_bytes(300 * 1024))
do
  local fh = must(io.open(attachment, "wb"))
  fh:write(original)
  fh:close()
end
local tag = crypto.random_code(8)
local subject = "lmail demo " .. tag .. " — 验证码 / Grüße"

step("send over STARTTLS, AUTH CRAM-MD5 (port " .. env.SUBMISSION_PORT .. ")", function()
  local r = must(lmail.send{
    host = "localhost", port = env.SUBMISSION_PORT, tls = "starttls", cafile = env.CAFILE,
    user = env.ALICE_USER, password = env.ALICE_PASS, mechanism = "CRAM-MD5",
    from = "Alice <" .. env.ALICE_ADDR .. ">", to = { "Bob <" .. env.BOB_ADDR .. ">" },
    subject = subject,
    text = "Hello Bob,\n\nthe attachment is 300 KiB of random bytes.\n",
    html = "<p>Hello Bob,</p><p>the attachment is <b>300 KiB</b> of random bytes.</p>",
    attachments = { { path = attachment, filename = "random-数据.bin",
                      content_type = "application/octet-stream" } },
  })
  return true, (r.text or ""):sub(1, 40)
end)

-- Wait until Postfix has delivered it into bob's Maildir.
step("delivered into the Maildir by Postfix + Dovecot LMTP", function()
  for _ = 1, 100 do
    for _, path in ipairs(mailstack.maildir_files(env.BOB_MAILDIR)) do
      local fh = io.open(path, "rb")
      local raw = fh and fh:read("*a")
      if fh then fh:close() end
      if raw and raw:find(tag, 1, true) then return true, "" end
    end
    os.execute("sleep 0.1")
  end
  return false, nil, "not delivered within 10 s"
end)

-- Finds the demo message in a logged-in session: its number; with `rows`,
-- also the mailbox as `lmail list` shows it.
local function find_message(p, rows)
  local list = require "lmail.cli.list"
  local sizes = must(p:list())
  local found
  for n = 1, #sizes do
    local head = must(p:top(n, 0))
    local m = mime.parse(head)
    if rows then rows[#rows + 1] = list.row(n, sizes[n], m, list.widths(96)) end
    if m and (m:header("Subject") or ""):find(tag, 1, true) then found = n end
  end
  if not found then error("the demo message is not in the mailbox", 0) end
  return found
end

local function check_message(raw)
  local m = must(mime.parse(raw))
  must(m:header("Subject") == subject,
    "subject decoded differently: " .. tostring(m:header("Subject")))
  local atts = m:attachments()
  must(#atts == 1, "expected one attachment, found " .. #atts)
  local got = atts[1]:content()
  must(md5.hex(got) == md5.hex(original), "attachment MD5 differs")
  return atts[1], m
end

local received
step("POP3 with STLS + APOP: list the mailbox", function()
  local p = must(pop3.open{ host = "localhost", port = env.POP3_PORT, tls = "starttls",
                            cafile = env.CAFILE })
  must(p:login(env.BOB_USER, env.BOB_PASS, "APOP"))
  local count, octets, scode = p:stat()
  must(count, octets, scode)
  local rows = {}
  local n = find_message(p, rows)
  local raw = must(p:retr(n))
  p:quit()
  received = raw
  return true, string.format("%d message(s), %d octets; demo message is #%d\n          %s",
    count, octets, n, table.concat(rows, "\n          "))
end)

step("parse it and check the attachment's MD5 (STLS copy)", function()
  must(received, "nothing was fetched")
  local a, m = check_message(received)
  return true, string.format("%s, %d bytes, md5 %s; subject %q", text.sanitize(a.filename or "?"),
    #a:content(), md5.hex(a:content()):sub(1, 12), text.sanitize(m:header("Subject")))
end)

step("POP3S (implicit TLS, port " .. env.POP3S_PORT .. "): fetch and check again", function()
  local p = must(pop3.open{ host = "localhost", port = env.POP3S_PORT, tls = "tls",
                            cafile = env.CAFILE })
  must(p:login(env.BOB_USER, env.BOB_PASS, "USER"))
  local n = find_message(p)
  local raw = must(p:retr(n))
  must(p:dele(n))
  must(p:quit())
  check_message(raw)
  return true, "message deleted after the check"
end)

os.remove(attachment)
io.write("lmail demo: stopping the mail stack\n")
os.execute("bash spec/support/mailstack.sh down >/dev/null 2>&1")
if failures > 0 then
  io.write(string.format("lmail demo: %d step(s) FAILED\n", failures))
  os.exit(1)
end
io.write(string.format("lmail demo: every step passed (%.1f s)\n", now() - t0))
