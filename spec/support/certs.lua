-- spec/support/certs.lua: the test PKI, made with the `openssl` command in a
-- temporary directory, once per run (the first require builds it).
--   local certs = require "spec.support.certs"
--   certs.ca                  -- CA certificate (PEM path), the client's cafile
--   certs.good.cert / .key    -- server cert for localhost + 127.0.0.1 (SAN DNS + IP)
--   certs.expired             -- same names, validity entirely in the past
--   certs.wrong_host          -- valid chain, SAN DNS:wrong.example only
--   certs.unknown             -- valid names, signed by a CA nobody trusts
--   certs.self_signed         -- localhost, signed by its own key
--   certs.client              -- client certificate (clientAuth) from the CA
--   certs.dir                 -- the directory (removed by certs.cleanup())
local certs = {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Children run without the spec's LD_PRELOAD (the ASan runtime under
-- check-asan), which would make them fail on their own leaks.
local function run(cmd)
  local fh = assert(io.popen("env -u LD_PRELOAD " .. cmd .. " 2>&1", "r"))
  local out = fh:read("a")
  local ok = fh:close()
  if not ok then
    error("certs: command failed: " .. cmd .. "\n" .. out, 0)
  end
  return out
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function mkdtemp()
  local dir = run("mktemp -d /tmp/lmail-certs-XXXXXX"):gsub("%s+$", "")
  assert(dir:match("^/tmp/lmail%-certs%-"), "certs: mktemp gave " .. dir)
  return dir
end

local dir = mkdtemp()
certs.dir = dir
local function p(name) return dir .. "/" .. name end

local KEY = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

-- A self-signed CA certificate.
local function make_ca(name, cn)
  run(("openssl req -x509 %s -keyout %s -out %s -subj %s -days 30"
    .. " -addext basicConstraints=critical,CA:TRUE"
    .. " -addext keyUsage=critical,keyCertSign,cRLSign")
    :format(KEY, q(p(name .. ".key")), q(p(name .. ".pem")), q("/CN=" .. cn)))
  return p(name .. ".pem"), p(name .. ".key")
end

-- A key and a CSR for cn.
local function make_csr(name, cn)
  run(("openssl req -new %s -keyout %s -out %s -subj %s")
    :format(KEY, q(p(name .. ".key")), q(p(name .. ".csr")), q("/CN=" .. cn)))
end

local function extfile(name, san, usage)
  local lines = { "basicConstraints=CA:FALSE", "extendedKeyUsage=" .. usage }
  if san then lines[#lines + 1] = "subjectAltName=" .. san end
  write(p(name .. ".ext"), table.concat(lines, "\n") .. "\n")
  return p(name .. ".ext")
end

local serial = 1
-- A leaf signed by the CA `ca` (names of files in dir), valid for 30 days.
local function make_leaf(name, cn, san, ca, usage)
  make_csr(name, cn)
  serial = serial + 1
  run(("openssl x509 -req -in %s -CA %s -CAkey %s -set_serial %d -days 30 -extfile %s -out %s")
    :format(q(p(name .. ".csr")), q(p(ca .. ".pem")), q(p(ca .. ".key")), serial,
      q(extfile(name, san, usage or "serverAuth")), q(p(name .. ".pem"))))
  return { cert = p(name .. ".pem"), key = p(name .. ".key") }
end

-- `openssl x509` of OpenSSL 3.0 cannot backdate; `openssl ca` can
-- (-startdate/-enddate), given a minimal database.
local function make_expired(name, cn, san)
  make_csr(name, cn)
  local db = p("ca-db")
  run("mkdir -p " .. q(db))
  write(db .. "/index.txt", "")
  write(db .. "/serial", "1000\n")
  write(p("ca.cnf"), table.concat({
    "[ca]", "default_ca = testca", "[testca]",
    "dir = " .. db, "database = $dir/index.txt", "serial = $dir/serial",
    "new_certs_dir = $dir", "default_md = sha256", "policy = anything",
    "unique_subject = no", "copy_extensions = none",
    "[anything]", "commonName = supplied",
    "[leaf]", "basicConstraints = CA:FALSE", "extendedKeyUsage = serverAuth",
    "subjectAltName = " .. san, "",
  }, "\n"))
  run(("openssl ca -batch -config %s -extensions leaf -cert %s -keyfile %s"
    .. " -startdate 20200101000000Z -enddate 20200201000000Z -in %s -out %s")
    :format(q(p("ca.cnf")), q(p("ca.pem")), q(p("ca.key")), q(p(name .. ".csr")),
      q(p(name .. ".pem"))))
  return { cert = p(name .. ".pem"), key = p(name .. ".key") }
end

local SAN = "DNS:localhost,IP:127.0.0.1"
local function build()
  certs.ca = make_ca("ca", "lmail test CA")
  make_ca("other-ca", "lmail untrusted CA")
  certs.good = make_leaf("good", "localhost", SAN, "ca")
  certs.expired = make_expired("expired", "localhost", SAN)
  certs.wrong_host = make_leaf("wrong", "wrong.example", "DNS:wrong.example", "ca")
  certs.unknown = make_leaf("unknown", "localhost", SAN, "other-ca")
  certs.client = make_leaf("client", "lmail client", nil, "ca", "clientAuth")
  run(("openssl req -x509 %s -keyout %s -out %s -subj /CN=localhost -days 30"
    .. " -addext subjectAltName=DNS:localhost,IP:127.0.0.1")
    :format(KEY, q(p("self.key")), q(p("self.pem"))))
  certs.self_signed = { cert = p("self.pem"), key = p("self.key") }
end

--- Removes the directory (safe to call twice).
function certs.cleanup()
  if certs.dir then
    os.execute("rm -rf " .. q(certs.dir))
    certs.dir = nil
  end
end

local ok, err = pcall(build)
if not ok then
  certs.cleanup()
  error(err, 0)
end

return certs
