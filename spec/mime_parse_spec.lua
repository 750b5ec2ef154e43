-- mime.parse: the part tree and its accessors, chunk-split invariance of
-- parsing from a source, charsets, RFC 2231 names, limits and warnings.
local mime = require "lmail.mime"
local split = require "spec.support.split"

local function crlf(s)
  return (s:gsub("\r?\n", "\r\n"))
end

local SAMPLE = crlf [[
From: =?UTF-8?B?5byg5LiJ?= <zs@example.test>
To: "Doe, John" <john@example.test>, Team: a@example.test, b@example.test;
Cc: alice@example.test (Alice Smith)
Subject: =?GBK?B?0enWpMLr?= / verification
 code
Date: Fri, 21 Nov 1997 09:55:06 -0600
Received: one
Received: two
Content-Type: multipart/mixed; boundary="outer"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=gb2312
Content-Transfer-Encoding: base64

1tDOxNX9zsQ=
--inner
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<p>caf=E9</p>
--inner--
--outer
Content-Type: application/pdf; name="=?UTF-8?B?5oql5ZGKLnBkZg==?="
Content-Disposition: attachment;
 filename*0*=UTF-8''%E6%8A%A5;
 filename*1*=%E5%91%8A.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer
Content-Type: message/rfc822

Subject: inner message
Content-Type: text/plain

forwarded text
--outer--
The epilogue.
]]

describe("mime.parse", function()
  local m = assert(mime.parse(SAMPLE))

  it("builds the part tree", function()
    assert.are.equal("multipart/mixed", m.content_type)
    assert.are.equal("multipart", m.kind)
    assert.are.equal(3, #m.parts)
    assert.are.equal("multipart/alternative", m.parts[1].content_type)
    assert.are.equal("text/plain", m.parts[1].parts[1].content_type)
    assert.are.equal("application/pdf", m.parts[2].content_type)
    assert.are.equal("message/rfc822", m.parts[3].content_type)
    assert.are.equal("inner message", m.parts[3].message:header("Subject"))
    assert.is_nil(m.parts[1].parts[1].parts)
    assert.are.equal("This is the preamble.", m.preamble)
    assert.are.equal("The epilogue.\r\n", m.epilogue)
    assert.are.same({ boundary = "outer" }, m.params)
    assert.are.same({}, m.warnings)
  end)

  it("decodes headers and keeps their order", function()
    assert.are.equal("验证码 / verification code", m:header("subject"))
    assert.are.equal("=?GBK?B?0enWpMLr?= / verification code", m:header_raw("Subject"))
    assert.are.same({ "one", "two" }, m:header_all("Received"))
    local hs = m:headers()
    assert.are.same({ "From", "=?UTF-8?B?5byg5LiJ?= <zs@example.test>" }, hs[1])
    assert.are.equal("Content-Type", hs[#hs][1])
    assert.is_nil(m:header("X-Nothing"))
    assert.are.equal(880127706, m:date())
  end)

  it("parses address lists, groups flattened", function()
    assert.are.same({ { name = "张三", addr = "zs@example.test" } }, m:addresses("From"))
    assert.are.same({ { name = "Doe, John", addr = "john@example.test" },
      { name = "", addr = "a@example.test", group = "Team" },
      { name = "", addr = "b@example.test", group = "Team" } }, m:addresses("To"))
    assert.are.same({ { name = "Alice Smith", addr = "alice@example.test" } }, m:addresses("Cc"))
    assert.are.same({}, m:addresses("Bcc"))
    local bad = assert(mime.parse("To: a@evil.example@good.example\r\n\r\n"))
    local list, err, code = bad:addresses("To")
    assert.is_nil(list)
    assert.are.equal("EINVAL", code)
    assert.truthy(err:find("To:", 1, true))
  end)

  it("decodes bodies, converts text to UTF-8, finds attachments", function()
    assert.are.equal("中文正文", m:text())
    assert.are.equal("<p>café</p>", m:html())
    local atts = m:attachments()
    assert.are.equal(2, #atts)
    assert.are.equal("报告.pdf", atts[1].filename)
    assert.are.equal("application/pdf", atts[1].content_type)
    assert.are.equal("%PDF-1.4\n", atts[1]:content())
    assert.are.equal(9, atts[1].size)
    assert.are.equal("message/rfc822", atts[2].content_type)
    assert.truthy(atts[2]:content():find("^Subject: inner message\r\n"))
    local path = os.tmpname()
    assert.is_true(atts[1]:save(path))
    local f = assert(io.open(path, "rb"))
    assert.are.equal("%PDF-1.4\n", f:read("a"))
    f:close()
    os.remove(path)
    local ok, err, code = atts[1]:save("/nonexistent/dir/x")
    assert.is_nil(ok)
    assert.are.equal("EIO", code)
    assert.truthy(err)
    assert.is_nil(m:body())
  end)

  it("walks depth first, into enclosed messages", function()
    local types = {}
    for p in m:walk() do types[#types + 1] = p.depth .. ":" .. p.content_type end
    assert.are.same({ "0:multipart/mixed", "1:multipart/alternative", "2:text/plain",
      "2:text/html", "1:application/pdf", "1:message/rfc822", "2:text/plain" }, types)
  end)

  it("gives the same tree fed from a source in any chunks", function()
    local function tree(msg)
      local t = {}
      for p in msg:walk() do
        t[#t + 1] = { p.content_type, p.filename or "", p:body() or "", p:header("Subject") or "" }
      end
      return t
    end
    local want = tree(m)
    split.each(SAMPLE, function(chunks, label)
      local i = 0
      local got = assert(mime.parse(function()
        i = i + 1
        return chunks[i]
      end))
      assert.are.same(want, tree(got), label)
    end, { every_max = 2000, random = 30 })
  end)

  it("passes a source's failure on", function()
    local msg, err, code = mime.parse(function() return nil, "boom" end)
    assert.is_nil(msg)
    assert.are.equal("EIO", code)
    assert.truthy(err:find("boom", 1, true))
  end)

  it("raises on misuse", function()
    assert.has_error(function() mime.parse(42) end)
    assert.has_error(function() mime.parse("x", 1) end)
    assert.has_error(function() mime.parse("x", { max_depth = 0 }) end)
    assert.has_error(function() mime.parse("x", { max_parts = 1.5 }) end)
    assert.has_error(function() mime.parse(function() return 42 end) end)
  end)
end)

describe("mime.parse charsets", function()
  -- Each: charset label, bytes in that charset, the UTF-8 text.
  local CHARSETS = {
    { "utf-8", "caf\195\169", "café" }, { "us-ascii", "plain", "plain" },
    { "iso-8859-1", "caf\233", "café" }, { "iso-8859-2", "\179\243d\188", "łódź" },
    { "iso-8859-3", "\253", "ŭ" }, { "iso-8859-4", "\179", "ŗ" }, { "iso-8859-5", "\208", "а" },
    { "iso-8859-6", "\199", "ا" }, { "iso-8859-7", "\225", "α" }, { "iso-8859-8", "\224", "א" },
    { "iso-8859-9", "\253", "ı" }, { "iso-8859-10", "\177", "ą" }, { "iso-8859-11", "\161", "ก" },
    { "iso-8859-13", "\224", "ą" }, { "iso-8859-14", "\161", "Ḃ" }, { "iso-8859-15", "\164", "€" },
    { "windows-1250", "\138", "Š" }, { "windows-1251", "\192", "А" },
    { "windows-1252", "\128", "€" }, { "windows-1253", "\225", "α" },
    { "windows-1254", "\253", "ı" }, { "windows-1255", "\224", "א" },
    { "windows-1256", "\199", "ا" }, { "windows-1257", "\224", "ą" },
    { "windows-1258", "\195", "Ă" }, { "gb2312", "\214\208\206\196", "中文" },
    { "gbk", "\129\64", "丂" }, { "gb18030", "\129\48\129\48", "\194\128" },
    { "big5", "\164\164\164\229", "中文" }, { "shift_jis", "\147\250\150\123", "日本" },
    { "euc-jp", "\198\252\203\220", "日本" }, { "iso-2022-jp", "\27$BF|K\92\27(B", "日本" },
    { "euc-kr", "\199\209\177\185", "한국" }, { "koi8-r", "\193\194", "аб" },
  }
  for _, c in ipairs(CHARSETS) do
    it("reads " .. c[1] .. " text as UTF-8", function()
      local raw = "Content-Type: text/plain; charset=" .. c[1] .. "\r\n"
        .. "Subject: =?" .. c[1] .. "?B?" .. mime.b64encode(c[2], 0) .. "?=\r\n\r\n" .. c[2]
      local m = assert(mime.parse(raw))
      assert.are.equal(c[3], m:text())
      assert.are.equal(c[3], m:header("Subject"))
      assert.are.same({}, m.warnings)
    end)
  end

  it("warns about an unknown charset and reads the bytes as UTF-8", function()
    local m = assert(mime.parse(
      "Content-Type: text/plain; charset=x-klingon\r\n\r\ncaf\195\169 \255"))
    assert.are.equal("café \239\191\189", m:text())
    assert.are.equal(2, #m.warnings)
    assert.truthy(m.warnings[1]:find("unknown charset 'x-klingon'", 1, true))
  end)
end)

describe("mime.parse limits and warnings", function()
  it("applies max_depth, max_parts, max_header_bytes, max_line_length", function()
    local nested = "Content-Type: message/rfc822\r\n\r\n"
    local raw = nested:rep(5) .. "\r\nx"
    assert.truthy(mime.parse(raw))
    local m, err, code = mime.parse(raw, { max_depth = 3 })
    assert.is_nil(m)
    local _
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_depth", 1, true))
    local parts = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      .. ("--b\r\n\r\nx\r\n"):rep(10)
    assert.truthy(mime.parse(parts))
    _, err, code = mime.parse(parts, { max_parts = 5 })
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_parts", 1, true))
    _, err, code = mime.parse("Subject: " .. ("x"):rep(100) .. "\r\n\r\n",
      { max_line_length = 50 })
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_line", 1, true))
    _, err, code = mime.parse(("X: y\r\n"):rep(100) .. "\r\n", { max_header_bytes = 300 })
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_header_bytes", 1, true))
  end)

  it("recovers from malformed structure with warnings", function()
    local m = assert(mime.parse(crlf [[
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

unterminated part]]))
    assert.are.equal("unterminated part", m.parts[1]:body())
    assert.are.equal(1, #m.warnings)
    assert.truthy(m.warnings[1]:find("close delimiter", 1, true))
    m = assert(mime.parse("Content-Type: multipart/mixed\r\n\r\nno boundary"))
    assert.are.equal("leaf", m.kind)
    assert.are.equal("no boundary", m:body())
    assert.truthy(m.warnings[1]:find("boundary", 1, true))
    m = assert(mime.parse("Subject: x\r\nnot a header\r\nY: z\r\n\r\n"))
    assert.are.equal("not a header\r\nY: z\r\n\r\n", m:body())
    assert.truthy(m.warnings[1]:find("not a header field", 1, true))
  end)
end)
