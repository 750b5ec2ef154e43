-- bench/pop3_fetch.lua MODE PORT USER PASS DIR: the lmail side of
-- bench/bench_pop3.sh, over plain POP3 on 127.0.0.1 (as its peers).
--   fetch: lmail.fetch into the Maildir DIR (tmp/, fsync, new/, state file)
--   retr:  a p:retr_many loop writing each message to a file in DIR (no
--          fsync), the same job as the poplib and curl peers
-- Prints the number of messages it got.
local lmail = require "lmail"
local pop3 = require "lmail.pop3"

local mode, port, user, pass, dir = arg[1], tonumber(arg[2]), arg[3], arg[4], arg[5]
local base = { host = "127.0.0.1", port = port, tls = "none", allow_cleartext_auth = true,
  user = user, password = pass, timeout = 120 }

if mode == "fetch" then
  base.maildir = dir
  local r = assert(lmail.fetch(base))
  print(r.fetched)
else
  local p = assert(pop3.open(base))
  local count = assert(p:stat())
  local nums = {}
  for i = 1, count do nums[i] = i end
  local fh
  assert(p:retr_many(nums, function(n)
    fh = assert(io.open(dir .. "/" .. n, "wb"))
    return function(chunk)
      if chunk then fh:write(chunk) else fh:close() end
      return 1
    end
  end, function() return true end))
  assert(p:quit())
  print(count)
end
