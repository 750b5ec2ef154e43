-- examples/verification_code.lua: the verification-code mail most sites
-- send. A 6-digit code from OpenSSL's random generator (each digit
-- uniform: no modulo bias), sent as text + HTML, checked in constant time,
-- single use, limited attempts, and expired after ten minutes.
--
-- Settings come from the environment (no secrets in code), e.g.
--   LMAIL_SMTP_HOST=smtp.example.com LMAIL_SMTP_USER=me LMAIL_SMTP_PASSWORD=... \
--   LMAIL_FROM=noreply@example.com CODE_TO=user@example.org lua5.4 verification_code.lua
-- With CODE_CHECK_POP3=1 it then reads the code back from CODE_TO's mailbox
-- over POP3 (LMAIL_POP3_* settings), as the user would, and checks it.
local lmail = require "lmail"
local crypto = require "lmail.crypto"

local TTL = 10 * 60        -- seconds a code stays valid
local MAX_ATTEMPTS = 5     -- wrong guesses before the code is void

-- Pending codes by address. A real service keeps them in its database.
local pending = {}

--- Sends a fresh code to addr; returns true or nil, message, code.
local function send_code(addr, now)
  local code, err, ecode = crypto.random_code(6)
  if not code then return nil, err, ecode end
  pending[addr] = { code = code, expires = now + TTL, attempts = 0 }
  local r
  r, err, ecode = lmail.send{
    to = addr,
    subject = "Your verification code: " .. code,
    text = "Your verification code is " .. code .. ".\n\nIt expires in 10 minutes. "
      .. "If you did not ask for it, ignore this message.\n",
    html = "<p>Your verification code is</p><p style=\"font-size:24px\"><b>" .. code
      .. "</b></p><p>It expires in 10 minutes. If you did not ask for it, ignore this "
      .. "message.</p>",
    headers = { { "Auto-Submitted", "auto-generated" } },   -- RFC 3834: no auto-replies
  }
  if not r then
    pending[addr] = nil
    return nil, err, ecode
  end
  return true
end

--- Checks a code the user typed: true, or false and why.
local function check_code(addr, submitted, now)
  local p = pending[addr]
  if not p then return false, "no code pending" end
  if now > p.expires then
    pending[addr] = nil
    return false, "expired"
  end
  p.attempts = p.attempts + 1
  -- crypto.equal takes the same time wherever the strings differ, so the
  -- answer's timing does not tell how many leading digits were right.
  if crypto.equal(p.code, tostring(submitted)) then
    pending[addr] = nil   -- single use
    return true
  end
  if p.attempts >= MAX_ATTEMPTS then pending[addr] = nil end
  return false, "wrong code"
end

-- Reads the newest message with our subject from the recipient's mailbox
-- and returns the code in it (what the user does by reading the mail).
local function code_from_mailbox()
  local pop3 = require "lmail.pop3"
  local mime = require "lmail.mime"
  local config = require "lmail.config"
  local s = assert(config.resolve("pop3", {}))
  local p = assert(pop3.open{ host = s.host, port = s.port, tls = s.tls, cafile = s.cafile })
  assert(p:login(s.user, s.password))
  local found
  for _ = 1, 100 do                 -- delivery is asynchronous: wait up to 10 s
    local count = assert(p:stat())
    for n = count, 1, -1 do
      local m = mime.parse(assert(p:top(n, 0)))
      local code = m and (m:header("Subject") or ""):match("^Your verification code: (%d+)$")
      if code then found = n; break end
    end
    if found then break end
    p:close()
    require("lmail.transport.tcp").sleep(0.1)
    p = assert(pop3.open{ host = s.host, port = s.port, tls = s.tls, cafile = s.cafile })
    assert(p:login(s.user, s.password))
  end
  assert(found, "the code did not arrive")
  local m = assert(mime.parse(assert(p:retr(found))))
  assert(p:dele(found))
  assert(p:quit())
  return m:text():match("code is (%d%d%d%d%d%d)")
end

local to = assert(os.getenv("CODE_TO"), "set CODE_TO to the address that gets the code")
local now = os.time()
assert(send_code(to, now))
print("sent a code to " .. to)

local typed = os.getenv("CODE_CHECK_POP3") == "1" and code_from_mailbox() or pending[to].code
print("wrong code:   ", check_code(to, typed == "000000" and "111111" or "000000", now))
print("right code:   ", check_code(to, typed, now))
print("used again:   ", check_code(to, typed, now))

-- Expiry: a code checked after its ten minutes is refused.
pending[to] = { code = "123456", expires = now + TTL, attempts = 0 }
print("after 11 min: ", check_code(to, "123456", now + 11 * 60))
