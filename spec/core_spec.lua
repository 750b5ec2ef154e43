-- The suite itself: right Lua, right module, the status table.
describe("lmail.core", function()
  it("runs under Lua 5.4 (not Debian's default lua5.1)", function()
    assert.are.equal("Lua 5.4", _VERSION)
  end)

  it("is loaded from this checkout's build, never an installed copy", function()
    local build = assert(os.getenv("LMAIL_BUILD"), "LMAIL_BUILD not set by make")
    local path = package.searchpath("lmail.core", package.cpath)
    assert.are.equal(build .. "/lmail/core.so", path)
    local lpath = package.searchpath("lmail.mime", package.path)
    assert.truthy(lpath:find(build:gsub("/[^/]+$", "") .. "/lua/lmail/mime.lua", 1, true))
  end)

  it("names every status code with a stable string", function()
    local core = require "lmail.core"
    assert.are.equal("OK", core.errname(0))
    assert.are.equal("EAGAIN", core.errname(-1))
    assert.are.equal("EPROTO", core.errname(-4))
    assert.are.equal("ECERT", core.errname(-13))
    assert.are.equal("EUNKNOWN", core.errname(-999))
    assert.are.equal("EUNKNOWN", core.errname(5))
  end)
end)
