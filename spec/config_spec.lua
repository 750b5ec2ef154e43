-- lmail.config: options from the caller, the environment and a config
-- file profile, and password_command.
local config = require "lmail.config"

local function fake_env(t)
  return function(name) return t[name] end
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

describe("lmail.config", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "/lmail'"))
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("finds the file through LMAIL_CONFIG, XDG_CONFIG_HOME or HOME", function()
    assert.are.equal("/x.lua", config.path(fake_env({ LMAIL_CONFIG = "/x.lua", HOME = "/h" })))
    assert.are.equal("/x/lmail/config.lua", config.path(fake_env({ XDG_CONFIG_HOME = "/x" })))
    assert.are.equal("/h/.config/lmail/config.lua", config.path(fake_env({ HOME = "/h" })))
    assert.is_nil(config.path(fake_env({})))
  end)

  it("merges caller over environment over profile, per protocol", function()
    write(dir .. "/lmail/config.lua", [[
      return { default = "work", profiles = {
        work = { host = "file.example", user = "fileuser", from = "f@example",
                 smtp = { port = 2525 }, pop3 = { port = 9995, host = "pop.example" } },
        home = { host = "home.example" } } }]])
    local env = fake_env({ XDG_CONFIG_HOME = dir, LMAIL_USER = "envuser",
                           LMAIL_SMTP_TIMEOUT = "7", LMAIL_INSECURE = "0" })
    local s = assert(config.resolve("smtp", { from = "caller@example" }, env))
    assert.are.equal("file.example", s.host)
    assert.are.equal(2525, s.port)
    assert.are.equal("envuser", s.user)
    assert.are.equal(7, s.timeout)
    assert.is_false(s.insecure)
    assert.are.equal("caller@example", s.from)
    local p = assert(config.resolve("pop3", {}, env))
    assert.are.equal("pop.example", p.host)
    assert.are.equal(9995, p.port)
    assert.is_nil(p.timeout)
    local h = assert(config.resolve("pop3", { profile = "home" }, env))
    assert.are.equal("home.example", h.host)
    env = fake_env({ XDG_CONFIG_HOME = dir, LMAIL_PROFILE = "home" })
    assert.are.equal("home.example", assert(config.resolve("smtp", {}, env)).host)
  end)

  it("gives the same settings when resolving a resolved table again", function()
    write(dir .. "/lmail/config.lua", [[
      return { default = "a", profiles = {
        a = { host = "a.example", tls = "tls", smtp = { port = 465 } },
        b = { host = "b.example", smtp = { port = 587 } } } }]])
    local env = fake_env({ XDG_CONFIG_HOME = dir })
    local once = assert(config.resolve("smtp", { profile = "b" }, env))
    local twice = assert(config.resolve("smtp", once, env))
    assert.are.same(once, twice)
    assert.is_nil(twice.tls)
    assert.are.equal("b.example", twice.host)
  end)

  it("works with no config file at all, and reports a missing profile", function()
    local env = fake_env({ XDG_CONFIG_HOME = dir, LMAIL_HOST = "h.example" })
    assert.are.equal("h.example", assert(config.resolve("smtp", {}, env)).host)
    local s, msg, code = config.resolve("smtp", { profile = "nope" }, env)
    assert.is_nil(s)
    assert.matches("profile 'nope'", msg)
    assert.are.equal("EINVAL", code)
  end)

  it("reports a broken or hostile config file as EINVAL, without running globals", function()
    write(dir .. "/lmail/config.lua", "return {")
    local env = fake_env({ XDG_CONFIG_HOME = dir })
    local s, msg, code = config.resolve("smtp", {}, env)
    assert.is_nil(s)
    assert.are.equal("EINVAL", code)
    assert.matches("config", msg)
    write(dir .. "/lmail/config.lua", "os.execute('touch " .. dir .. "/pwned') return {}")
    local s2, _, code2 = config.resolve("smtp", {}, env)
    assert.is_nil(s2)
    assert.are.equal("EINVAL", code2)
    assert.is_nil(io.open(dir .. "/pwned"))
    write(dir .. "/lmail/config.lua", "return 42")
    assert.are.equal("EINVAL", select(3, config.resolve("smtp", {}, env)))
  end)

  it("rejects malformed environment values", function()
    local env = fake_env({ LMAIL_PORT = "abc" })
    local s, msg, code = config.resolve("smtp", {}, env)
    assert.is_nil(s)
    assert.matches("LMAIL_PORT", msg)
    assert.are.equal("EINVAL", code)
  end)

  it("runs password_command when a user has no password", function()
    local env = fake_env({ XDG_CONFIG_HOME = dir })
    local s = assert(config.resolve("smtp", { user = "u",
      password_command = "printf 's3cret\\nsecond line'" }, env))
    assert.are.equal("s3cret", s.password)
    assert.is_nil(s.password_command)
    s = assert(config.resolve("smtp", { user = "u", password = "given",
      password_command = "exit 1" }, env))
    assert.are.equal("given", s.password)
  end)

  it("reports a failing password_command as EAUTH without its output", function()
    local env = fake_env({ XDG_CONFIG_HOME = dir })
    local s, msg, code = config.resolve("smtp", { user = "u",
      password_command = "echo leaked-secret; exit 3" }, env)
    assert.is_nil(s)
    assert.are.equal("EAUTH", code)
    assert.is_nil(msg:find("leaked%-secret"))
    s, msg, code = config.resolve("smtp", { user = "u", password_command = "true" }, env)
    assert.is_nil(s)
    assert.are.equal("EAUTH", code)
    assert.matches("no password", msg)
  end)
end)
