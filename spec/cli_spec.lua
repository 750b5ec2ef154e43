-- The lmail command (bin/lmail) run as a subprocess against the real
-- Postfix + Dovecot of spec/support/mailstack.sh (started on demand, never
-- skipped): every subcommand, and its error paths with their exit codes.
local md5 = require "lmail.md5"
local mime = require "lmail.mime"
local text = require "lmail.text"
local crypto = require "lmail.crypto"
local mailstack = require "spec.support.mailstack"
local mail = require "spec.support.pop3_mail"
local util = require "spec.support.pop3_util"
local q = require("spec.support.proc").quote

local env = mailstack.up()
local _ -- the values a spec ignores
local ROOT = os.getenv("PWD") or "."

-- The subprocess environment: nothing of ours but the Lua paths (and the
-- sanitizer settings of `make check-asan`), a private HOME and config dir.
local home = util.tmpdir("cli")

local function config_file(extra)
  local lines = {
    "return { default = 'bob', profiles = {",
    ("  alice = { host = 'localhost', user = %q, from = %q, cafile = %q,"):format(
      env.ALICE_USER, "Alice <" .. env.ALICE_ADDR .. ">", env.CAFILE),
    ("    password_command = %q,"):format("printf '%s\\n'" .. " '" .. env.ALICE_PASS .. "'"),
    ("    smtp = { port = %d }, pop3 = { port = %d, tls = 'starttls' } },"):format(
      env.SUBMISSION_PORT, env.POP3_PORT),
    ("  bob = { host = 'localhost', user = %q, password = %q, from = %q, cafile = %q,"):format(
      env.BOB_USER, env.BOB_PASS, "Bob <" .. env.BOB_ADDR .. ">", env.CAFILE),
    ("    smtp = { port = %d, tls = 'tls' }, pop3 = { port = %d, tls = 'tls' } },"):format(
      env.SUBMISSIONS_PORT, env.POP3S_PORT),
    extra or "",
    "} }",
  }
  util.write(home .. "/lmail/config.lua", table.concat(lines, "\n"))
end
os.execute("mkdir -p " .. q(home .. "/lmail"))

local PASS_THROUGH = { "LUA_PATH", "LUA_CPATH", "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                       "PATH" }

--- Runs `lmail ARGS` with stdin; returns exit code, stdout, stderr.
local function lmail_cmd(argv, stdin, extra_env)
  local words = {}
  for _, k in ipairs(PASS_THROUGH) do
    local v = os.getenv(k)
    if v then words[#words + 1] = k .. "=" .. q(v) end
  end
  words[#words + 1] = "HOME=" .. q(home)
  words[#words + 1] = "XDG_CONFIG_HOME=" .. q(home)
  for k, v in pairs(extra_env or {}) do words[#words + 1] = k .. "=" .. q(v) end
  local args = {}
  for i, a in ipairs(argv) do args[i] = q(a) end
  local inpath, errpath = home .. "/stdin", home .. "/stderr"
  util.write(inpath, stdin or "")
  local cmd = "env -i " .. table.concat(words, " ") .. " lua5.4 " .. q(ROOT .. "/bin/lmail")
    .. " " .. table.concat(args, " ") .. " <" .. q(inpath) .. " 2>" .. q(errpath)
    .. "; echo \"exit=$?\""
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)\n$"))
  out = out:gsub("exit=%d+\n$", "")
  return code, out, util.read(errpath) or ""
end

local function marker()
  return "cli-" .. crypto.random_code(10)
end

-- The number `lmail list` gives the message whose subject holds tag.
local function number_of(tag, profile)
  local code, out, err = lmail_cmd({ "list", "--profile", profile or "bob", "--width", "200" })
  assert.are.equal(0, code, err)
  for line in out:gmatch("[^\n]+") do
    if line:find(tag, 1, true) then return tonumber(line:match("^%s*(%d+)")), line end
  end
  error("no message with " .. tag .. " in:\n" .. out)
end

describe("the lmail command", function()
  setup(function()
    config_file()
    mail.empty(env, env.BOB_USER, env.BOB_PASS)
  end)
  teardown(function() util.rmtree(home) end)

  local sent = {}

  it("sends a text message with an attachment (STARTTLS, password_command)", function()
    local id = marker()
    local data = assert(crypto.random_bytes(50000))
    util.write(home .. "/data.bin", data)
    local code, out, err = lmail_cmd({ "send", "--profile", "alice", "--to", env.BOB_ADDR,
      "--subject", id .. " 你好，世界 Grüße", "--attach", home .. "/data.bin",
      "--header", "X-Spec: cli" }, "Hello Bob\nsecond line\n")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    local got = mailstack.wait_delivered(env.BOB_MAILDIR, id)[1]
    local m = assert(mime.parse(got))
    assert.are.equal(id .. " 你好，世界 Grüße", m:header("Subject"))
    assert.are.equal("cli", m:header("X-Spec"))
    assert.truthy(m:text():find("Hello Bob\r?\nsecond line"))
    assert.are.equal(md5.hex(data), md5.hex(m:attachments()[1]:content()))
    sent.attach = id
  end)

  it("sends in sendmail mode (-t): recipients from the headers, Bcc removed", function()
    local id = marker()
    local msg = table.concat({
      "From: Alice <" .. env.ALICE_ADDR .. ">",
      "To: Bob <" .. env.BOB_ADDR .. ">",
      "Bcc: " .. env.ALICE_ADDR,
      "Subject: " .. id,
      "",
      "from cron",
      ".",
      "a line with a lone dot above",
      "" }, "\n")
    local code, _, err = lmail_cmd({ "send", "--profile", "alice", "-t" }, msg)
    assert.are.equal(0, code, err)
    local to_bob = mailstack.wait_delivered(env.BOB_MAILDIR, id)[1]
    local to_alice = mailstack.wait_delivered(env.ALICE_MAILDIR, id)[1]
    assert.is_nil(to_bob:find("\nBcc:", 1, true))
    assert.is_nil(to_alice:find("\nBcc:", 1, true))
    assert.truthy(to_bob:find("\n.\na line with a lone dot above", 1, true))
  end)

  it("sends an HTML alternative and a hostile subject for the reading specs", function()
    local id = marker()
    util.write(home .. "/body.html", "<html><head><style>x{}</style></head><body><p>Hi "
      .. "<b>there</b></p><ul><li>one</li><li>two</li></ul></body></html>")
    local code, _, err = lmail_cmd({ "send", "--profile", "alice", "--to", env.BOB_ADDR,
      "--subject", id .. " html", "--html", home .. "/body.html" }, "plain version\n")
    assert.are.equal(0, code, err)
    sent.html = id
    -- An ESC sequence and a bidi override in the subject, and an attachment
    -- named to escape the directory, sent raw with -t.
    local id2 = marker()
    local raw = table.concat({
      "From: " .. env.ALICE_ADDR, "To: " .. env.BOB_ADDR,
      "Subject: " .. id2 .. " =?UTF-8?B?" .. mime.b64encode("\27[31mred\226\128\174evil", 0)
        .. "?=",
      "MIME-Version: 1.0",
      "Content-Type: multipart/mixed; boundary=b",
      "", "--b", "Content-Type: text/plain", "", "see attached", "--b",
      "Content-Type: application/octet-stream",
      "Content-Disposition: attachment; filename=\"../../evil.sh\"",
      "Content-Transfer-Encoding: base64", "", mime.b64encode("#!/bin/sh\necho owned\n"),
      "--b--", "" }, "\r\n")
    code, _, err = lmail_cmd({ "send", "--profile", "alice", "-t" }, raw)
    assert.are.equal(0, code, err)
    sent.hostile = id2
    mailstack.wait_delivered(env.BOB_MAILDIR, id)
    mailstack.wait_delivered(env.BOB_MAILDIR, id2)
  end)

  it("lists the mailbox as an aligned table (POP3S)", function()
    local code, out, err = lmail_cmd({ "list", "--width", "100" })
    assert.are.equal(0, code, err)
    local widths = {}
    local lines = 0
    for line in out:gmatch("[^\n]+") do
      lines = lines + 1
      widths[text.width(line)] = true
      assert.is_nil(line:find("\27", 1, true), "an escape reached the terminal")
    end
    assert.are.equal(5, lines)   -- header + 4 messages
    local n = 0
    for _ in pairs(widths) do n = n + 1 end
    assert.are.equal(1, n, "rows of different widths:\n" .. out)
    assert.truthy(out:find("你好", 1, true))
    assert.truthy(out:find("Alice", 1, true))
  end)

  it("reads a message: decoded headers, text, attachments", function()
    local n = number_of(sent.attach)
    local code, out, err = lmail_cmd({ "read", tostring(n) })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("Subject: " .. sent.attach .. " 你好，世界 Grüße", 1, true))
    assert.truthy(out:find("From: Alice <" .. env.ALICE_ADDR .. ">", 1, true))
    assert.truthy(out:find("Hello Bob\nsecond line", 1, true))
    assert.truthy(out:find("Attachments:\n  1. data.bin (application/octet-stream, 50000 bytes)",
      1, true))
  end)

  it("reads the text part of an alternative, and shows HTML-only mail as text", function()
    local code, out, err = lmail_cmd({ "read", tostring(number_of(sent.html)) })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("plain version", 1, true))
    -- HTML only: the same message rebuilt without its text part.
    local id = marker()
    local raw = "From: " .. env.ALICE_ADDR .. "\r\nTo: " .. env.BOB_ADDR .. "\r\nSubject: " .. id
      .. "\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      .. "<p>Hi <b>there</b></p><ul><li>one</li><li>two</li></ul><script>x()</script>\r\n"
    code, _, err = lmail_cmd({ "send", "--profile", "alice", "-t" }, raw)
    assert.are.equal(0, code, err)
    mailstack.wait_delivered(env.BOB_MAILDIR, id)
    code, out, err = lmail_cmd({ "read", tostring(number_of(id)) })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("Hi there\n\n- one\n- two\n", 1, true), out)
    assert.is_nil(out:find("x()", 1, true))
  end)

  it("never prints escape sequences or bidi overrides from a message", function()
    local n = number_of(sent.hostile)
    local code, out, err = lmail_cmd({ "read", tostring(n) })
    assert.are.equal(0, code, err)
    assert.is_nil(out:find("\27", 1, true))
    assert.is_nil(out:find("\226\128\174", 1, true))
    assert.truthy(out:find("red", 1, true))
  end)

  it("saves attachments under safe names, never overwriting", function()
    local dir = home .. "/saved"
    os.execute("mkdir -p " .. q(dir))
    local n = number_of(sent.hostile)
    local code, out, err = lmail_cmd({ "save", tostring(n), dir })
    assert.are.equal(0, code, err)
    assert.are.equal(dir .. "/evil.sh\n", out)
    assert.are.equal("#!/bin/sh\necho owned\n", util.read(dir .. "/evil.sh"))
    assert.is_nil(util.read(home .. "/evil.sh"))
    code, out = lmail_cmd({ "save", tostring(n), dir })
    assert.are.equal(0, code)
    assert.are.equal(dir .. "/evil (2).sh\n", out)
    code, _, err = lmail_cmd({ "save", tostring(n), home .. "/no/such/dir" })
    assert.are.equal(66, code)
    assert.matches("no such directory", err)
  end)

  it("fetches into a Maildir, then fetches nothing new, then deletes", function()
    local md = home .. "/Maildir"
    local code, out, err = lmail_cmd({ "fetch", "--maildir", md })
    assert.are.equal(0, code, err)
    assert.matches("^5 fetched, 0 already here\n$", out)
    assert.matches("fetched 5/5", err)        -- plain progress lines: stderr is no terminal
    assert.are.equal(5, #mailstack.maildir_files(md))
    code, out = lmail_cmd({ "fetch", "--maildir", md, "--delete" })
    assert.are.equal(0, code)
    assert.matches("^0 fetched, 5 already here\n$", out)
    code, out = lmail_cmd({ "list" })
    assert.are.equal(0, code)
    assert.matches("%(no messages%)", out)
  end)

  describe("error paths", function()
    it("a wrong password: exit 77, one line, no password", function()
      -- The environment is stronger than the config file (docs/config.md).
      local code, out, err = lmail_cmd({ "list" }, "", { LMAIL_PASSWORD = "Wr0ng-secret" })
      assert.are.equal(77, code, err)
      assert.are.equal("", out)
      assert.is_nil(err:find("Wr0ng-secret", 1, true))
      code, out, err = lmail_cmd({ "list", "--profile", "bob", "--user", env.ALICE_USER },
        "", {})
      assert.are.equal(77, code, err)
      assert.are.equal("", out)
      assert.are.equal(1, select(2, err:gsub("\n", "")))
      assert.is_nil(err:find(env.BOB_PASS, 1, true))
      config_file("  wrong = { host = 'localhost', user = 'bob', password = 'Wr0ng-secret', "
        .. "cafile = '" .. env.CAFILE .. "',"
        .. " pop3 = { port = " .. env.POP3S_PORT .. ", tls = 'tls' },"
        .. " smtp = { port = " .. env.SUBMISSION_PORT .. " }, from = 'bob@example.test' },")
      code, _, err = lmail_cmd({ "list", "--profile", "wrong" })
      assert.are.equal(77, code, err)
      assert.is_nil(err:find("Wr0ng-secret", 1, true))
      code, _, err = lmail_cmd({ "send", "--profile", "wrong", "--to", env.BOB_ADDR }, "x")
      assert.are.equal(77, code, err)
      assert.is_nil(err:find("Wr0ng-secret", 1, true))
      config_file()
    end)

    it("a refused connection: exit 69", function()
      local code, _, err = lmail_cmd({ "list", "--port", "1", "--tls", "tls" })
      assert.are.equal(69, code, err)
      assert.matches("^lmail list: .*%[ECONNREFUSED%]\n$", err)
    end)

    it("a plain connection to an implicit-TLS port: exit 69 with a hint", function()
      local code, _, err = lmail_cmd({ "list", "--port", tostring(env.POP3S_PORT),
        "--tls", "starttls", "--timeout", "2" })
      assert.are.equal(69, code, err)
      assert.matches('implicit%-TLS port%? then set tls = "tls"', err)
    end)

    it("a certificate the system does not trust: exit 79", function()
      config_file("  nocafile = { host = 'localhost', user = 'bob', password = 'x', "
        .. "pop3 = { port = " .. env.POP3S_PORT .. ", tls = 'tls' }, smtp = { port = "
        .. env.SUBMISSION_PORT .. " }, from = 'bob@example.test' },")
      local code, _, err = lmail_cmd({ "list", "--profile", "nocafile" })
      assert.are.equal(79, code, err)
      code, _, err = lmail_cmd({ "send", "--profile", "nocafile", "--to", env.BOB_ADDR }, "x")
      assert.are.equal(79, code, err)
      config_file()
    end)

    it("credentials over a cleartext connection are refused: exit 79", function()
      local code, _, err = lmail_cmd({ "send", "--profile", "alice", "--port",
        tostring(env.SMTP_PORT), "--tls", "none", "--to", env.BOB_ADDR }, "x")
      assert.are.equal(79, code, err)
    end)

    it("every recipient refused: exit 67; some refused: exit 67 after sending", function()
      local code, _, err = lmail_cmd({ "send", "--profile", "alice", "--to",
        "nobody@example.test" }, "x")
      assert.are.equal(67, code, err)
      local id = marker()
      code, _, err = lmail_cmd({ "send", "--profile", "alice", "--to", env.BOB_ADDR,
        "--to", "nobody@example.test", "--subject", id }, "x")
      assert.are.equal(67, code, err)
      assert.matches("nobody@example%.test refused: 550", err)
      mailstack.wait_delivered(env.BOB_MAILDIR, id)
    end)

    it("a message number the server does not have: exit 67", function()
      local code, _, err = lmail_cmd({ "read", "999" })
      assert.are.equal(67, code, err)
    end)

    it("a missing profile or a failing password_command: exits 78 and 77", function()
      local code, _, err = lmail_cmd({ "list", "--profile", "nope" })
      assert.are.equal(78, code, err)
      code, _, err = lmail_cmd({ "list", "--profile", "alice" }, "",
        { LMAIL_PASSWORD_COMMAND = "false" })
      assert.are.equal(77, code, err)  -- the variable is stronger than the profile
      config_file("  broken = { host = 'localhost', user = 'bob', password_command = 'exit 3', "
        .. "pop3 = { port = " .. env.POP3S_PORT .. ", tls = 'tls' } },")
      code, _, err = lmail_cmd({ "list", "--profile", "broken" })
      assert.are.equal(77, code, err)
      config_file()
    end)

    it("-t without recipients, or an unreadable attachment: usage and no-input exits", function()
      local code = lmail_cmd({ "send", "--profile", "alice", "-t" }, "Subject: x\n\nbody\n")
      assert.are.equal(64, code)
      code = lmail_cmd({ "send", "--profile", "alice", "--to", env.BOB_ADDR, "--attach",
        home .. "/missing.bin" }, "x")
      assert.are.equal(66, code)
    end)
  end)
end)
