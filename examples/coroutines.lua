-- examples/coroutines.lua: two POP3 sessions interleaved in ONE thread.
-- lmail's protocol engines never block: all waiting happens in Lua, in the
-- transport. So a transport that yields instead of waiting lets any
-- scheduler (this little loop here; OpenResty cosockets, cqueues or luv in
-- real programs) run many sessions side by side.
--
--   LMAIL_POP3_HOST=... LMAIL_POP3_USER=... LMAIL_POP3_PASSWORD=... \
--   POP3_USER2=... POP3_PASSWORD2=... lua5.4 coroutines.lua
local config = require "lmail.config"
local pop3 = require "lmail.pop3"
local mime = require "lmail.mime"
local tcp = require "lmail.transport.tcp"
local text = require "lmail.text"

--- A transport over a TCP connection whose receive yields to the
--- scheduler instead of blocking. Sends are small commands here and go out
--- at once.
local function cooperative(sock, timeout)
  sock:settimeout(0)            -- receive returns at once: data or ETIMEDOUT
  local t = {}
  function t.send(_, data)
    sock:settimeout(timeout)
    local n, err, code = sock:send(data)
    sock:settimeout(0)
    return n, err, code
  end
  function t.receive(_, max)
    local give_up = tcp.now() + timeout
    while true do
      local chunk, err, code = sock:receive(max)
      if chunk then return chunk end
      if code ~= "ETIMEDOUT" then return nil, err, code end
      if tcp.now() > give_up then return nil, "receive: timed out", "ETIMEDOUT" end
      coroutine.yield("waiting")  -- nothing yet: let the other sessions run
    end
  end
  function t:settimeout(s) timeout = s or 30 return self end
  function t.close() return sock:close() end
  function t.isclosed() return sock:isclosed() end
  return t
end

local function mailbox(label, user, password)
  local s = assert(config.resolve("pop3", {}))
  local sock = assert(tcp.connect(s.host, s.port, { timeout = 10 }))
  local p = assert(pop3.open{ transport = cooperative(sock, 10), host = s.host, tls = s.tls,
                              cafile = s.cafile })
  assert(p:login(user, password))
  local count, octets = assert(p:stat())
  print(("[%s] %d messages, %d octets"):format(label, count, octets))
  for n = 1, count do
    local m = mime.parse(assert(p:top(n, 0)))
    print(("[%s] %d: %s"):format(label, n, text.sanitize(m and m:header("Subject") or "?")))
  end
  assert(p:quit())
  return count
end

local s = assert(config.resolve("pop3", {}))
local tasks = {
  coroutine.create(function() return mailbox("1", s.user, s.password) end),
  coroutine.create(function()
    return mailbox("2", assert(os.getenv("POP3_USER2")), assert(os.getenv("POP3_PASSWORD2")))
  end),
}

-- The scheduler: resume every live session in turn; sleep a millisecond
-- when all of them are waiting for the network.
local live, switches = #tasks, 0
while live > 0 do
  local progressed = false
  for i, co in ipairs(tasks) do
    if co and coroutine.status(co) ~= "dead" then
      local ok, what = coroutine.resume(co)
      if not ok then error(what, 0) end
      switches = switches + 1
      if coroutine.status(co) == "dead" then
        live, tasks[i] = live - 1, false
        progressed = true
      elseif what ~= "waiting" then
        progressed = true
      end
    end
  end
  if not progressed then tcp.sleep(0.001) end
end
print(("both sessions done in one thread (%d switches)"):format(switches))
