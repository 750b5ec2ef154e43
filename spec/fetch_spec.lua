-- lmail.fetch and lmail.maildir with scripted servers (memory transport, at
-- every split): what is saved, what is recorded, what is deleted, and the
-- state file's rules.
local lmail = require "lmail"
local maildir = require "lmail.maildir"
local transcript = require "spec.support.transcript"
local util = require "spec.support.pop3_util"

local LOGIN = [[
S: +OK ready
C: CAPA
S: +OK
S: UIDL
S: USER
S: PIPELINING
S: .
C: USER alice
S: +OK
C: PASS pw
S: +OK
]]

local function opts(t, dir, extra)
  local o = { transport = t, tls = "none", allow_cleartext_auth = true, user = "alice",
    password = "pw", maildir = dir .. "/Maildir" }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- Runs the script at every split, each in a fresh directory prepared by
-- prepare(dir); check(dir, ...) gets the results.
local function each(script, prepare, run, o)
  transcript.each_split(script, function(t)
    local dir = util.tmpdir("fetch")
    local ok, err = pcall(function()
      if prepare then prepare(dir) end
      run(t, dir)
    end)
    util.rmtree(dir)
    if not ok then error(err, 0) end
  end, o)
end

describe("lmail.fetch", function()
  it("saves each new message into new/, records it, and QUITs", function()
    local script = LOGIN .. [[
C: UIDL
S: +OK
S: 1 aaa
S: 2 bbb
S: 3 ccc
S: .
C: LIST
S: +OK
S: 1 20
S: 2 20
S: 3 20
S: .
C: RETR 2
C: RETR 3
S: +OK
S: Subject: two
S:
S: ..dotted
S: .
S: +OK
S: Subject: three
S: .
C: QUIT
S: +OK
]]
    each(script, function(dir)
      -- aaa was fetched by an earlier run
      local st = assert(maildir.uidl_state(dir .. "/state", "alice@transport:110"))
      st:add("aaa")
      assert(st:flush())
      st:close()
    end, function(t, dir)
      local calls = {}
      local r = assert(lmail.fetch(opts(t, dir, { state = dir .. "/state",
        progress = function(...) calls[#calls + 1] = { ... } end })))
      assert.are.equal(2, r.fetched)
      assert.are.equal(1, r.skipped)
      assert.are.equal(0, r.deleted)
      assert.same({ { 1, 2, 25 }, { 2, 2, 41 } }, calls)
      assert.are.equal(2, #r.paths)
      assert.are.equal("Subject: two\r\n\r\n.dotted\r\n", util.read(r.paths[1]))
      assert.are.equal("Subject: three\r\n", util.read(r.paths[2]))
      for _, path in ipairs(r.paths) do
        -- Maildir naming: time.M<usec>P<pid>Q<n>R<random>.host, in new/
        assert.matches("/Maildir/new/%d+%.M%d+P%d+Q%d+R%x+%.[^/:]+$", path)
      end
      assert.are.equal(0, #util.files(dir .. "/Maildir/tmp"))
      assert.are.equal("lmail-uidl-state 1 alice@transport:110\naaa\nbbb\nccc\n",
        util.read(dir .. "/state"))
    end)
  end)

  it("deletes what is on disk, from this run and earlier ones, then QUITs", function()
    local script = LOGIN .. [[
C: UIDL
S: +OK
S: 1 aaa
S: 2 bbb
S: .
C: LIST
S: +OK
S: 1 20
S: 2 20
S: .
C: RETR 2
S: +OK
S: two
S: .
C: DELE 1
C: DELE 2
S: +OK
S: +OK
C: QUIT
S: +OK
]]
    each(script, function(dir)
      assert(maildir.open(dir .. "/Maildir"))
      local st = assert(maildir.uidl_state(dir .. "/Maildir/lmail-uidl-alice@transport_110",
        "alice@transport:110"))
      st:add("aaa")
      assert(st:flush())
      st:close()
    end, function(t, dir)
      local r = assert(lmail.fetch(opts(t, dir, { delete = true })))
      assert.are.equal(1, r.fetched)
      assert.are.equal(1, r.skipped)
      assert.are.equal(2, r.deleted)
      -- deleted on the server: forgotten by the state file
      assert.are.equal("lmail-uidl-state 1 alice@transport:110\n",
        util.read(dir .. "/Maildir/lmail-uidl-alice@transport_110"))
    end)
  end)

  it("leaves a refused or oversized message on the server and goes on", function()
    local script = LOGIN .. [[
C: UIDL
S: +OK
S: 1 aaa
S: 2 bbb
S: 3 ccc
S: .
C: LIST
S: +OK
S: 1 10
S: 2 999999
S: 3 10
S: .
C: RETR 1
C: RETR 3
S: -ERR [SYS/TEMP] message locked
S: +OK
S: three
S: .
C: DELE 3
S: +OK
C: QUIT
S: +OK
]]
    each(script, nil, function(t, dir)
      local r = assert(lmail.fetch(opts(t, dir, { delete = true, max_message_size = 1000 })))
      assert.are.equal(1, r.fetched)
      assert.are.equal(1, r.deleted)
      assert.are.equal(2, #r.failed)
      local by = {}
      for _, f in ipairs(r.failed) do by[f.uid] = f end
      assert.are.equal("ETEMPFAIL", by.aaa.code)
      assert.are.equal("ETOOLONG", by.bbb.code)
      assert.matches("max_message_size", by.bbb.message)
    end)
  end)

  it("drops the connection without QUIT when a message is cut, keeping what was saved",
    function()
      local script = LOGIN .. [[
C: UIDL
S: +OK
S: 1 aaa
S: 2 bbb
S: .
C: LIST
S: +OK
S: 1 10
S: 2 10
S: .
C: RETR 1
C: RETR 2
S: +OK
S: one
S: .
S: +OK
S: half of tw
!close
]]
      each(script, nil, function(t, dir)
        local r, msg, code, detail = lmail.fetch(opts(t, dir, { delete = true }))
        assert.is_nil(r)
        assert.are.equal("ECLOSED", code)
        assert.matches("RETR 2", msg)
        assert.are.equal(1, detail.fetched)
        assert.not_matches("QUIT", t:output()) -- never sent
        assert.not_matches("DELE", t:output())
        local msgs, tmp = util.maildir_messages(dir .. "/Maildir")
        assert.same({ "one\r\n" }, msgs)
        assert.are.equal(0, tmp)
        assert.matches("\naaa\n$", util.read(dir .. "/Maildir/lmail-uidl-alice@transport_110"))
      end)
    end)

  it("refuses a server without UIDL: it could not know what it already has", function()
    each(LOGIN .. "C: UIDL\nS: -ERR not supported\n", nil, function(t, dir)
      local r, msg, code = lmail.fetch(opts(t, dir))
      assert.is_nil(r)
      assert.are.equal("EREJECTED", code)
      assert.matches("needs UIDL", msg)
    end)
  end)

  it("raises on misuse", function()
    assert.has_error(function() lmail.fetch("x") end, "lmail.fetch: options must be a table")
    assert.has_error(function() lmail.fetch{ host = "h", user = "u", password = "p" } end,
      "lmail.fetch: opts.maildir must be a string")
    assert.has_error(function()
      lmail.fetch{ host = "h", user = "u", password = "p", maildir = "m", delete = "yes" }
    end, "lmail.fetch: opts.delete must be a boolean")
    assert.has_error(function()
      lmail.fetch{ host = "h", user = "u", password = "p", maildir = "m", progress = 1 }
    end, "lmail.fetch: opts.progress must be a function")
    assert.has_error(function()
      lmail.fetch{ host = "h", user = "u", password = "p", maildir = "m", port = 0 }
    end)
  end)

  it("keeps require 'lmail' cheap: lmail.fetch loads on the first call", function()
    local ok = os.execute("lua5.4 -e 'require \"lmail\"; assert(not package.loaded[\"lmail.fetch\"]"
      .. " and not package.loaded[\"lmail.pop3\"])'")
    assert.is_true(ok == true or ok == 0)
  end)
end)

describe("lmail.maildir", function()
  local dir
  before_each(function() dir = util.tmpdir("maildir") end)
  after_each(function() util.rmtree(dir) end)

  it("creates tmp/ new/ cur/ and delivers atomically", function()
    local md = assert(maildir.open(dir .. "/a/b/Mail/"))
    for _, sub in ipairs({ "tmp", "new", "cur" }) do
      assert.is_true(util.run("test -d '" .. dir .. "/a/b/Mail/" .. sub .. "'"))
    end
    local d = assert(md:begin())
    assert.are.equal(1, #util.files(dir .. "/a/b/Mail/tmp"))
    assert.are.equal(0, #util.files(dir .. "/a/b/Mail/new"))
    local sink = d:sink()
    assert(sink("part 1, "))
    assert(sink("part 2"))
    assert(sink(nil))
    local path = assert(d:commit())
    assert(md:sync())
    assert.are.equal("part 1, part 2", util.read(path))
    assert.are.equal(0, #util.files(dir .. "/a/b/Mail/tmp"))
    local ok, out = util.run("stat -c %a '" .. path .. "'")
    assert(ok)
    assert.are.equal("600", out:gsub("%s", ""))
    local d2 = assert(md:begin())
    d2:write("never")
    d2:abort()
    assert.are.equal(0, #util.files(dir .. "/a/b/Mail/tmp"))
    assert.are.equal(1, #util.files(dir .. "/a/b/Mail/new"))
    local p3 = assert(md:deliver(coroutine.wrap(function()
      coroutine.yield("from ")
      coroutine.yield("a source")
    end)))
    assert.are.equal("from a source", util.read(p3))
    assert.are_not.equal(path, p3)
  end)

  it("never replaces a file in new/", function()
    local md = assert(maildir.open(dir .. "/M"))
    local d = assert(md:begin())
    d:write("mine")
    util.write(dir .. "/M/new/" .. d.name, "someone else's")
    local path = assert(d:commit())
    assert.are_not.equal(dir .. "/M/new/" .. d.name, path)
    assert.are.equal("someone else's", util.read(dir .. "/M/new/" .. d.name))
    assert.are.equal("mine", util.read(path))
  end)

  it("reports an unwritable Maildir as EIO", function()
    util.write(dir .. "/file", "x")
    local md, msg, code = maildir.open(dir .. "/file/Mail")
    assert.is_nil(md)
    assert.are.equal("EIO", code)
    assert.matches("/file: ", msg)
  end)

  it("keeps a state file per account and survives a torn last line", function()
    local path = dir .. "/state"
    local st = assert(maildir.uidl_state(path, "alice@h:995"))
    st:add("u1")
    st:add("u2")
    assert(st:flush())
    st:close()
    -- a crash in the middle of an append: a torn line and garbage
    local f = assert(io.open(path, "ab"))
    f:write("u3\n\0\0bad line\nu4-torn")
    f:close()
    st = assert(maildir.uidl_state(path, "alice@h:995"))
    assert.is_true(st:has("u1") and st:has("u2") and st:has("u3"))
    assert.is_false(st:has("u4-torn"))
    assert.are.equal("lmail-uidl-state 1 alice@h:995\nu1\nu2\nu3\n", util.read(path))
    assert(st:compact(function(uid) return uid ~= "u2" end))
    assert.are.equal("lmail-uidl-state 1 alice@h:995\nu1\nu3\n", util.read(path))
    st:add("u5")
    assert(st:flush())
    st:close()
    assert.are.equal("lmail-uidl-state 1 alice@h:995\nu1\nu3\nu5\n", util.read(path))
    local other, msg, code = maildir.uidl_state(path, "bob@h:995")
    assert.is_nil(other)
    assert.are.equal("EINVAL", code)
    assert.matches("belongs to", msg)
    util.write(dir .. "/junk", "not a state file\n")
    local junk, _, jcode = maildir.uidl_state(dir .. "/junk", "a")
    assert.is_nil(junk)
    assert.are.equal("EINVAL", jcode)
    assert.has_error(function() st:add("has space") end, "state:add: not a valid UID")
  end)
end)
