-- bench/mime_corpus.lua: writes the message corpus of bench/bench_mime.sh:
-- N messages of realistic shape (multipart/alternative text + html,
-- folded Received/DKIM headers, UTF-8 and GBK encoded subjects and names,
-- half of them with base64 attachments of 10 KB to 2 MB), written by hand
-- from templates (not by lmail's builder), deterministic.
-- Usage: lua5.4 bench/mime_corpus.lua DIR N   -> DIR/list.txt names them all
local core = require "lmail.core"
local dir, n = arg[1], tonumber(arg[2] or 2000)

local state = 4242
local function rand(k)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % k + 1
end

local function b64(s)
  return core.b64.encode(s)
end

-- 2 MB of noise to cut attachments from
local pool
do
  local t, x = {}, 99
  for i = 1, 2 * 1048576 / 4 do
    x = (x * 1103515245 + 12345) % 4294967296
    t[i] = string.pack("<I4", x)
  end
  pool = table.concat(t)
end

local WORDS = { "meeting", "report", "quarterly", "numbers", "please", "review", "attached",
  "thanks", "regards", "tomorrow", "deadline", "project", "update", "budget", "team", "the",
  "a", "of", "and", "to", "in", "for", "on", "with", "is", "we", "you", "it" }
local CN = { "会议", "报告", "季度", "数字", "请", "查看", "附件", "谢谢", "明天", "项目", "预算", "团队" }

local function words(k, cn)
  local t = {}
  for i = 1, k do
    t[i] = (cn and rand(2) == 1) and CN[rand(#CN)] or WORDS[rand(#WORDS)]
  end
  return table.concat(t, " ")
end

local function gbk(s)
  return assert(core.hdr.from_utf8(s, "GBK"))
end

local function subject()
  local k = rand(4)
  if k == 1 then return "Re: " .. words(6) end
  if k == 2 then return "=?UTF-8?B?" .. b64(words(5, true)):gsub("\r\n", "") .. "?=" end
  if k == 3 then return "=?GBK?B?" .. b64(gbk(words(4, true))):gsub("\r\n", "") .. "?=" end
  return "=?utf-8?Q?" .. words(3):gsub(" ", "_") .. "_=C3=BCber_" .. words(2):gsub(" ", "_")
    .. "?=\r\n =?utf-8?Q?" .. words(3):gsub(" ", "_") .. "?="
end

local function name()
  local k = rand(3)
  if k == 1 then return "=?UTF-8?B?" .. b64("张三"):gsub("\r\n", "") .. "?=" end
  if k == 2 then return "=?GBK?B?" .. b64(gbk("李四")):gsub("\r\n", "") .. "?=" end
  return '"Doe, John"'
end

local function qp(s)
  return core.qp.encode(s)
end

local function header(i, ctype)
  local h = {
    "Return-Path: <sender" .. i .. "@example.test>",
    "Received: from mail" .. rand(99) .. ".example.test (mail.example.test [192.0.2." .. rand(250)
      .. "])\r\n\tby mx.example.test (Postfix) with ESMTPS id 4Xyz" .. i
      .. "\r\n\tfor <bob@example.test>; Tue, 1 Oct 2024 10:0" .. rand(9) .. ":00 +0000 (UTC)",
    "Received: by 2002:a05:6a10:" .. rand(9999) .. " with SMTP id x" .. i
      .. ";\r\n        Tue, 1 Oct 2024 03:00:00 -0700 (PDT)",
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=sel;\r\n"
      .. "        h=from:to:subject:date:message-id; bh="
      .. b64(pool:sub(i, i + 31)):gsub("\r\n", "")
      .. ";\r\n        b=" .. b64(pool:sub(i + 100, i + 291)):gsub("\r\n", "\r\n         "),
    "From: " .. name() .. " <sender" .. i .. "@example.test>",
    "To: Bob <bob@example.test>, " .. name() .. " <team@example.test>",
    "Subject: " .. subject(),
    "Date: Tue, 1 Oct 2024 10:00:00 +0000",
    "Message-ID: <" .. i .. "." .. rand(1000000) .. "@example.test>",
    "MIME-Version: 1.0",
    "Content-Type: " .. ctype,
  }
  return table.concat(h, "\r\n") .. "\r\n\r\n"
end

local function alternative(b)
  local text = words(40 + rand(200), rand(2) == 1):gsub("(" .. ("[^ ]+ "):rep(10) .. ")", "%1\n")
  local html = "<html><body><p>" .. text:gsub("\n", "</p>\n<p>") .. "</p></body></html>\n"
  local tgbk = rand(3) == 1
  local tpart = tgbk and ("Content-Type: text/plain; charset=gbk\r\n"
      .. "Content-Transfer-Encoding: base64\r\n\r\n" .. b64(gbk(text)))
    or ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
      .. "\r\n\r\n" .. qp(text))
  return "--" .. b .. "\r\n" .. tpart .. "\r\n--" .. b .. "\r\n"
    .. "Content-Type: text/html; charset=utf-8\r\n"
    .. "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    .. qp(html) .. "\r\n--" .. b .. "--\r\n"
end

local function attachment(b)
  local u = rand(10000) / 10000
  local size = math.floor(10240 * 200 ^ (u ^ 5))
  local off = rand(#pool - size)
  local fname = rand(2) == 1 and "filename=\"report-" .. rand(999) .. ".pdf\""
    or "filename*=UTF-8''%E6%8A%A5%E5%91%8A" .. rand(99) .. ".pdf"
  return "--" .. b .. "\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
    .. "Content-Disposition: attachment;\r\n " .. fname .. "\r\n\r\n"
    .. b64(pool:sub(off, off + size - 1))
end

local list = assert(io.open(dir .. "/list.txt", "wb"))
local total = 0
for i = 1, n do
  local outer, inner = "----=_Part_" .. i .. "_" .. rand(1e6), "b2_" .. i
  local msg
  local k = rand(10)
  if k <= 5 then
    msg = header(i, "multipart/alternative; boundary=\"" .. inner .. "\"") .. alternative(inner)
  else
    msg = header(i, "multipart/mixed;\r\n\tboundary=\"" .. outer .. "\"")
      .. "This is a multi-part message in MIME format.\r\n\r\n--" .. outer
      .. "\r\nContent-Type: multipart/alternative; boundary=\"" .. inner .. "\"\r\n\r\n"
      .. alternative(inner) .. "\r\n" .. attachment(outer)
    if k == 10 then msg = msg .. attachment(outer) end
    msg = msg .. "--" .. outer .. "--\r\n"
  end
  local path = string.format("%s/m%04d.eml", dir, i)
  local f = assert(io.open(path, "wb"))
  f:write(msg)
  f:close()
  list:write(path, "\n")
  total = total + #msg
end
list:close()
io.stderr:write(string.format("mime corpus: %d messages, %.1f MB in %s\n", n, total / 1e6, dir))
