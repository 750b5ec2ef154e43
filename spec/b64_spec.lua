-- base64 through the public API: mime.b64encode/b64decode and the LTN12
-- filters mime.encoder("base64") / mime.decoder("base64").
local mime = require "lmail.mime"
local split = require "spec.support.split"

local small = os.getenv("LMAIL_VALGRIND") ~= nil -- shrink, never skip

local RFC4648 = { -- RFC 4648 section 10
  { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
  { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
}

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(h)
  return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

local function encode_chunks(chunks, opts)
  return split.through(mime.encoder("base64", opts), chunks)
end

local function decode_chunks(chunks, opts)
  return split.through(mime.decoder("base64", opts), chunks)
end

describe("lmail.mime base64", function()
  it("encodes and decodes the RFC 4648 section 10 vectors", function()
    for _, v in ipairs(RFC4648) do
      local plain, b64 = v[1], v[2]
      assert.are.equal(b64, mime.b64encode(plain, 0))
      assert.are.equal(plain == "" and "" or b64 .. "\r\n", mime.b64encode(plain))
      assert.are.equal(plain, mime.b64decode(b64))
      assert.are.equal(plain, mime.b64decode(b64, true))
      assert.are.equal(b64, encode_chunks({ plain }, { linelen = 0 }))
    end
  end)

  it("wraps at 76 columns with CRLF after every line, the last one too", function()
    local data = split.random_bytes(57 * 2 + 1, 3)
    local out = mime.b64encode(data)
    local lines = {}
    for line in out:gmatch("([^\r\n]*)\r\n") do lines[#lines + 1] = line end
    assert.are.same({ 76, 76, 4 }, { #lines[1], #lines[2], #lines[3] })
    assert.are.equal(76 * 2 + 4 + 6, #out)
    assert.are.equal(78, #mime.b64encode(data:sub(1, 57)))
    assert.are.equal(table.concat(lines), mime.b64encode(data, 0))
    local eight = mime.b64encode(data, 8)
    assert.truthy(eight:match("^[%w+/]+\r\n"))
    assert.are.equal(10, #eight:match("^[^\n]*\n"))
  end)

  it("encoder and decoder filters are chunk-split invariant", function()
    local lengths = { 0, 1, 2, 3, 4, 5, 56, 57, 58, 113, 114, 200 }
    for _, n in ipairs(lengths) do
      local data = split.random_bytes(n, n + 7)
      local want = mime.b64encode(data)
      split.each(data, function(chunks, label)
        assert.are.equal(want, encode_chunks(chunks), label)
      end, { every_max = 300, random = 5 })
      split.each(want, function(chunks, label)
        assert.are.equal(data, decode_chunks(chunks), label)
      end, { every_max = 300, random = 5 })
      local one = mime.b64encode(data, 0)
      split.each(one, function(chunks, label)
        assert.are.equal(data, decode_chunks(chunks, { strict = true }), label)
      end, { every_max = 300, random = 5 })
    end
  end)

  it("round-trips large inputs split at random", function()
    local n = small and 60000 or 1000003
    local data = split.random_bytes(n, 11)
    local enc = mime.b64encode(data)
    assert.are.equal(data, mime.b64decode(enc))
    local rand = split.rng(5)
    for _ = 1, 3 do
      assert.are.equal(enc, encode_chunks(split.random_chunks(data, rand, 5000)))
      assert.are.equal(data, decode_chunks(split.random_chunks(enc, rand, 5000)))
    end
    assert.are.equal(enc, encode_chunks(split.random_chunks(data, rand, 7)))
  end)

  it("agrees with Python's base64/binascii (one python3 process)", function()
    local cases, want = {}, {}
    local function add(op, input, expect)
      cases[#cases + 1] = op .. " " .. hex(input)
      want[#want + 1] = expect
    end
    local rand = split.rng(77)
    local noise = { " ", "\t", "\r", "\n", "\r\n", "!", "*", "-", "_", ".", "\128", "\255" }
    local lengths = {}
    for n = 0, 200 do lengths[#lengths + 1] = n end
    for _, n in ipairs({ 1000, 4095, 65536, small and 5000 or 300001 }) do
      lengths[#lengths + 1] = n
    end
    for i, n in ipairs(lengths) do
      local data = split.random_bytes(n, 1000 + i)
      add("E", data, { ok = mime.b64encode(data) })
      add("E0", data, { ok = mime.b64encode(data, 0) })
      -- lenient: valid text with noise inserted; Python discards it too
      local enc, noisy = mime.b64encode(data), {}
      for j = 1, #enc do
        if rand(5) == 1 then noisy[#noisy + 1] = noise[rand(#noise)] end
        noisy[#noisy + 1] = enc:sub(j, j)
      end
      noisy = table.concat(noisy)
      add("D", noisy, { ok = mime.b64decode(noisy) })
      -- strict: canonical text passes, one bad character fails in both
      local one = mime.b64encode(data, 0)
      add("S", one, { ok = mime.b64decode(one, true) })
      if #one > 0 then
        local at = rand(#one)
        local bad = one:sub(1, at - 1) .. noise[rand(#noise)] .. one:sub(at + 1)
        local got = mime.b64decode(bad, true)
        add("S", bad, { ok = got })
      end
    end

    local dir = os.tmpname()
    local script, input = dir .. ".py", dir .. ".cases"
    local f = assert(io.open(script, "w"))
    f:write([[
import sys, base64, binascii
out = []
with open(sys.argv[1]) as f:
    for line in f:
        op, _, hx = line.rstrip("\n").partition(" ")
        data = bytes.fromhex(hx)
        try:
            if op == "E":
                r = base64.encodebytes(data).replace(b"\n", b"\r\n")
            elif op == "E0":
                r = base64.b64encode(data)
            elif op == "D":
                r = binascii.a2b_base64(data)
            elif op == "S":
                r = binascii.a2b_base64(data, strict_mode=True)
            else:
                raise SystemExit("unknown op " + op)
            out.append("OK " + r.hex())
        except binascii.Error:
            out.append("ERR")
sys.stdout.write("\n".join(out) + "\n")
]])
    f:close()
    f = assert(io.open(input, "w"))
    f:write(table.concat(cases, "\n"), "\n")
    f:close()
    -- an ASan run preloads libasan into this process; python3 must not inherit it
    local p = assert(io.popen("LD_PRELOAD= python3 " .. script .. " " .. input .. " 2>&1"))
    local output = p:read("a")
    local ok, how, code = p:close()
    os.remove(script)
    os.remove(input)
    os.remove(dir)
    assert(ok, "python3 failed (" .. tostring(how) .. " " .. tostring(code) .. "): "
      .. output:sub(1, 300))
    local i = 0
    for line in output:gmatch("[^\n]+") do
      i = i + 1
      local expect = want[i]
      local py = line:match("^OK (%x*)$")
      if expect.ok == nil then
        assert.are.equal("ERR", line, "case " .. i .. " " .. cases[i]:sub(1, 40))
      else
        assert(py, "python failed on case " .. i .. ": " .. line:sub(1, 80))
        assert.are.equal(unhex(py), expect.ok, "case " .. i .. " " .. cases[i]:sub(1, 40))
      end
    end
    assert.are.equal(#cases, i)
  end)

  it("strict decoding names the offset of the first bad character", function()
    local cases = {
      { "Zm9v!", 4 }, { "Zm9v\r\nYmFy", 4 }, { "=", 0 }, { "Z===", 1 },
      { "Zg==Zm9v", 4 }, { "Zm9vYg===", 8 }, { "Zg=a", 3 }, { "Zh==", 1 },
      { "Zm8=\n", 4 },
    }
    for _, c in ipairs(cases) do
      local s, msg, code = mime.b64decode(c[1], true)
      assert.is_nil(s)
      assert.are.equal("base64: invalid character at offset " .. c[2], msg)
      assert.are.equal("EINVAL", code)
      -- same offset, counted over the whole stream, at every split point
      split.each(c[1], function(chunks, label)
        local out, smsg, scode = decode_chunks(chunks, { strict = true })
        assert.is_nil(out, label)
        assert.are.equal(msg, smsg, label)
        assert.are.equal("EINVAL", scode, label)
      end, { random = 3 })
    end
    local long = mime.b64encode(split.random_bytes(3000, 9), 0)
    local bad = long:sub(1, 2500) .. "\n" .. long:sub(2502)
    assert.are.same({ nil, "base64: invalid character at offset 2500", "EINVAL" },
      { mime.b64decode(bad, true) })
    assert.are.same({ nil, "base64: incomplete final quantum at offset 5", "EINVAL" },
      { mime.b64decode("Zm9vY", true) })
    assert.are.same({ nil, "base64: incomplete final quantum at offset 7", "EINVAL" },
      { mime.b64decode("Zm9vYg=", true) })
  end)

  it("lenient decoding skips what RFC 2045 6.8 says to ignore", function()
    assert.are.equal("foobar", mime.b64decode("Zm9v\r\nYmFy\r\n"))
    assert.are.equal("foobar", mime.b64decode(" Zm 9v\tYm!Fy "))
    assert.are.equal("f", mime.b64decode("Zg==Zm9v"))   -- '=' ends the data
    assert.are.equal("fo", mime.b64decode("Zm8"))       -- missing padding accepted
    assert.are.equal("", mime.b64decode("\r\n"))
    assert.are.same({ nil, "base64: incomplete final quantum at offset 3", "EINVAL" },
      { mime.b64decode("Z\r\n") })
  end)

  it("filters report decode errors as nil, msg, code and stay failed", function()
    local f = mime.decoder("base64", { strict = true })
    assert.are.equal("foo", f("Zm9v"))
    assert.are.same({ nil, "base64: invalid character at offset 6", "EINVAL" }, { f("Ym*y") })
    assert.are.same({ nil, "base64: invalid character at offset 6", "EINVAL" }, { f("YmFy") })
    assert.are.same({ nil, "base64: invalid character at offset 6", "EINVAL" }, { f(nil) })
    assert.is_nil(f(nil))
    local g = mime.decoder("base64")
    assert.are.same({ nil, "base64: incomplete final quantum at offset 5", "EINVAL" },
      { split.through(g, { "Zm9", "vY" }) })
  end)

  it("raises on misuse, naming the function", function()
    local function raises(pattern, fn, ...)
      local ok, err = pcall(fn, ...)
      assert.is_false(ok)
      assert.truthy(tostring(err):find(pattern, 1, true), tostring(err))
    end
    raises("b64encode", mime.b64encode, nil)
    raises("b64encode", mime.b64encode, {})
    raises("b64encode", mime.b64encode, "x", 5)
    raises("b64encode", mime.b64encode, "x", -4)
    raises("b64encode", mime.b64encode, "x", "wide")
    raises("b64encode", mime.b64encode, "x", 7.5)
    raises("b64decode", mime.b64decode, nil)
    raises("b64decode", mime.b64decode, "Zg==", 1)
    raises("b64decode", mime.b64decode, "Zg==", "yes")
    raises("linelen", mime.encoder, "base64", { linelen = 6 })
    raises("boolean expected", mime.decoder, "base64", { strict = "yes" })
    local core = require "lmail.core"
    local e, d = core.b64.encoder(), core.b64.decoder()
    raises("string expected", e.step, e, {})
    raises("lmail.b64.encoder expected", e.step, d, "x")
    raises("lmail.b64.decoder expected", d.finish, e)
    assert.are.equal("lmail.b64.encoder", getmetatable(e).__name)
    assert.are.equal("lmail.b64.decoder", getmetatable(d).__name)
  end)

  it("codec objects can be reused after finish", function()
    local core = require "lmail.core"
    local e = core.b64.encoder(0)
    assert.are.equal("Zm8=", e:step("fo") .. e:finish())
    assert.are.equal("Zg==", e:step("f") .. e:finish())
    local d = core.b64.decoder(true)
    assert.is_nil(d:step("Z!"))
    assert.is_nil(d:finish())
    assert.are.equal("f", d:step("Zg==") .. d:finish())
  end)
end)
