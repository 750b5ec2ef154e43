-- mime.message: the header block (order, encoded words, folding, limits),
-- envelope recipients and Bcc, header injection, transfer encodings,
-- boundaries, the structure of bodies and attachments, and streaming in
-- bounded memory. Every built message is parsed back with lmail.
local mime = require "lmail.mime"
local md5 = require "lmail.md5"

local small = os.getenv("LMAIL_VALGRIND") ~= nil -- shrink, never skip

local function header_block(s)
  return s:sub(1, s:find("\r\n\r\n", 1, true) + 1)
end

local function lines(s)
  local t = {}
  for l in (s .. "\r\n"):gmatch("(.-)\r\n") do t[#t + 1] = l end
  return t
end

local function tmpfile(content)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

local function base(t)
  t = t or {}
  t.from = t.from or "Alice <alice@example.test>"
  return t
end

describe("mime.message header block", function()
  it("writes the standard fields in order, user headers after, repeats kept", function()
    local msg = assert(mime.message(base {
      to = "bob@example.test", cc = { "carol@example.test" }, reply_to = "r@example.test",
      sender = "s@example.test", subject = "hello", date = 1700000000,
      headers = { { "X-Mailer", "lmail" }, { "Received", "a" }, { "Received", "b" } },
      text = "hi",
    }))
    local names = {}
    for _, l in ipairs(lines(header_block(msg:to_string()))) do
      local n = l:match("^([^:%s]+):")
      if n then names[#names + 1] = n end
    end
    assert.are.same({ "From", "To", "Cc", "Reply-To", "Sender", "Subject", "Date", "Message-ID",
      "X-Mailer", "Received", "Received", "MIME-Version", "Content-Type",
      "Content-Transfer-Encoding" }, names)
    local m = assert(mime.parse(msg:to_string()))
    assert.are.same({ "a", "b" }, m:header_all("Received"))
    assert.are.equal("hello", m:header("Subject"))
    assert.are.equal(1700000000, m:date())
  end)

  it("uses RFC 5322 dates in the local zone, and Message-IDs on the From domain", function()
    local msg = assert(mime.message(base { text = "x" }))
    local date = msg:header("Date")
    assert.truthy(date:match("^%a%a%a, %d%d? %a%a%a %d%d%d%d %d%d:%d%d:%d%d [+-]%d%d%d%d$"), date)
    local m = assert(mime.parse(msg:to_string()))
    assert.is_true(math.abs(m:date() - os.time()) < 5)
    assert.truthy(msg:header("Message-ID"):match("^<%x+@example%.test>$"))
    local other = assert(mime.message(base { text = "x" }))
    assert.are_not.equal(msg:header("Message-ID"), other:header("Message-ID"))
    local given = assert(mime.message(base { text = "x", message_id = "abc@host.test",
      date = "Tue, 1 Jul 2003 10:52:37 +0200" }))
    assert.are.equal("<abc@host.test>", given:header("Message-ID"))
    assert.are.equal("Tue, 1 Jul 2003 10:52:37 +0200", given:header("Date"))
  end)

  it("encodes non-ASCII subjects and names in RFC 2047 words, folded at 78 columns", function()
    local subject = "验证码 / verification code — " .. string.rep("非常长的主题 ", 30)
    local msg = assert(mime.message(base {
      from = { name = "张三 (Zhang San)", addr = "zs@example.test" },
      to = { "Zhang San <zs@example.test>", { name = "Ünïcödé, Ltd.", addr = "u@example.test" },
        { name = 'Quote "me"', addr = "q@example.test" } },
      subject = subject, text = "x",
    }))
    local head = header_block(msg:to_string())
    for _, l in ipairs(lines(head)) do
      assert.is_true(#l <= 78, "line of " .. #l .. ": " .. l)
      assert.is_nil(l:find("[\128-\255]"), "raw 8-bit in " .. l)
    end
    -- every encoded word decodes on its own to whole UTF-8 characters
    for w in head:gmatch("=%?UTF%-8%?[BQ]%?[^?]*%?=") do
      assert.is_true(#w <= 75)
      local text = mime.decode_words(w)
      assert.is_nil(text:find("\239\191\189"), "a character was split: " .. w)
    end
    local m = assert(mime.parse(msg:to_string()))
    assert.are.equal(subject, m:header("Subject"))
    assert.are.same({ { name = "张三 (Zhang San)", addr = "zs@example.test" } }, m:addresses("From"))
    assert.are.same({ { name = "Zhang San", addr = "zs@example.test" },
      { name = "Ünïcödé, Ltd.", addr = "u@example.test" },
      { name = 'Quote "me"', addr = "q@example.test" } }, m:addresses("To"))
    assert.truthy(head:find('To: Zhang San <zs@example.test>, =?UTF-8?', 1, true))
    assert.truthy(head:find('"Quote \\"me\\"" <q@example.test>', 1, true))
  end)

  it("never writes a line over 998 octets; refuses what cannot be folded", function()
    local long = string.rep("x", 1500)
    local msg = assert(mime.message(base { subject = long, text = "x" }))
    for _, l in ipairs(lines(header_block(msg:to_string()))) do assert.is_true(#l <= 998) end
    local m = assert(mime.parse(msg:to_string()))
    assert.are.equal(long, m:header("Subject"))
    -- an ASCII structured field is never re-encoded, so it cannot be
    -- folded without white space: refused when given
    local ok, err = pcall(mime.message, base {
      headers = { { "List-Unsubscribe", "<" .. long .. ">" } }, text = "x" })
    assert.is_false(ok)
    assert.truthy(err:find("header List-Unsubscribe has a line longer than 998 octets", 1, true),
      err)
    local folded = assert(mime.message(base { text = "x", headers = { { "List-Unsubscribe",
      "<" .. string.rep("a", 70) .. ">, " .. "<" .. string.rep("b", 70) .. ">" } } }))
    assert.truthy(folded:to_string():find("<" .. string.rep("a", 70) .. ">,\r\n <b", 1, true))
  end)
end)

describe("mime.message recipients", function()
  it("lists To, Cc and Bcc once each; Bcc never appears in the header", function()
    local msg = assert(mime.message(base {
      to = { "a@example.test", "B <b@example.test>" }, cc = "c@example.test, A@example.test",
      bcc = { "secret@example.test", { name = "Hidden", addr = "h@example.test" } }, text = "x",
    }))
    assert.are.same({ "a@example.test", "b@example.test", "c@example.test",
      "secret@example.test", "h@example.test" }, msg:recipients())
    local s = msg:to_string()
    assert.is_nil(s:find("secret", 1, true))
    assert.is_nil(s:find("Hidden", 1, true))
    assert.is_nil(s:lower():find("\nbcc:", 1, true))
    assert.has_error(function() msg:add_header("Bcc", "x@example.test") end,
      "mime.message: Bcc never goes into the header; give bcc = {...} to mime.message")
  end)

  it("follows set_header and add_header", function()
    local msg = assert(mime.message(base { to = "a@example.test", text = "x" }))
    msg:set_header("To", { "z@example.test" }):add_header("Cc", "Y <y@example.test>")
    assert.are.same({ "z@example.test", "y@example.test" }, msg:recipients())
    assert.are.equal("Y <y@example.test>", msg:header("cc"))
    msg:set_header("Subject", "new")
    msg:set_header("Subject", "newer")
    local m = assert(mime.parse(msg:to_string()))
    assert.are.same({ "newer" }, m:header_all("Subject"))
    assert.are.equal("z@example.test", m:addresses("To")[1].addr)
  end)
end)

describe("mime.message header injection", function()
  local CASES = {
    { "subject", function(v) return base { subject = v, text = "x" } end },
    { "display name", function(v) return base { to = { { name = v, addr = "a@b.test" } } } end },
    { "address", function(v) return base { to = { v } } end },
    { "address table", function(v) return base { to = { { addr = v } } } end },
    { "from", function(v) return { from = v } end },
    { "header value", function(v) return base { headers = { { "X-A", v } } } end },
    { "header name", function(v) return base { headers = { { v, "x" } } } end },
    { "filename", function(v)
      return base { attachments = { { filename = v, content = "x" } } }
    end },
    { "cid", function(v) return base { attachments = { { cid = v, content = "x" } } } end },
    { "content_type", function(v)
      return base { attachments = { { content_type = v, content = "x" } } }
    end },
    { "message_id", function(v) return base { message_id = v } end },
    { "date", function(v) return base { date = v } end },
  }
  for _, case in ipairs(CASES) do
    for _, evil in ipairs({ "a\r\nBcc: x@evil.test", "a\nX: y", "a\rb", "a\0b" }) do
      it("refuses CR, LF or NUL in the " .. case[1] .. " (" .. string.format("%q", evil) .. ")",
        function()
          local ok, err = pcall(mime.message, case[2](evil))
          assert.is_false(ok)
          assert.truthy(tostring(err):find("mime.message", 1, true), err)
        end)
    end
  end

  it("refuses them in set_header, add_header and encode_words too", function()
    local msg = assert(mime.message(base { text = "x" }))
    assert.has_error(function() msg:set_header("Subject", "a\r\nb") end)
    assert.has_error(function() msg:add_header("X-A", "a\nb") end)
    assert.has_error(function() msg:add_header("X A", "b") end)
    assert.has_error(function() mime.encode_words("a\r\nb") end)
    assert.has_error(function()
      mime.message(base { headers = { { "Content-Type", "text/html" } } })
    end)
  end)

  it("refuses ambiguous addresses rather than guessing", function()
    assert.has_error(function() mime.message(base { to = "a@evil.example@good.example" }) end)
    assert.has_error(function() mime.message(base { to = { { addr = "a@b.test, c@d.test" } } }) end)
    assert.has_error(function() mime.message(base { to = "Alice" }) end)
    assert.has_error(function() mime.message({ from = "nobody" }) end)
  end)

  it("raises on misuse", function()
    assert.has_error(function() mime.message() end,
      "mime.message: bad argument #1 (table expected)")
    assert.has_error(function() mime.message(base { atachments = {} }) end,
      "mime.message: unknown field 'atachments'")
    assert.has_error(function() mime.message({ text = "x" }) end, "mime.message: from is required")
    assert.has_error(function() mime.message(base { attachments = { { content = 1 } } }) end)
    assert.has_error(function()
      mime.message(base { attachments = { { path = "a", content = "b" } } })
    end)
    assert.has_error(function() mime.message(base { text = "\255" }) end)
  end)
end)

describe("mime.message bodies", function()
  local function parsed(t)
    local msg = assert(mime.message(base(t)))
    local s = assert(msg:to_string())
    return assert(mime.parse(s)), s, msg
  end

  it("chooses 7bit, quoted-printable or base64 by content; text goes with CRLF", function()
    local m, s = parsed { text = "short ascii\nlines\n" }
    assert.are.equal("7bit", m.transfer_encoding)
    assert.are.equal("short ascii\r\nlines\r\n", m:body())
    assert.is_nil(s:find("[^\r]\n"))
    m = parsed { text = "Grüße aus Köln, mostly ASCII text with a few umlauts.\n" }
    assert.are.equal("quoted-printable", m.transfer_encoding)
    assert.are.equal("Grüße aus Köln, mostly ASCII text with a few umlauts.\r\n", m:text())
    m = parsed { text = "全是中文的正文，几乎没有ASCII字符。" }
    assert.are.equal("base64", m.transfer_encoding)
    assert.are.equal("全是中文的正文，几乎没有ASCII字符。", m:text())
    m = parsed { text = string.rep("long ascii line ", 20) }
    assert.are.equal("quoted-printable", m.transfer_encoding)
    m = parsed { html = "<p>x</p>" }
    assert.are.equal("text/html", m.content_type)
    assert.are.equal("utf-8", m.charset)
  end)

  it("builds alternative, related and mixed only when needed", function()
    local function shape(p)
      if not p.parts then return p.content_type end
      local t = {}
      for i, c in ipairs(p.parts) do t[i] = shape(c) end
      return p.content_type .. "(" .. table.concat(t, ", ") .. ")"
    end
    assert.are.equal("text/plain", shape(parsed { text = "a" }))
    assert.are.equal("text/plain", shape(parsed {}))
    assert.are.equal("multipart/alternative(text/plain, text/html)",
      shape(parsed { text = "a", html = "b" }))
    local png = tmpfile("\137PNG\r\n\26\n")
    local m = parsed { text = "a", html = "<img src=cid:logo>", attachments = {
      { path = png, inline = true, cid = "logo", filename = "logo.png" },
      { filename = "名单.csv", content = "a,b\n1,2\n", content_type = "text/csv" },
    } }
    assert.are.equal("multipart/mixed(multipart/alternative(text/plain, multipart/related("
      .. "text/html, image/png)), text/csv)", shape(m))
    local atts = m:attachments()
    assert.are.equal(2, #atts)
    assert.are.equal("logo.png", atts[1].filename)
    assert.are.equal("logo", atts[1].cid)
    assert.are.equal("inline", atts[1].disposition)
    assert.are.equal("\137PNG\r\n\26\n", atts[1]:content())
    assert.are.equal("名单.csv", atts[2].filename)
    assert.are.equal("attachment", atts[2].disposition)
    assert.are.equal("a,b\n1,2\n", atts[2]:content())
    assert.are.equal(8, atts[2].size)
    assert.are.equal("a", m:text())
    assert.are.equal("<img src=cid:logo>", m:html())
    os.remove(png)
  end)

  it("names attachments with RFC 2231 and an RFC 2047 fallback; types by extension", function()
    local long = "报告 " .. string.rep("很长的文件名 ", 12) .. ".pdf"
    local m, s = parsed { attachments = {
      { filename = "名单.csv", content = "x" },
      { filename = long, content = "%PDF" },
      { filename = "photo.JPG", content = "\255\216" },
      { filename = "noext", content = "\0" },
      { filename = "page.html", content = "<p>", content_type = "application/x-custom" },
    } }
    assert.truthy(s:find("filename*=UTF-8''%E5%90%8D%E5%8D%95.csv", 1, true))
    assert.truthy(s:find('filename="=?UTF-8?B?5ZCN5Y2VLmNzdg==?="', 1, true))
    assert.truthy(s:find("filename*0*=UTF-8''", 1, true))
    for _, l in ipairs(lines(s)) do assert.is_true(#l <= 78, l) end
    local a = m:attachments()
    assert.are.same({ "名单.csv", long, "photo.JPG", "noext", "page.html" },
      { a[1].filename, a[2].filename, a[3].filename, a[4].filename, a[5].filename })
    assert.are.same({ "text/csv", "application/pdf", "image/jpeg", "application/octet-stream",
      "application/x-custom" }, { a[1].content_type, a[2].content_type, a[3].content_type,
      a[4].content_type, a[5].content_type })
  end)

  it("checks boundaries against the 7bit parts", function()
    local msg = assert(mime.message(base { text = "a", html = "b" }))
    local s = msg:to_string()
    local b = s:match('boundary="([^"]+)"')
    assert.truthy(b and b:find("=_", 1, true))
    -- a text that quotes a boundary of this very message still parses
    local m = assert(mime.parse(s))
    local evil = assert(mime.message(base { text = "--" .. b .. "\n--" .. b .. "--\n",
      html = "x" }))
    local m2 = assert(mime.parse(evil:to_string()))
    assert.are.equal("--" .. b .. "\r\n--" .. b .. "--\r\n", m2:text())
    assert.are.equal(2, #m.parts)
  end)
end)

describe("mime.message streaming", function()
  it("to_string() equals the concatenation of source() and size() is exact", function()
    local path = tmpfile(string.rep("0123456789", 100000))
    local chunks, src = {}
    local msg = assert(mime.message(base { text = "a", html = "b", attachments = {
      { path = path }, { filename = "s.bin", source = (function()
        local n = 0
        return function()
          n = n + 1
          if n <= 10 then return string.rep(string.char(n), 1000) end
        end
      end)(), size = 10000 } } }))
    src = msg:source()
    while true do
      local c = src()
      if not c then break end
      chunks[#chunks + 1] = c
    end
    local whole = table.concat(chunks)
    assert.are.equal(#whole, msg:size())
    -- a message with a path attachment serialises again identically
    local again = assert(mime.message(base { text = "a", attachments = { { path = path } },
      message_id = "<x@y>", date = 0 }))
    assert.are.equal(again:to_string(), again:to_string())
    local pieces, src2 = {}, again:source()
    for c in src2 do pieces[#pieces + 1] = c end
    assert.are.equal(again:to_string(), table.concat(pieces))
    assert.are.equal(#table.concat(pieces), again:size())
    local m = assert(mime.parse(whole))
    local a = m:attachments()
    assert.are.equal(md5.hex(string.rep("0123456789", 100000)), md5.hex(a[1]:content()))
    assert.are.equal(10000, #a[2]:content())
    os.remove(path)
  end)

  it("reports an unreadable attachment as EIO, not a crash", function()
    local msg, err, code = mime.message(base { attachments = { { path = "/nonexistent/x.pdf" } } })
    assert.is_nil(msg)
    assert.are.equal("EIO", code)
    assert.truthy(err:find("x.pdf", 1, true))
    local src_msg = assert(mime.message(base { attachments = { { filename = "f",
      source = function() return nil, "disk on fire" end } } }))
    local s, serr = src_msg:to_string()
    assert.is_nil(s)
    assert.are.equal("disk on fire", serr)
  end)

  it("streams a " .. (small and "16 MiB" or "1 GiB") .. " attachment in bounded memory", function()
    local size = small and 16 * 1048576 or 1024 * 1048576
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:seek("set", size - 1) -- sparse: nothing is written but the last byte
    f:write("!")
    f:close()
    local msg = assert(mime.message(base { text = "big one", attachments = { { path = path } } }))
    local src, total, peak, tail = msg:source(), 0, 0, ""
    collectgarbage()
    local before = collectgarbage("count")
    while true do
      local c = src()
      if not c then break end
      total = total + #c
      tail = (tail .. c):sub(-200)
      local kb = collectgarbage("count") - before
      if kb > peak then peak = kb end
      if total % (64 * 1048576) < #c then collectgarbage("step", 0) end
    end
    os.remove(path)
    assert.are.equal(msg:size(), total)
    -- size is 1 mod 3: the zeros end in whole "AAAA" quanta, then "!" alone
    assert.truthy(tail:find("AAAA\r?\n?IQ==\r\n%-%-=_lm1_"), tail)
    assert.is_true(peak < 32 * 1024, "peak Lua memory " .. math.floor(peak) .. " KiB")
  end)
end)
