-- lmail.text: what stands between attacker-chosen mail text and a
-- terminal or a file system.
local text = require "lmail.text"

local FFFD = "\239\191\189"

describe("lmail.text.sanitize", function()
  it("passes ordinary text through unchanged", function()
    assert.are.equal("Hello, 世界!", text.sanitize("Hello, 世界!"))
  end)

  it("replaces terminal escapes, C1 controls, DEL and bidi overrides", function()
    assert.are.equal(FFFD .. "[31mred", text.sanitize("\27[31mred"))
    assert.are.equal("a" .. FFFD .. "b", text.sanitize("a\127b"))
    assert.are.equal("a" .. FFFD .. "b", text.sanitize("a\194\155b"))       -- U+009B CSI
    assert.are.equal("x" .. FFFD .. "y", text.sanitize("x\226\128\174y"))    -- U+202E RLO
    assert.are.equal("x" .. FFFD .. "y", text.sanitize("x\226\129\167y"))    -- U+2067 RLI
  end)

  it("replaces invalid UTF-8 byte by byte (overlong, surrogate, truncated)", function()
    assert.are.equal(FFFD .. FFFD, text.sanitize("\192\175"))
    assert.are.equal(FFFD .. FFFD .. FFFD, text.sanitize("\237\160\128"))
    assert.are.equal("a" .. FFFD .. FFFD, text.sanitize("a\228\184"))
  end)

  it("keeps LF and TAB for bodies, drops CR, still replaces ESC", function()
    assert.are.equal("a\nb\tc\n" .. FFFD, text.sanitize("a\r\nb\tc\n\27", true))
    assert.are.equal("a" .. FFFD .. "b", text.sanitize("a\nb"))
  end)
end)

describe("lmail.text.width and fit", function()
  it("counts CJK as two columns and combining marks as none", function()
    assert.are.equal(5, text.width("hello"))
    assert.are.equal(4, text.width("中文"))
    assert.are.equal(6, text.width("한국어"))
    assert.are.equal(1, text.width("e\204\129"))   -- e + U+0301
    assert.are.equal(2, text.width("\240\159\152\128"))  -- U+1F600
  end)

  it("pads or cuts to exactly the asked width, never inside a character", function()
    assert.are.equal("ab   ", text.fit("ab", 5))
    assert.are.equal(5, text.width(text.fit("中文中文中文", 5)))
    assert.are.equal("中文…", text.fit("中文中文中文", 5))
    assert.are.equal("中… ", text.fit("中文中文", 4))
    assert.are.equal("abcd…", text.fit("abcdefgh", 5))
    for cols = 1, 12 do
      assert.are.equal(cols, text.width(text.fit("混合 mixed テキスト", cols)))
    end
  end)
end)

describe("lmail.text.html_to_text", function()
  it("drops scripts, styles and the head, and keeps the text", function()
    local html = "<html><head><title>T</title><style>p{x:y}</style></head>"
      .. "<body><script>alert(1)</script><p>Hello <b>world</b></p><p>Bye</p></body></html>"
    assert.are.equal("Hello world\n\nBye\n", text.html_to_text(html))
  end)

  it("turns lists and line breaks into lines and keeps link addresses", function()
    local html = "<ul><li>one</li><li>two</li></ul>line<br>next "
      .. "<a href=\"https://example.test/x?a=1&amp;b=2\">here</a> "
      .. "<a href='https://example.test/'>https://example.test/</a> <a href=\"#top\">top</a>"
    assert.are.equal("- one\n- two\nline\nnext here <https://example.test/x?a=1&b=2> "
      .. "https://example.test/ top\n", text.html_to_text(html))
  end)

  it("decodes character references and collapses whitespace", function()
    assert.are.equal("a < b & c é 中 “q”\n",
      text.html_to_text("a &lt; b\n\n   &amp; c &#233; &#x4E2D; &ldquo;q&rdquo;"))
    assert.are.equal("x &bogus; y\n", text.html_to_text("x &bogus; y"))
    assert.are.equal(FFFD .. "\n", text.html_to_text("&#0;"))
  end)

  it("survives comments, unterminated tags and hostile sizes in linear time", function()
    assert.are.equal("a b\n", text.html_to_text("a <!-- <p>hidden</p> --> b"))
    assert.are.equal("text\n", text.html_to_text("text <p unterminated"))
    local big = string.rep("<p>x</p>", 100000) .. string.rep("<", 100000)
    assert.is_string(text.html_to_text(big))
  end)
end)

describe("lmail.text.safe_filename", function()
  it("removes directory parts and path traversal", function()
    assert.are.equal("passwd", text.safe_filename("../../etc/passwd"))
    assert.are.equal("evil.exe", text.safe_filename("C:\\Windows\\evil.exe"))
    assert.are.equal("attachment", text.safe_filename(".."))
    assert.are.equal("attachment", text.safe_filename("/"))
    assert.are.equal("bashrc", text.safe_filename(".bashrc"))
    assert.are.equal("attachment", text.safe_filename(nil))
    assert.are.equal("x", text.safe_filename("", "x"))
  end)

  it("removes control characters and characters file systems reserve", function()
    assert.are.equal("a_b_c.txt", text.safe_filename("a\nb\27c.txt"))
    assert.are.equal("what_ _x_.pdf", text.safe_filename('what? "x".pdf'))
    assert.are.equal("_rtl.exe", text.safe_filename("\226\128\174rtl.exe"))
    assert.are.equal("_CON.txt", text.safe_filename("CON.txt"))
    assert.are.equal("名单.csv", text.safe_filename("名单.csv"))
  end)

  it("limits the length on a character boundary and keeps the extension", function()
    local name = text.safe_filename(string.rep("名", 300) .. ".csv")
    assert.is_true(#name <= 200)
    assert.matches("%.csv$", name)
    assert.are.equal(name, text.sanitize(name))   -- still valid UTF-8
  end)
end)
