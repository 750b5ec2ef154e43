-- spec/support/pop3_fake_tls.lua: a stand-in for the TLS handshake of STLS
-- in transcript specs (the memory transport cannot do TLS). Passed as the
-- session's tls_upgrade option, it writes "[tls client hello]" (when the
-- script expects a client write: server bytes still queued, as injected
-- ones would be, are read first, as a TLS client reads the server's first
-- flight), then expects the line "[tls server hello]"; anything else is a
-- failed handshake ("ETLS"), as bytes injected before a real handshake
-- would be.
--   local calls = {}
--   pop3.open{transport = t, tls = "starttls", tls_upgrade = fake_tls.upgrade(calls)}
--   calls.n   -- how many upgrades were attempted
local fake_tls = {}

local HELLO = "[tls server hello]\r\n"

function fake_tls.upgrade(calls)
  calls = calls or {}
  return function(t)
    calls.n = (calls.n or 0) + 1
    local step = t.current and t:current()
    if step and step[1] == "write" then
      local ok, msg, code = t:send("[tls client hello]\r\n")
      if not ok then return nil, msg, code end
    end
    local got = ""
    while #got < #HELLO do
      local chunk, msg, code = t:receive(#HELLO - #got)
      if not chunk then
        t:close()
        return nil, "fake tls: " .. tostring(msg), code == "ECLOSED" and "ETLS" or code
      end
      got = got .. chunk
      if HELLO:sub(1, #got) ~= got then
        t:close()
        return nil, "fake tls: handshake failed: not a server hello", "ETLS"
      end
    end
    calls.ok = (calls.ok or 0) + 1
    return t
  end
end

return fake_tls
