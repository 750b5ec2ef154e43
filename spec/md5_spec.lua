-- lmail.md5 through the public Lua API: RFC 1321 A.5, RFC 2202, RFC 2195,
-- chunk-split invariance, 1,000 random inputs against OpenSSL's MD5 (one
-- python3 hashlib subprocess; hashlib uses OpenSSL), and misuse.
local md5 = require "lmail.md5"
local split = require "spec.support.split"

local function tohex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function fromhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- Runs fn and returns its error message without the "chunk:line: " that
-- luaL_error puts in front (the position of the caller, as for any Lua
-- error); fails the spec if fn did not raise.
local function raises(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  return (tostring(err):gsub("^[^\n]-:%d+: ", "", 1))
end

-- The hex digest of chunks fed one by one through md5.new():update(),
-- checking that update returns the context (chainable).
local function digest_of(chunks)
  local h = md5.new()
  local chained = true
  for _, c in ipairs(chunks) do
    chained = chained and rawequal(h:update(c), h)
  end
  assert.is_true(chained, "update did not return its context")
  return h:hexdigest()
end

describe("lmail.md5", function()
  -- RFC 1321 appendix A.5.
  local rfc1321 = {
    { "", "d41d8cd98f00b204e9800998ecf8427e" },
    { "a", "0cc175b9c0f1b6a831c399e269772661" },
    { "abc", "900150983cd24fb0d6963f7d28e17f72" },
    { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
    { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
    { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f" },
    { string.rep("1234567890", 8), "57edf4a22be3c955ac49da2e2107b67a" },
  }

  it("passes the RFC 1321 A.5 test suite (sum, hex, new)", function()
    for _, v in ipairs(rfc1321) do
      local s, want = v[1], v[2]
      assert.are.equal(want, md5.hex(s))
      assert.are.equal(fromhex(want), md5.sum(s))
      assert.are.equal(16, #md5.sum(s))
      assert.are.equal(fromhex(want), md5.new():update(s):digest())
      assert.are.equal(want, md5.new():update(s):hexdigest())
    end
  end)

  it("gives the same digest for every split of the RFC 1321 inputs", function()
    for _, v in ipairs(rfc1321) do
      split.each(v[1], function(chunks, label)
        assert.are.equal(v[2], digest_of(chunks), label)
      end)
    end
  end)

  -- RFC 2202 section 2, HMAC-MD5 test cases 1-7.
  local rfc2202 = {
    { string.rep("\11", 16), "Hi There", "9294727a3638bb1c13f48ef8158bfc9d" },
    { "Jefe", "what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738" },
    { string.rep("\170", 16), string.rep("\221", 50), "56be34521d144c88dbb8c733f0e8b3f6" },
    { fromhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), string.rep("\205", 50),
      "697eaf0aca3a3aea3a75164746ffaa79" },
    { string.rep("\12", 16), "Test With Truncation", "56461ef2342edc00f9bab995690efd4c" },
    { string.rep("\170", 80), "Test Using Larger Than Block-Size Key - Hash Key First",
      "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd" },
    { string.rep("\170", 80),
      "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
      "6f630fad67cda0ee1fb1f562db3aa53e" },
  }

  it("passes RFC 2202 test cases 1-7 (hmac, hmac_hex)", function()
    for i, v in ipairs(rfc2202) do
      assert.are.equal(v[3], md5.hmac_hex(v[1], v[2]), "case " .. i)
      assert.are.equal(fromhex(v[3]), md5.hmac(v[1], v[2]), "case " .. i)
    end
    -- case 5 also lists the 96-bit truncation
    local case5 = md5.hmac_hex(rfc2202[5][1], rfc2202[5][2])
    assert.are.equal("56461ef2342edc00f9bab995", case5:sub(1, 24))
  end)

  it("computes the RFC 2195 CRAM-MD5 example", function()
    local challenge = "<1896.697170952@postoffice.reston.mci.net>"
    local digest = md5.hmac_hex("tanstaaftanstaaf", challenge)
    assert.are.equal("b913a602c7eda7a495b4e6e7334d3890", digest)
    assert.are.equal("tim b913a602c7eda7a495b4e6e7334d3890",
      "tim " .. tohex(md5.hmac("tanstaaftanstaaf", challenge)))
  end)

  it("hashes every split point across the 55/56 and 63/64 padding boundaries", function()
    local pool = split.random_bytes(200, 7)
    for n = 0, 200 do
      local s = pool:sub(1, n)
      local want = md5.hex(s)
      split.each(s, function(chunks, label)
        assert.are.equal(want, digest_of(chunks), n .. " bytes, " .. label)
      end, { random = 3 })
    end
  end)

  it("matches OpenSSL's MD5 on 1,000 random inputs fed in random chunks", function()
    local small = os.getenv("LMAIL_VALGRIND") ~= nil
    local maxlen = small and 10000 or 100000
    if small then
      print("md5_spec: LMAIL_VALGRIND set: random inputs shrunk to 0.." .. maxlen .. " bytes")
    end
    local pool = split.random_bytes(2 * maxlen + 256, 42)
    local rand = split.rng(4242)
    local cases, lines = {}, {}
    for i = 1, 1000 do
      local n = rand(maxlen + 1) - 1
      local off = rand(#pool - n + 1) - 1
      local klen = rand(201) - 1
      local koff = rand(#pool - klen + 1) - 1
      cases[i] = { off = off, n = n, koff = koff, klen = klen }
      lines[i] = string.format("%d %d %d %d", off, n, koff, klen)
    end
    local poolfile, listfile = os.tmpname(), os.tmpname()
    local f = assert(io.open(poolfile, "wb"))
    f:write(pool)
    f:close()
    f = assert(io.open(listfile, "wb"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    -- The oracle: one python3 process, hashlib.md5 and hmac (OpenSSL-backed).
    local script = [[
import hashlib, hmac, sys
pool = open(sys.argv[1], "rb").read()
for line in open(sys.argv[2]):
    off, n, koff, klen = map(int, line.split())
    data, key = pool[off:off + n], pool[koff:koff + klen]
    print(hashlib.md5(data).hexdigest(), hmac.new(key, data, "md5").hexdigest())
]]
    -- without the sanitizer preload of check-asan: the oracle is not under test
    local cmd = string.format("env -u LD_PRELOAD python3 -c '%s' '%s' '%s'",
      script, poolfile, listfile)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local ok, how, code = p:close()
    os.remove(poolfile)
    os.remove(listfile)
    assert(ok, "oracle python3 failed: " .. tostring(how) .. " " .. tostring(code))
    local want = {}
    for md, mac in out:gmatch("(%x+) (%x+)\n") do want[#want + 1] = { md, mac } end
    assert.are.equal(1000, #want, "oracle answered " .. #want .. " of 1000")

    local chunk_max = { 1, 7, 63, 64, 65, 97, 1000, 65536 }
    for i, c in ipairs(cases) do
      local s = pool:sub(c.off + 1, c.off + c.n)
      local key = pool:sub(c.koff + 1, c.koff + c.klen)
      -- at most ~1,000 chunks per input keeps the spec quick
      local max = math.max(chunk_max[(i - 1) % #chunk_max + 1], c.n // 1000)
      local chunks = split.random_chunks(s, rand, max)
      assert.are.equal(want[i][1], digest_of(chunks), "input " .. i .. " (" .. c.n .. " bytes)")
      assert.are.equal(want[i][1], md5.hex(s), "input " .. i)
      assert.are.equal(want[i][2], md5.hmac_hex(key, s), "input " .. i .. " hmac")
    end
  end)

  describe("misuse", function()
    it("raises on non-string arguments, naming the function", function()
      for _, bad in ipairs({ 1, true, {}, print }) do
        assert.truthy(raises(function() md5.sum(bad) end):find("^md5%.sum: "))
        assert.truthy(raises(function() md5.hex(bad) end):find("^md5%.hex: "))
        assert.truthy(raises(function() md5.hmac(bad, "s") end):find("^md5%.hmac: "))
        assert.truthy(raises(function() md5.hmac("k", bad) end):find("^md5%.hmac: "))
        assert.truthy(raises(function() md5.hmac_hex(bad, "s") end):find("^md5%.hmac_hex: "))
        assert.truthy(raises(function() md5.new():update(bad) end):find("^md5:update: "))
      end
      assert.truthy(raises(function() md5.sum() end):find("^md5%.sum: .*got no value"))
      assert.truthy(raises(function() md5.hmac("k") end):find("^md5%.hmac: bad argument #2"))
      assert.truthy(raises(function() md5.new():update() end):find("^md5:update: bad argument #1"))
    end)

    it("raises on update or digest after the digest was taken", function()
      local h = md5.new():update("abc")
      assert.are.equal("900150983cd24fb0d6963f7d28e17f72", h:hexdigest())
      assert.truthy(raises(function() h:update("x") end):find("^md5:update: .*finished"))
      assert.truthy(raises(function() h:digest() end):find("^md5:digest: .*finished"))
      assert.truthy(raises(function() h:hexdigest() end):find("^md5:hexdigest: .*finished"))
      local g = md5.new()
      assert.are.equal(fromhex("d41d8cd98f00b204e9800998ecf8427e"), g:digest())
      assert.truthy(raises(function() g:hexdigest() end):find("^md5:hexdigest: "))
      assert.truthy(raises(function() g:update("") end):find("^md5:update: "))
    end)

    it("raises on a wrong self", function()
      local h = md5.new()
      for _, bad in ipairs({ "abc", 1, {}, io.stdout }) do
        assert.truthy(raises(function() h.update(bad, "x") end):find("^md5:update: bad self"))
        assert.truthy(raises(function() h.digest(bad) end):find("^md5:digest: bad self"))
        assert.truthy(raises(function() h.hexdigest(bad) end):find("^md5:hexdigest: bad self"))
      end
      assert.truthy(raises(function() h.update() end):find("^md5:update: bad self"))
      -- the failed calls left h usable
      assert.are.equal("900150983cd24fb0d6963f7d28e17f72", h:update("abc"):hexdigest())
    end)

    it("names the context type and prints harmlessly", function()
      local h = md5.new()
      assert.are.equal("lmail.md5.context", getmetatable(h).__name)
      assert.truthy(tostring(h):find("^lmail%.md5%.context %(open%)"))
      h:digest()
      assert.truthy(tostring(h):find("^lmail%.md5%.context %(finished%)"))
    end)
  end)

  it("exposes exactly the documented functions", function()
    local names = {}
    for k, v in pairs(md5) do
      assert.are.equal("function", type(v))
      names[#names + 1] = k
    end
    table.sort(names)
    assert.are.same({ "hex", "hmac", "hmac_hex", "new", "sum" }, names)
  end)
end)
