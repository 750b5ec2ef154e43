-- Hostile input: 10,000-deep nesting, 100,000 parts, a 10 MB header line,
-- unterminated boundaries, garbage base64 and quoted-printable, encoded
-- words hiding CR, LF or NUL. Each gives an error or a warning, never a
-- crash. Linear time is shown without timing anything: the parser counts
-- the work it does (bytes examined, hash lookups), and the count must stay
-- a small multiple of the input size and grow in proportion to it.
local mime = require "lmail.mime"
local core = require "lmail.core"

local small = os.getenv("LMAIL_VALGRIND") ~= nil -- shrink, never skip

-- Work units the parser spends on s (fed in 64 KiB chunks), and its result.
local function work(s, opts)
  local p = core.mime.parser(opts)
  local pos, events = 1, 0
  while true do
    local ev, err, code = p:next()
    if ev == false then
      if pos > #s then
        p:finish()
      else
        p:feed(s:sub(pos, pos + 65535))
        pos = pos + 65536
      end
    elseif ev == nil then
      local w = p:work()
      p:close()
      return w, nil, err, code
    elseif ev == "done" then
      local w = p:work()
      p:close()
      return w, events
    else
      events = events + 1
    end
  end
end

local function deep(n)
  local t = {}
  for i = 1, n do
    t[#t + 1] = "Content-Type: multipart/mixed; boundary=b" .. i .. "\r\n\r\n--b" .. i .. "\r\n"
  end
  t[#t + 1] = "\r\nleaf\r\n"
  for i = n, 1, -1 do t[#t + 1] = "--b" .. i .. "--\r\n" end
  return table.concat(t)
end

local function many(n)
  return "Content-Type: multipart/mixed; boundary=b\r\n\r\n" .. ("--b\r\n\r\nx\r\n"):rep(n)
    .. "--b--\r\n"
end

-- work(shape(4n)) must be about 4 times work(shape(n)) (a quadratic parser
-- would show 16), and a small multiple of the bytes.
local function assert_linear(shape, n, opts)
  local s1, s4 = shape(n), shape(4 * n)
  local w1 = assert(work(s1, opts))
  local w4 = assert(work(s4, opts))
  assert.is_true(w4 <= 4.5 * w1, ("work %d for n, %d for 4n"):format(w1, w4))
  assert.is_true(w4 <= 8 * #s4, ("work %d for %d bytes"):format(w4, #s4))
end

describe("mime.parse on hostile input", function()
  local N = small and 1000 or 10000

  it("refuses " .. N .. "-deep nesting at the default depth", function()
    local m, err, code = mime.parse(deep(N))
    assert.is_nil(m)
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_depth", 1, true))
  end)

  it("parses " .. N .. "-deep nesting when allowed, without recursion, in linear work", function()
    local opts = { max_depth = 4 * N + 2, max_parts = 8 * N + 4 }
    local m = assert(mime.parse(deep(N), opts))
    local count, deepest = 0, 0
    for p in m:walk() do
      count = count + 1
      if p.depth > deepest then deepest = p.depth end
    end
    assert.are.equal(N + 1, count)
    assert.are.equal(N, deepest)
    assert.are.same({}, m.warnings)
    assert_linear(deep, N, opts)
  end)

  it("refuses " .. (10 * N) .. " parts at the default limit, parses them when allowed", function()
    local m, err, code = mime.parse(many(10 * N))
    assert.is_nil(m)
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_parts", 1, true))
    local opts = { max_parts = 40 * N + 1 }
    m = assert(mime.parse(many(10 * N), opts))
    assert.are.equal(10 * N, #m.parts)
    assert.are.equal("x", m.parts[10 * N]:body())
    assert_linear(many, 10 * N, opts)
  end)

  it("stops a 10 MB header line at the line limit, having read about that much", function()
    local line = "Subject: " .. ("x"):rep(10 * 1048576) .. "\r\n\r\nbody"
    local m, err, code = mime.parse(line)
    assert.is_nil(m)
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_line", 1, true))
    local w, _, err2 = work(line)
    assert.truthy(err2)
    assert.is_true(w <= 3 * 65536, "work " .. w)
    -- a long folded header is limited by max_header_bytes the same way
    local folded = "Subject: x" .. ("\r\n y"):rep(200000) .. "\r\n\r\n"
    _, err, code = mime.parse(folded)
    assert.are.equal("ETOOLONG", code)
    assert.truthy(err:find("max_header_bytes", 1, true))
  end)

  it("keeps lines that only look like delimiters linear", function()
    local b = ("z"):rep(250)
    local function shape(n)
      return "Content-Type: multipart/mixed; boundary=" .. b .. "\r\n\r\n"
        .. ("--" .. ("z"):rep(249) .. "y\r\n"):rep(n)
    end
    assert_linear(shape, small and 500 or 5000)
    local m = assert(mime.parse(shape(100)))
    assert.is_nil(m.parts)
    assert.truthy(m.warnings[1]:find("without any delimiter", 1, true))
  end)

  it("tolerates unterminated boundaries at every level, with warnings", function()
    local s = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
      .. "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\ninner text\r\n"
      .. "--a\r\n\r\nsecond\r\n--a\r\nContent-Type: multipart/related; boundary=c\r\n\r\n"
      .. "--c\r\n\r\nend"
    local m = assert(mime.parse(s))
    assert.are.equal("inner text", m.parts[1].parts[1]:body())
    assert.are.equal("second", m.parts[2]:body())
    assert.are.equal("end", m.parts[3].parts[1]:body())
    assert.are.equal(3, #m.warnings)
    for _, w in ipairs(m.warnings) do assert.truthy(w:find("close delimiter", 1, true), w) end
  end)

  it("decodes garbage base64 and quoted-printable leniently, with warnings", function()
    local m = assert(mime.parse(
      "Content-Transfer-Encoding: base64\r\n\r\naGVs!!@@bG8g\r\nd29y*bGQ"))
    assert.are.equal("hello world", m:body())
    assert.truthy(m.warnings[1]:find("outside the alphabet", 1, true))
    m = assert(mime.parse("Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQx="))
    assert.are.equal("hello world", m:body():sub(1, 11))
    m = assert(mime.parse("Content-Transfer-Encoding: base64\r\n\r\naGVsbA"))
    assert.are.equal("hell", m:body())
    m = assert(mime.parse("Content-Transfer-Encoding: base64\r\n\r\naGVsb"))
    assert.are.equal("hel", m:body())
    assert.truthy(m.warnings[1]:find("truncated", 1, true))
    m = assert(mime.parse("Content-Transfer-Encoding: quoted-printable\r\n\r\na=ZZb=4=\r\nc=3D"))
    assert.are.equal("a=ZZb=4c=", m:body())
    assert.truthy(m.warnings[1]:find("malformed escapes", 1, true))
    m = assert(mime.parse("Content-Transfer-Encoding: base64\r\n\r\n" .. ("\0\255"):rep(1000)))
    assert.are.equal("", m:body())
    assert.are.equal(1, #m.warnings)
  end)

  it("keeps CR, LF and NUL from encoded words as data, flagged, never re-emitted", function()
    local raw = "From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example.test?= <eve@example.test>\r\n"
      .. "Sender: =?utf-8?q?Eve=0D=0ABcc:_victim@example.test?= <eve@example.test>\r\n"
      .. "Subject: =?utf-8?q?hi=0D=0ABcc:_x@evil.test=00?=\r\n\r\nbody"
    local m = assert(mime.parse(raw))
    local subject = m:header("Subject")
    assert.are.equal("hi\r\nBcc: x@evil.test\0", subject)
    local from = assert(m:addresses("From"))[1]
    assert.are.equal("Eve\r\nBcc: victim@example.test", from.name)
    -- '@' and ':' are not allowed raw in a phrase's word (RFC 2047 5(3)):
    -- that list is ambiguous, an error
    local none, _, code = m:addresses("Sender")
    assert.is_nil(none)
    assert.are.equal("EINVAL", code)
    local flagged = 0
    for _, w in ipairs(m.warnings) do
      if w:find("CR, LF or NUL", 1, true) then flagged = flagged + 1 end
    end
    assert.is_true(flagged >= 1)
    -- a reply built from the decoded data is refused, not smuggled
    local ok, err = pcall(mime.message, { from = "me@example.test", to = { from },
      subject = "Re: " .. subject, text = "x" })
    assert.is_false(ok)
    assert.truthy(err:find("CR, LF or NUL", 1, true))
    assert.has_error(function() mime.encode_words(subject) end)
    -- the raw header keeps the encoded form
    assert.are.equal("=?utf-8?q?hi=0D=0ABcc:_x@evil.test=00?=", m:header_raw("Subject"))
  end)

  it("survives random bytes and random mutations of a real message", function()
    local split = require "spec.support.split"
    local base = assert(mime.message({ from = "a@example.test", to = "b@example.test",
      subject = "Grüße", text = "text ü", html = "<p>x</p>",
      attachments = { { filename = "名单.csv", content = ("a,b\n"):rep(50) } } })):to_string()
    local rand = split.rng(99)
    for i = 1, small and 30 or 300 do
      local s
      if i % 3 == 0 then
        s = split.random_bytes(rand(2000), i)
      else
        local t = { base:byte(1, -1) }
        for _ = 1, rand(20) do t[rand(#t)] = rand(256) - 1 end
        s = string.char(table.unpack(t))
      end
      local m = mime.parse(s)
      if m then
        for p in m:walk() do
          p:body()
          local _ = { p.filename, p.size, p:text_content() }
        end
        m:text()
        m:attachments()
        m:addresses("To")
        m:date()
      end
    end
  end)
end)
