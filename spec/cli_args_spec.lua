-- The lmail command's parser, help texts, usage errors and exit codes (in
-- process; the subcommands against real servers are in cli_spec.lua).
local args = require "lmail.cli.args"
local main = require "lmail.cli.main"

local function sink()
  local t = {}
  return { write = function(self, ...)
    for _, s in ipairs({ ... }) do t[#t + 1] = tostring(s) end
    return self
  end, flush = function() end, text = function() return table.concat(t) end }
end

local function run(argv, env)
  local out, err = sink(), sink()
  local code = main.run(argv, { stdout = out, stderr = err,
    getenv = function(k) return (env or {})[k] end })
  return code, out.text(), err.text()
end

local CMD = { name = "x", usage = "x", summary = "s", options = {
  { "to", arg = "ADDR", multi = true, help = "h" },
  { "subject", short = "s", arg = "TEXT", help = "h" },
  { "sendmail", short = "t", help = "h" },
  { "allow-cleartext-auth", help = "h" },
} }

describe("lmail.cli.args", function()
  it("parses long, inline, short, repeated options and positionals", function()
    local v, pos = args.parse(CMD, { "--to", "a@x", "--to=b@x", "-s", "Hi there", "-t",
      "--allow-cleartext-auth", "rest", "--", "--to" })
    assert.are.same({ "a@x", "b@x" }, v.to)
    assert.are.equal("Hi there", v.subject)
    assert.is_true(v.sendmail)
    assert.is_true(v.allow_cleartext_auth)
    assert.are.same({ "rest", "--to" }, pos)
  end)

  it("reports unknown options, missing values and repeats", function()
    assert.matches("unknown option %-%-nope", select(2, args.parse(CMD, { "--nope" })))
    assert.matches("unknown option %-z", select(2, args.parse(CMD, { "-z" })))
    assert.matches("needs TEXT", select(2, args.parse(CMD, { "--subject" })))
    assert.matches("given twice", select(2, args.parse(CMD, { "-s", "a", "-s", "b" })))
    assert.matches("takes no value", select(2, args.parse(CMD, { "--sendmail=1" })))
  end)

  it("writes a help text listing every option", function()
    local h = args.help(CMD)
    for _, o in ipairs(CMD.options) do assert.truthy(h:find("--" .. o[1], 1, true)) end
    assert.truthy(h:find("-s, --subject TEXT", 1, true))
  end)
end)

describe("lmail command line", function()
  it("prints usage with exit 64 without a command, 0 with --help", function()
    local code, _, err = run({})
    assert.are.equal(64, code)
    assert.matches("usage: lmail", err)
    code = run({ "--help" })
    assert.are.equal(0, code)
  end)

  it("has --help for every subcommand", function()
    for _, name in ipairs(main.SUBCOMMANDS) do
      local code, out = run({ name, "--help" })
      assert.are.equal(0, code)
      assert.matches("usage: lmail " .. name, out)
    end
  end)

  it("refuses unknown commands and options with exit 64 and one line", function()
    local code, _, err = run({ "frobnicate" })
    assert.are.equal(64, code)
    assert.matches("unknown command", err)
    code, _, err = run({ "send", "--bogus" })
    assert.are.equal(64, code)
    assert.are.equal(1, select(2, err:gsub("\n", "")))
    code, _, err = run({ "send", "--to", "a@example.test" }, { XDG_CONFIG_HOME = "/nonexistent" })
    assert.are.equal(64, code)
    assert.matches("no server", err)
    code = run({ "read", "notanumber", "--host", "127.0.0.1" })
    assert.are.equal(64, code)
    code = run({ "fetch", "--host", "127.0.0.1" })
    assert.are.equal(64, code)
  end)

  it("reports a bad environment value as a configuration error (78)", function()
    local code, _, err = run({ "list" }, { LMAIL_PORT = "many", XDG_CONFIG_HOME = "/nonexistent" })
    assert.are.equal(78, code)
    assert.matches("LMAIL_PORT", err)
  end)

  it("maps library error codes to distinct exit codes", function()
    local seen = {}
    for _, c in ipairs({ "ECONNREFUSED", "ECERT", "EAUTH", "EREJECTED", "ETEMPFAIL", "EPROTO",
                         "EINVAL" }) do
      local e = main.exit_for(c)
      assert.is_true(e > 0)
      seen[e] = (seen[e] or 0) + 1
    end
    for _, n in pairs(seen) do assert.are.equal(1, n) end
    assert.are.equal(main.exit_for("ECONNREFUSED"), main.exit_for("ETIMEDOUT"))
    assert.are.equal(main.exit_for("ECERT"), main.exit_for("ETLSREQUIRED"))
  end)
end)

describe("lmail.cli.save.create", function()
  local save = require "lmail.cli.save"
  local dir

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(require("lmail.core").fs.mkdir(dir))
  end)

  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function slurp(path)
    return assert(require("spec.support.files").read(path))
  end

  it("creates the name, then name (2).ext, never touching an existing file", function()
    local f1, p1 = assert(save.create(dir, "a.txt"))
    assert(f1:write("one"))
    assert(f1:close())
    local f2, p2 = assert(save.create(dir, "a.txt"))
    assert(f2:write("two"))
    assert(f2:close())
    assert.are.equal(dir .. "/a.txt", p1)
    assert.are.equal(dir .. "/a (2).txt", p2)
    assert.are.equal("one", slurp(p1))
    assert.are.equal("two", slurp(p2))
    local f3, p3 = assert(save.create(dir, "noext"))
    f3:close()
    assert.are.equal(dir .. "/noext", p3)
  end)

  it("never writes through a symbolic link planted at the name", function()
    local target = dir .. "/target"
    assert(os.execute("ln -s '" .. target .. "' '" .. dir .. "/evil.txt'"))
    local fh = save.create(dir, "evil.txt")
    if fh then fh:close() end
    assert.is_nil(io.open(target, "rb"))
  end)
end)
