-- examples/bulk_send.lua: many personalised messages over ONE connection,
-- with per-recipient results and a rate limit. One session means one TLS
-- handshake and one login for the whole batch; with PIPELINING each
-- message costs one round trip.
--
--   LMAIL_SMTP_HOST=... LMAIL_SMTP_USER=... LMAIL_SMTP_PASSWORD=... LMAIL_FROM=... \
--   BULK_TO="a@example.org,b@example.org" lua5.4 bulk_send.lua
local config = require "lmail.config"
local mime = require "lmail.mime"
local smtp = require "lmail.smtp"
local tcp = require "lmail.transport.tcp"

local RATE = tonumber(os.getenv("BULK_RATE") or "20")   -- messages per second at most

local recipients = {}
for addr in (os.getenv("BULK_TO") or ""):gmatch("[^,%s]+") do
  recipients[#recipients + 1] = addr
end
assert(#recipients > 0, "set BULK_TO to a comma-separated list of addresses")

local s = assert(config.resolve("smtp", {}))
local session = assert(smtp.open{ host = s.host, port = s.port, tls = s.tls, cafile = s.cafile,
                                  timeout = s.timeout })
if s.user then assert(session:login(s.user, s.password)) end

local sent, refused, failed = 0, 0, 0
local next_at = tcp.now()
for i, addr in ipairs(recipients) do
  -- The rate limit: wait for this message's slot.
  local wait = next_at - tcp.now()
  if wait > 0 then tcp.sleep(wait) end
  next_at = math.max(next_at, tcp.now()) + 1 / RATE

  local msg = assert(mime.message{
    from = s.from, to = addr,
    subject = ("Your monthly report (#%d)"):format(i),
    text = ("Hello %s,\n\nthis is your personal report number %d.\n"):format(addr, i),
    headers = { { "List-Unsubscribe", "<mailto:unsubscribe@example.test?subject=" .. i .. ">" } },
  })
  local r, err, code, detail = session:send{ from = s.from:match("<(.-)>") or s.from,
                                             to = msg:recipients(), message = msg }
  if r then
    sent = sent + 1
    print(("%-28s sent      %d %s"):format(addr, r.code, r.text or ""))
  elseif code == "EREJECTED" or code == "ETEMPFAIL" then
    -- This recipient was refused; the session goes on with the next one.
    refused = refused + 1
    print(("%-28s refused   %s %s"):format(addr, tostring(detail and detail.code),
      detail and detail.text or err))
  else
    -- The connection itself failed: reconnect before going on.
    failed = failed + 1
    print(("%-28s failed    %s (%s); reconnecting"):format(addr, err, code))
    session:close()
    session = assert(smtp.open{ host = s.host, port = s.port, tls = s.tls, cafile = s.cafile })
    if s.user then assert(session:login(s.user, s.password)) end
  end
end
session:quit()
print(("%d sent, %d refused, %d failed"):format(sent, refused, failed))
os.exit(failed == 0 and 0 or 1)
