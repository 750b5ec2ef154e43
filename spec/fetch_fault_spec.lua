-- lmail.fetch against a scripted server that breaks the connection at every
-- phase (spec/support/pop3_server.py): mid-greeting, mid-CAPA, at login,
-- mid-UIDL, mid-LIST, mid-RETR of each message, a RETR without its "."
-- line, a bare-LF terminator, at DELE, at QUIT (before and after the server
-- applied the deletions), stalls that hit the timeout, and a TLS close in
-- the middle of a message. After every run: no message is lost, none is
-- deleted from the server unless it is in the Maildir, none is in the
-- Maildir twice or partly, and tmp/ is empty; a second run completes the
-- job and a third fetches nothing.
local lmail = require "lmail"
local util = require "spec.support.pop3_util"

-- Five messages with what can go wrong in transit: dot lines, a line that
-- is exactly ".", 8-bit bytes, a long line, a 200 KB body.
local function messages()
  local big = {}
  for i = 1, 2000 do big[i] = ("%05d ."):format(i) .. ("z"):rep(90) end
  return {
    ["uid-0001"] = "Subject: one\r\n\r\nhello\r\n",
    ["uid-0002"] = "Subject: two\r\n\r\n.starts with a dot\r\n.\r\n..\r\nend\r\n",
    ["uid-0003"] = "Subject: three\r\n\r\n" .. table.concat(big, "\r\n") .. "\r\n",
    ["uid-0004"] = "Subject: four\r\nContent-Type: text/plain; charset=latin1\r\n\r\n"
      .. "caf\233 \255\128\r\n",
    ["uid-0005"] = "Subject: five\r\n\r\n" .. ("x"):rep(5000) .. "\r\n.\r\n",
  }
end

local function setup()
  local dir = util.tmpdir("fetch")
  os.execute("mkdir -p " .. dir .. "/mailbox")
  local msgs = messages()
  for uid, body in pairs(msgs) do util.write(dir .. "/mailbox/" .. uid, body) end
  return dir, msgs
end

local function server_uids(dir)
  local left = {}
  for _, f in ipairs(util.files(dir .. "/mailbox")) do left[f:match("[^/]+$")] = true end
  return left
end

-- The invariants that hold after any run, failed or not.
local function check(dir, msgs, label)
  local saved, tmp_left = util.maildir_messages(dir .. "/Maildir")
  local counts = util.counts(saved)
  local known = {}
  for _, body in pairs(msgs) do known[body] = true end
  for body, n in pairs(counts) do
    assert(known[body], label .. ": a file in the Maildir is not one of the messages (partial?)")
    assert(n == 1, label .. ": a message is in the Maildir " .. n .. " times")
  end
  assert(tmp_left == 0, label .. ": files left in tmp/")
  local left = server_uids(dir)
  for uid, body in pairs(msgs) do
    if not left[uid] then
      assert(counts[body], label .. ": " .. uid .. " was deleted but is not in the Maildir")
    end
  end
  return counts, left
end

local function fetch(port, dir, opts)
  local o = { host = "127.0.0.1", port = port, tls = "none", allow_cleartext_auth = true,
    user = "alice", password = "pw", maildir = dir .. "/Maildir", timeout = 10 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return lmail.fetch(o)
end

-- One scenario: a faulty run, then two clean ones, on one server process.
local function scenario(fault, mode, extra)
  local dir, msgs = setup()
  local args = { "--mailbox", dir .. "/mailbox", "--fault", fault, "--connections", "3",
    "--idle", "10" }
  if mode.pipelining then args[#args + 1] = "--pipelining" end
  for _, a in ipairs(extra and extra.args or {}) do args[#args + 1] = a end
  local srv, port = util.pop3_server(args)
  local label = fault .. (mode.delete and " (delete)" or "") .. (mode.pipelining
    and " (pipelining)" or "")
  local ok, err = pcall(function()
    local opts = { delete = mode.delete }
    for k, v in pairs(extra and extra.opts or {}) do opts[k] = v end
    local r, msg, code = fetch(port, dir, opts)
    if fault ~= "none" then
      assert(r == nil, label .. ": the faulty run succeeded")
      assert(extra and extra.codes and extra.codes[code] or code == "ECLOSED",
        label .. ": code " .. tostring(code) .. " " .. tostring(msg))
    end
    check(dir, msgs, label .. ", run 1")
    opts.timeout = 10
    r, msg = fetch(port, dir, opts)
    assert(r, label .. ", run 2: " .. tostring(msg))
    local counts, left = check(dir, msgs, label .. ", run 2")
    for uid, body in pairs(msgs) do
      assert(counts[body] == 1, label .. ": " .. uid .. " missing from the Maildir")
      assert(not mode.delete == (left[uid] == true),
        label .. ": " .. uid .. (mode.delete and " still on the server" or " was deleted"))
    end
    r, msg = fetch(port, dir, opts)
    assert(r, label .. ", run 3: " .. tostring(msg))
    assert(r.fetched == 0, label .. ", run 3 fetched " .. r.fetched)
    check(dir, msgs, label .. ", run 3")
  end)
  srv:stop()
  util.rmtree(dir)
  if not ok then error(err, 0) end
end

local FAULTS = { "greeting", "capa", "auth", "uidl", "list" }
for k = 1, 5 do
  FAULTS[#FAULTS + 1] = "retr:" .. k
  FAULTS[#FAULTS + 1] = "retr_end:" .. k
end
for _, f in ipairs({ "retr_dot_lf:2", "retr_dot_lf:5", "dele:1", "dele:4", "quit",
  "quit_applied" }) do
  FAULTS[#FAULTS + 1] = f
end

local MODES = {
  { delete = false, pipelining = false },
  { delete = true, pipelining = true },
  { delete = true, pipelining = false },
}

describe("lmail.fetch under connection failures", function()
  -- The test PKI is built on first use; remove it and forget the module so
  -- that a later spec file builds its own.
  teardown(function()
    local certs = package.loaded["spec.support.certs"]
    if certs then
      certs.cleanup()
      package.loaded["spec.support.certs"] = nil
    end
  end)

  it("completes without faults (the baseline of the scenarios)", function()
    for _, mode in ipairs(MODES) do scenario("none", mode) end
  end)

  for _, mode in ipairs(MODES) do
    local name = (mode.delete and "delete = true" or "delete = false")
      .. (mode.pipelining and ", pipelined" or "")
    it("loses, deletes wrongly and duplicates nothing at any drop (" .. name .. ")", function()
      for _, fault in ipairs(FAULTS) do
        if mode.delete or not fault:find("^dele") then scenario(fault, mode) end
      end
    end)
  end

  it("times out on a stalled server and still loses nothing", function()
    for _, fault in ipairs({ "greeting", "uidl", "retr:3", "quit" }) do
      scenario(fault, { delete = true, pipelining = true },
        { args = { "--hang", "1.5" }, opts = { timeout = 0.5 }, codes = { ETIMEDOUT = true } })
    end
  end)

  it("treats a TLS close_notify in the middle of a message as an error", function()
    local certs = require "spec.support.certs"
    for _, fault in ipairs({ "retr:3", "retr_end:1" }) do
      scenario(fault, { delete = true, pipelining = true }, {
        args = { "--tls", "implicit", "--cert", certs.good.cert, "--key", certs.good.key,
          "--tls-eof" },
        opts = { tls = "tls", cafile = certs.ca, allow_cleartext_auth = false },
      })
    end
  end)

  it("fetches over a real STLS upgrade", function()
    local certs = require "spec.support.certs"
    scenario("retr:2", { delete = true, pipelining = false }, {
      args = { "--tls", "stls", "--cert", certs.good.cert, "--key", certs.good.key },
      opts = { tls = "starttls", cafile = certs.ca, allow_cleartext_auth = false },
    })
  end)
end)
