-- mime.encode_words / mime.decode_words (RFC 2047): the examples of RFC
-- 2047 section 8, charsets, limits of the encoder, round trips, and
-- Python's email.header as an independent decoder of what lmail encodes.
local mime = require "lmail.mime"
local python = require "spec.support.python"

describe("mime.decode_words", function()
  it("decodes the RFC 2047 section 8 examples", function()
    local cases = {
      { "(=?ISO-8859-1?Q?a?=)", "(a)" },
      { "(=?ISO-8859-1?Q?a?= b)", "(a b)" },
      { "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)" },
      { "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)" },
      { "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)" },
      { "(=?ISO-8859-1?Q?a_b?=)", "(a b)" },
      { "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)" },
      { "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen" },
      { "=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard" },
    }
    for _, c in ipairs(cases) do assert.are.equal(c[2], mime.decode_words(c[1])) end
  end)

  it("keeps invalid words verbatim and joins split characters", function()
    assert.are.equal("=?utf-8?b?Y?= x", mime.decode_words("=?utf-8?b?Y?= x"))
    assert.are.equal("张", mime.decode_words("=?UTF-8?Q?=E5=BC?= =?UTF-8?Q?=A0?="))
    assert.are.equal("plain", mime.decode_words("plain"))
    assert.has_error(function() mime.decode_words(nil) end)
  end)
end)

describe("mime.encode_words", function()
  local texts = { "plain ascii", "验证码 / verification code", "Grüße aus Köln",
    string.rep("😀", 40), "=?looks?q?like_a_word?=", "tab\tinside" }

  it("round-trips through decode_words; words of at most 75 characters", function()
    for _, t in ipairs(texts) do
      local e = assert(mime.encode_words(t))
      assert.is_nil(e:find("[\128-\255\r\n]"))
      for w in e:gmatch("=%?[^?]+%?[BQ]%?[^?]*%?=") do assert.is_true(#w <= 75, w) end
      assert.are.equal(t, mime.decode_words(e))
    end
    assert.are.equal("plain ascii", mime.encode_words("plain ascii"))
  end)

  it("encodes in other charsets, each word whole", function()
    local e = assert(mime.encode_words("验证码", "GBK"))
    assert.are.equal("=?GBK?B?0enWpMLr?=", e)
    local j = assert(mime.encode_words(string.rep("日本語", 20), "ISO-2022-JP"))
    assert.are.equal(string.rep("日本語", 20), mime.decode_words(j))
    local none, _, code = mime.encode_words("日本", "iso-8859-1")
    assert.is_nil(none)
    assert.are.equal("EINVAL", code)
  end)

  it("raises on CR, LF or NUL and on wrong types", function()
    assert.has_error(function() mime.encode_words("a\r\nb") end)
    assert.has_error(function() mime.encode_words("a\0b") end)
    assert.has_error(function() mime.encode_words(1) end)
    assert.has_error(function() mime.encode_words("a", 1) end)
  end)

  it("is read back by Python's email.header", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    for _, t in ipairs(texts) do f:write(assert(mime.encode_words(t)), "\n") end
    f:close()
    local out = python.run("-c " .. python.quote(
      "import sys\nfrom email.header import decode_header, make_header\n"
      .. "for l in open(sys.argv[1], encoding='ascii'):\n"
      .. "    t = str(make_header(decode_header(l.rstrip('\\n'))))\n"
      .. "    sys.stdout.buffer.write(t.encode() + b'\\n')")
      .. " " .. python.quote(path))
    os.remove(path)
    local i = 0
    for line in out:gmatch("([^\n]*)\n") do
      i = i + 1
      assert.are.equal(texts[i], line)
    end
    assert.are.equal(#texts, i)
  end)
end)
