-- The whole-string codecs build results of 64 KiB or more in one scratch
-- buffer per Lua state (csrc/lua/lmail_pieces.h) and copy them into the
-- result string. Every result must be its own string, right whatever ran
-- before it (a larger result, a smaller one, another codec), and stay so
-- after later calls. References come from the same codecs fed in 4 KiB
-- chunks through their LTN12 filters, a path that never uses the scratch.
local core = require "lmail.core"
local mime = require "lmail.mime"
local stream = require "lmail.stream"
local split = require "spec.support.split"

local small = os.getenv("LMAIL_VALGRIND") ~= nil -- shrink, never skip

local function chunked(filter, s)
  local chunks = {}
  for i = 1, #s, 4096 do chunks[#chunks + 1] = s:sub(i, i + 4095) end
  return split.through(filter, chunks)
end

-- Mail-like text: words, LF and CRLF lines, dots at line starts, 8-bit bytes.
local function text(n, seed)
  local rand = split.rng(seed)
  local pieces = { "word ", "mot ", "\n", "\r\n", "\n.", "caf\195\169 ", "x", " \r\n", "=" }
  local t, len = {}, 0
  while len < n do
    local p = pieces[rand(#pieces)]
    t[#t + 1] = p
    len = len + #p
  end
  return table.concat(t)
end

-- Each job: name, whole-string call, reference.
local function jobs_for(data, txt)
  local b64, qpb, qpt = mime.b64encode(data), mime.qpencode(data, { binary = true }),
    mime.qpencode(txt)
  return {
    { "b64encode", function() return mime.b64encode(data) end,
      function() return chunked(mime.encoder("base64"), data) end },
    { "b64encode one line", function() return mime.b64encode(data, 0) end,
      function() return chunked(mime.encoder("base64", { linelen = 0 }), data) end },
    { "b64decode", function() return mime.b64decode(b64) end, function() return data end },
    { "qpencode binary", function() return mime.qpencode(data, { binary = true }) end,
      function() return chunked(mime.encoder("quoted-printable", { binary = true }), data) end },
    { "qpencode text", function() return mime.qpencode(txt) end,
      function() return chunked(mime.encoder("quoted-printable"), txt) end },
    { "qpdecode", function() return mime.qpdecode(qpb) end, function() return data end },
    { "qpdecode text", function() return mime.qpdecode(qpt) end,
      function() return chunked(mime.decoder("quoted-printable"), qpt) end },
    { "eol.normalize", function() return core.eol.normalize(txt) end,
      function() return chunked(stream.crlf(), txt) end },
    { "dot.stuff", function() return core.dot.stuff(txt) end,
      function() return chunked(stream.dot_stuff(), txt) end },
  }
end

describe("codec results built in the shared scratch buffer", function()
  it("are right in any order of sizes and codecs, and stay right", function()
    local sizes = small and { 70000, 200000, 65536, 100 }
      or { 70000, 1000000, 65535, 65536, 3000000, 200000, 100, 2000000 }
    local kept = {}
    for i, n in ipairs(sizes) do
      local data, txt = split.random_bytes(n, 40 + i), text(n, 60 + i)
      for _, job in ipairs(jobs_for(data, txt)) do
        local got, want = job[2](), job[3]()
        assert.are.equal(want, got, job[1] .. " of " .. n)
        kept[#kept + 1] = { job[1] .. " of " .. n, got, want }
      end
    end
    -- later calls reused the buffer: the earlier results are unchanged
    for _, k in ipairs(kept) do assert.are.equal(k[3], k[2], k[1] .. " afterwards") end
  end)

  it("are right from the streaming objects' large steps too", function()
    local data = split.random_bytes(small and 100000 or 1500000, 7)
    local e = core.b64.encoder()
    local whole = e:step(data) .. e:finish()
    assert.are.equal(mime.b64encode(data), whole)
    local q = core.qp.encoder({ binary = true })
    local enc = q:step(data) .. q:finish()
    assert.are.equal(data, mime.qpdecode(enc))
    local d = core.qp.decoder()
    assert.are.equal(data, d:step(enc) .. d:finish())
  end)

  it("are right above the size the buffer is kept at (64 MiB)", function()
    -- 48 MiB encodes to 65 MiB of base64 lines: that buffer is freed after
    -- the call, and the next calls start afresh
    local block = split.random_bytes(1048576, 3)
    local data = block:rep(48)
    local enc = mime.b64encode(data)
    local chars = (#data + 2) // 3 * 4
    assert.are.equal(chars + 2 * ((chars + 75) // 76), #enc)
    assert.are.equal(mime.b64encode(block:sub(1, 57000)), enc:sub(1, 78000))
    assert.are.equal(data, mime.b64decode(enc))
    local again = split.random_bytes(100000, 4)
    assert.are.equal(again, mime.b64decode(mime.b64encode(again)))
  end)
end)
