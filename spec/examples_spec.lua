-- The scripts of examples/ run as a user runs them (settings in LMAIL_*
-- variables) against the real servers of spec/support/mailstack.sh: each
-- must exit 0 and print what it promises.
local examples = require "tools.examples"
local mailstack = require "spec.support.mailstack"

local env = mailstack.up()

describe("examples/", function()
  it("verification_code.lua: the code arrives, is checked once, and expires", function()
    local ok, code, out = examples.run("verification_code", nil, env)
    assert(ok, ("exit %s:\n%s"):format(code, out))
    assert.matches("wrong code:%s+false%s+wrong code\n", out)
    assert.matches("right code:%s+true\n", out)
    assert.matches("used again:%s+false%s+no code pending\n", out)
    assert.matches("after 11 min:%s+false%s+expired\n", out)
  end)

  it("bulk_send.lua: one connection, per-recipient results", function()
    local ok, code, out = examples.run("bulk_send", nil, env)
    assert(ok, ("exit %s:\n%s"):format(code, out))
    assert.matches(env.BOB_ADDR:gsub("%p", "%%%0") .. "%s+sent%s+250", out)
    assert.matches("nobody@example%.test%s+refused%s+550", out)
    assert.matches("2 sent, 1 refused, 0 failed\n", out)
  end)

  it("fetch_attachments.lua: fetches, saves attachments under safe names, fetches 0 again",
    function()
      examples.prepare_attachment(env)
      local dir = os.tmpname()
      os.remove(dir)
      finally(function() os.execute("rm -rf '" .. dir .. "'") end)
      local args = { dir .. "/Maildir", dir .. "/attachments" }
      local ok, code, out = examples.run("fetch_attachments", args, env)
      assert(ok, ("exit %s:\n%s"):format(code, out))
      assert.matches("/attachments/report 2026%.csv  <%- ", out)
      local f = assert(io.open(dir .. "/attachments/report 2026.csv", "rb"))
      assert.are.equal("a,b\n1,2\n", (f:read("*a")))   -- byte for byte as attached
      f:close()
      ok, code, out = examples.run("fetch_attachments", args, env)
      assert(ok, ("exit %s:\n%s"):format(code, out))
      assert.matches("\n0 new, %d+ already here\n", out)
      assert.matches("0 attachment%(s%) saved\n", out)
    end)

  it("coroutines.lua: two sessions interleaved in one thread", function()
    local ok, code, out = examples.run("coroutines", nil, env)
    assert(ok, ("exit %s:\n%s"):format(code, out))
    assert.matches("%[1%] %d+ messages", out)
    assert.matches("%[2%] %d+ messages", out)
    -- Each session yielded while waiting for the network, and the other ran.
    local switches = tonumber(out:match("both sessions done in one thread %((%d+) switches%)"))
    assert.is_true(switches and switches > 4, out)
  end)
end)
