-- Round trips both ways with Python's email (compat32 and policy.default)
-- as the independent reader and writer:
-- - messages built by lmail parse back to the same fields and bytes with
--   lmail and with Python;
-- - messages built by Python (non-ASCII subjects, GBK/GB2312 parts, RFC 2231
--   names, nested multiparts) parse in lmail to what Python says.
local mime = require "lmail.mime"
local md5 = require "lmail.md5"
local json = require "dkjson"
local python = require "spec.support.python"
local mimetree = require "spec.support.mimetree"

local PYMIME = "spec/support/pymime.py"

local function lmail_addresses(m)
  local out = {}
  for _, f in ipairs({ "from", "to", "cc", "reply-to", "sender" }) do
    local list = assert(m:addresses(f))
    if #list > 0 then
      out[f] = {}
      for i, a in ipairs(list) do out[f][i] = { a.name, a.addr } end
    end
  end
  return out
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function describe_files(paths)
  local q = {}
  for i, p in ipairs(paths) do q[i] = python.quote(p) end
  local out = {}
  for line in python.run(PYMIME .. " describe " .. table.concat(q, " ")):gmatch("[^\n]+") do
    local d = assert(json.decode(line))
    out[d.file] = d
  end
  return out
end

local function bytes(n, seed)
  local t, x = {}, seed
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    t[i] = string.char(x % 256)
  end
  return table.concat(t)
end

-- Messages lmail builds, from plain to everything at once.
local function lmail_messages(dir)
  local big = dir .. "/photo.jpg"
  write(big, bytes(300000, 7))
  return {
    plain = { from = "alice@example.test", to = "bob@example.test", subject = "plain",
      text = "Hello Bob,\nsee you.\n" },
    unicode = { from = { name = "张三", addr = "zs@example.test" },
      to = { "Bob <bob@example.test>", { name = "Ünïcödé, Ltd.", addr = "u@example.test" } },
      cc = "Carol <carol@example.test>",
      subject = "验证码 / verification code: " .. string.rep("很长的主题 ", 25),
      text = "中文正文\n第二行\n", html = "<p>中文 <b>HTML</b></p>" },
    attachments = { from = "Alice <alice@example.test>", to = "bob@example.test",
      subject = "Grüße mit Anhängen", text = "Grüße!\n", html = "<p><img src=cid:logo></p>",
      attachments = {
        { path = big,
          filename = "Fotos aus dem Urlaub 2024 – sehr lang und voller Umlaute äöü.jpg" },
        { filename = "名单.csv", content = "名字,数量\n苹果,3\n", content_type = "text/csv" },
        { filename = "empty.bin", content = "" },
        { filename = "ascii.txt", content = "just\r\nascii\r\n" },
        { path = big, inline = true, cid = "logo", filename = "logo.png" },
      } },
    qp = { from = "a@example.test", subject = "ÀÉÎÕÜ", text = string.rep("Ça va très bien. ", 40) },
    binary_text = { from = "a@example.test", text = "日本語のテキスト。" .. string.rep("テスト", 200) },
  }
end

describe("lmail-built messages", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("env -u LD_PRELOAD mkdir -p " .. python.quote(dir))
  local specs = lmail_messages(dir)
  local built, paths, names = {}, {}, {}
  for name in pairs(specs) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local msg = assert(mime.message(specs[name]))
    built[name] = assert(msg:to_string())
    paths[#paths + 1] = dir .. "/" .. name .. ".eml"
    write(paths[#paths], built[name])
  end
  local oracle = describe_files(paths)

  for _, name in ipairs(names) do
    it("parse back the same with lmail and Python's email: " .. name, function()
      local spec = specs[name]
      local m = assert(mime.parse(built[name]))
      assert.are.same({}, m.warnings)
      assert.are.equal(spec.subject, m:header("Subject"))
      if spec.text then assert.are.equal((spec.text:gsub("\r?\n", "\r\n")), m:text()) end
      if spec.html then assert.are.equal(spec.html, m:html()) end
      local by_name = {}
      for _, a in ipairs(spec.attachments or {}) do by_name[a.filename] = a end
      local atts = m:attachments()
      assert.are.equal(#(spec.attachments or {}), #atts)
      for _, a in ipairs(atts) do
        local want = assert(by_name[a.filename], a.filename)
        local content = want.content
        if want.path then
          local f = assert(io.open(want.path, "rb"))
          content = f:read("a")
          f:close()
        end
        assert.are.equal(md5.hex(content), md5.hex(a:content()), a.filename)
        assert.are.equal(want.filename, a.filename)
      end
      local mine = mimetree.lmail(m)
      mine.subject = m:header("Subject")
      for _, policy in ipairs({ "compat32", "default" }) do
        local theirs = oracle[name .. ".eml"][policy]
        assert.is_nil(theirs.error, tostring(theirs.error))
        local want = mimetree.python(theirs)
        want.subject = theirs.subject ~= json.null and theirs.subject or nil
        assert.are.same(want, mine, name .. " (" .. policy .. ")")
        assert.are.same(theirs.addresses, lmail_addresses(m),
          name .. " addresses (" .. policy .. ")")
      end
      if spec.text and oracle[name .. ".eml"].default.text then
        assert.are.equal(oracle[name .. ".eml"].default.text, m:text())
      end
    end)
  end

  it("cleans up", function()
    for _, p in ipairs(paths) do os.remove(p) end
    os.remove(dir .. "/photo.jpg")
    assert.is_true(os.remove(dir))
  end)
end)

describe("Python-built messages", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("env -u LD_PRELOAD mkdir -p " .. python.quote(dir))
  python.run(PYMIME .. " build " .. python.quote(dir))
  local files = { "py_compat32.eml", "py_default.eml" }
  local paths = {}
  for i, f in ipairs(files) do paths[i] = dir .. "/" .. f end
  local oracle = describe_files(paths)

  for i, f in ipairs(files) do
    it("parse in lmail to what Python says: " .. f, function()
      local fh = assert(io.open(paths[i], "rb"))
      local raw = fh:read("a")
      fh:close()
      local m = assert(mime.parse(raw))
      local mine = mimetree.lmail(m)
      mine.subject = m:header("Subject")
      for _, policy in ipairs({ "compat32", "default" }) do
        local theirs = oracle[f][policy]
        local want = mimetree.python(theirs)
        want.subject = theirs.subject
        assert.are.same(want, mine, f .. " (" .. policy .. ")")
        assert.are.same(theirs.addresses, lmail_addresses(m), f .. " addresses (" .. policy .. ")")
      end
      if oracle[f].default.text then assert.are.equal(oracle[f].default.text, m:text()) end
      -- what the fixture is meant to hold really is there
      local seen = {}
      for p in m:walk() do
        if p.charset then seen[p.charset] = true end
        if p.filename then seen[p.filename] = true end
      end
      if f == "py_compat32.eml" then
        assert.is_true(seen.gbk and seen.gb2312 and seen["iso-8859-1"] and true or false)
        assert.is_true(seen["报告 2024 年度 很长的文件名 需要续行 以便测试.pdf"])
        assert.is_true(seen["图片.png"])
        assert.are.equal("测试邮件 GBK 主题", m:header("Subject"))
        assert.are.equal("简体中文 GB2312 正文\n", m:text())
      else
        assert.is_true(seen["名单.csv"] and seen["Grüße über alles.bin"])
        assert.are.equal("验证码 / verification code", m:header("Subject"))
      end
    end)
  end

  it("cleans up", function()
    for _, p in ipairs(paths) do os.remove(p) end
    assert.is_true(os.remove(dir))
  end)
end)
