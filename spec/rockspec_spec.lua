-- The rockspec builds and installs offline from this checkout with Debian's
-- luarocks, and the installed tree works on its own.
-- Runs a shell command without the sanitizer preload of `make check-asan`
-- (the build tools are not ours to leak-check) and without the flags of the
-- make that runs the specs, so the rock is built as a user would build it.
local function run(cmd)
  local quoted = "'" .. cmd:gsub("'", "'\\''") .. "'"
  local p = assert(io.popen("env -u LD_PRELOAD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
    .. "-u EXTRA_CFLAGS -u LDFLAGS -u CFLAGS sh -c " .. quoted .. " 2>&1"))
  local out = p:read("a")
  local ok, _, status = p:close()
  return ok and status == 0, out
end

describe("rockspec/lmail-scm-1.rockspec", function()
  it("installs with `luarocks make --tree DIR`; lmail.md5 and bin/lmail work from the tree",
    function()
      local tree = os.tmpname()
      os.remove(tree)
      finally(function() os.execute("rm -rf '" .. tree .. "'") end)
      local ok, out = run("luarocks --lua-version 5.4 make rockspec/lmail-scm-1.rockspec --tree '"
        .. tree .. "'")
      assert(ok, out)
      -- A clean environment: only the tree (and the system paths), run from /,
      -- so nothing of this checkout can be picked up.
      local script = [[local md5 = require "lmail.md5"
        local where = package.searchpath("lmail.core", package.cpath)
        io.write(md5.hex("abc"), " ", where)]]
      ok, out = run("cd / && eval \"$(luarocks --lua-version 5.4 --tree '" .. tree
        .. "' path)\" && lua5.4 -e '" .. script .. "'")
      assert(ok, out)
      assert.are.equal("900150983cd24fb0d6963f7d28e17f72 " .. tree .. "/lib/lua/5.4/lmail/core.so",
        out)
      -- The command is installed too, with a launcher that finds the tree.
      ok, out = run("cd / && '" .. tree .. "/bin/lmail' send --help")
      assert(ok, out)
      assert.matches("usage: lmail send", out)
    end)
end)
