-- bench/tls_bench.lua PORT MIB: sends MIB MiB through tls.wrap(tcp) to a
-- TLS sink on 127.0.0.1:PORT and prints "lmail <MB/s>". The clock runs from
-- connect to close (connect, handshake, send, close_notify), as it does for
-- the `openssl s_client` process it is compared with.
local tls = require "lmail.tls"
local tcp = require "lmail.transport.tcp"

local port, mib = tonumber(arg[1]), tonumber(arg[2])
local block = {}
for i = 1, 65536 do block[i] = string.char((i * 131 + (i >> 8)) % 256) end
local data = table.concat(block):rep(16):rep(mib)

local t0 = tcp.now()
local sock = assert(tcp.connect("127.0.0.1", port, { timeout = 30 }))
local t = assert(tls.wrap(sock, { insecure = true, timeout = 30 }))
assert(t:send(data) == #data)
t:close()
local dt = tcp.now() - t0
print(("lmail %.1f"):format(#data / dt / 1e6))
