--- lmail.mime.build: mime.message{...} builds a message (RFC 5322 header,
-- RFC 2045-2049 body) that streams: msg:source() reads attachments from
-- disk chunk by chunk, so any size goes through in bounded memory, and
-- msg:to_string() is the concatenation of what msg:source() produces.
local core = require "lmail.core"
local crypto = require "lmail.crypto"
local header = require "lmail.mime.header"
local types = require "lmail.mime.types"

local M = {}

local Message = {}
Message.__index = Message

local CHUNK = 57 * 1024 -- a multiple of 3: base64 lines stay whole between chunks

local ADDRESS_FIELDS = {
  from = true, to = true, cc = true, ["reply-to"] = true, sender = true,
  ["resent-from"] = true, ["resent-to"] = true, ["resent-cc"] = true, ["resent-sender"] = true,
}

-- Fields the builder owns: given through headers = {...} they would
-- contradict the body it writes.
local OWNED = { ["mime-version"] = true, ["content-type"] = true,
  ["content-transfer-encoding"] = true, ["content-disposition"] = true, ["content-id"] = true }

-- Boundaries and Message-IDs come from OpenSSL's generator: a guessable
-- boundary lets whoever writes a part's content plan a delimiter into it.
local function random_hex(n)
  local s, err = crypto.random_bytes(n)
  if not s then error("mime.message: " .. tostring(err), 0) end
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- ---- bodies ----

local function max_line(s)
  local longest, pos = 0, 1
  while true do
    local e = s:find("\r\n", pos, true)
    local len = (e or #s + 1) - pos
    if len > longest then longest = len end
    if not e then return longest end
    pos = e + 2
  end
end

-- RFC 2045 6: 7bit for short ASCII lines, else quoted-printable or base64,
-- whichever is shorter (QP grows each escaped byte to 3 characters, base64
-- everything by 4/3).
local function text_encoding(s)
  if not s:find("[%z\1-\8\11\12\14-\31\127-\255]") and max_line(s) <= 78 then
    return "7bit" -- s has CRLF line ends already: no bare CR or LF is left
  end
  local escapes = select(2, s:gsub("[%z\1-\8\11\12\14-\31\127-\255=]", ""))
  if escapes * 2 < #s / 3 then return "quoted-printable" end
  return "base64"
end

local function text_part(s, subtype, what)
  if type(s) ~= "string" then error("mime.message: " .. what .. " must be a string", 4) end
  if not core.hdr.utf8_valid(s) then error("mime.message: " .. what .. " is not UTF-8", 4) end
  s = core.eol.normalize(s)
  local cte = text_encoding(s)
  local body = s
  if cte == "quoted-printable" then
    body = core.qp.encode(s)
  elseif cte == "base64" then
    body = core.b64.encode(s)
  end
  return { ctype = "text/" .. subtype, params = { { "charset", "utf-8" } }, cte = cte,
    body = body, headers = {} }
end

local function basename(path)
  return path:match("([^/\\]+)$") or path
end

local function check_ctype(ct, level)
  if type(ct) ~= "string" or not ct:match("^[%w!#$&^_.+-]+/[%w!#$&^_.+-]+$") then
    error("mime.message: invalid content_type " .. string.format("%q", tostring(ct)), level + 1)
  end
  return ct:lower()
end

local function file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function attachment_part(a, i)
  local what = "mime.message: attachments[" .. i .. "]"
  if type(a) ~= "table" then error(what .. " must be a table", 4) end
  local given = (a.path and 1 or 0) + (a.content and 1 or 0) + (a.source and 1 or 0)
  if given ~= 1 then error(what .. " needs exactly one of path, content, source", 4) end
  local p = { headers = {}, params = {} }
  local filename = a.filename
  if a.path then
    header.check(a.path, what .. ".path", 3)
    local f, err = io.open(a.path, "rb")
    if not f then return nil, "mime.message: cannot read attachment: " .. err, "EIO" end
    f:close()
    filename = filename or basename(a.path)
    p.stream = { path = a.path }
    p.size = file_size(a.path)
  elseif a.source then
    if type(a.source) ~= "function" then error(what .. ".source must be a function", 4) end
    if a.size ~= nil and (type(a.size) ~= "number" or a.size < 0) then
      error(what .. ".size must be a non-negative number", 4)
    end
    p.stream = { source = a.source }
    p.size = a.size
  else
    if type(a.content) ~= "string" then error(what .. ".content must be a string", 4) end
  end
  if filename ~= nil then header.check(filename, what .. ".filename", 3) end
  p.ctype = a.content_type and check_ctype(a.content_type, 3) or types.for_name(filename or "")
  if a.content then
    local c = a.content
    -- exact bytes: 7bit only when that changes nothing, else base64
    if p.ctype:find("^text/") and not c:find("[%z\1-\8\11\12\14-\31\127-\255]")
        and not c:gsub("\r\n", ""):find("[\r\n]") and max_line(c) <= 78 then
      p.cte, p.body = "7bit", c
    else
      p.cte, p.body = "base64", core.b64.encode(c)
    end
  else
    p.cte = "base64"
  end
  local disp = a.inline and "inline" or "attachment"
  if filename then
    p.params[#p.params + 1] = { "name", filename }
    p.disposition = { disp, { { "filename", filename } } }
  else
    p.disposition = { disp, {} }
  end
  if a.cid ~= nil then
    header.check(a.cid, what .. ".cid", 3)
    p.headers[#p.headers + 1] = { "Content-ID", "<" .. a.cid:gsub("^<", ""):gsub(">$", "") .. ">" }
  end
  p.inline = a.inline and true or false
  return p
end

local function multipart(subtype, parts)
  return { ctype = "multipart/" .. subtype, params = {}, parts = parts, headers = {} }
end

-- The part tree: mixed(alternative(text, related(html, inline...)), attachments...)
-- with each level present only when needed.
local function body_tree(spec)
  local text = spec.text and text_part(spec.text, "plain", "text")
  local html = spec.html and text_part(spec.html, "html", "html")
  local inline, attached = {}, {}
  for i, a in ipairs(spec.attachments or {}) do
    local p, err, code = attachment_part(a, i)
    if not p then return nil, err, code end
    if p.inline and html then inline[#inline + 1] = p else attached[#attached + 1] = p end
  end
  if html and #inline > 0 then
    table.insert(inline, 1, html)
    html = multipart("related", inline)
  end
  local body
  if text and html then
    body = multipart("alternative", { text, html })
  else
    body = text or html
  end
  if #attached > 0 then
    if body then table.insert(attached, 1, body) end
    body = multipart("mixed", attached)
  end
  return body or text_part("", "plain", "text")
end

-- Boundaries are random and contain "=_", which neither base64 nor
-- quoted-printable output can hold; 7bit bodies are checked.
local function set_boundaries(root)
  local plain = {}
  local function collect(p)
    if p.parts then
      for _, c in ipairs(p.parts) do collect(c) end
    elseif p.cte == "7bit" then
      plain[#plain + 1] = p.body
    end
  end
  collect(root)
  local depth = 0
  local function assign(p)
    if not p.parts then return end
    depth = depth + 1
    repeat
      p.boundary = "=_lm" .. depth .. "_" .. random_hex(12)
      local clash = false
      for _, b in ipairs(plain) do
        if b:find(p.boundary, 1, true) then clash = true end
      end
    until not clash
    p.params = { { "boundary", p.boundary } }
    for _, c in ipairs(p.parts) do assign(c) end
  end
  assign(root)
end

-- ---- serialisation ----

local function must(field, err)
  if not field then error("mime.message: " .. err, 4) end
  return field
end

local function part_header(p)
  local t = { must(header.fold("Content-Type", header.with_params(p.ctype, p.params))) }
  if p.cte then t[#t + 1] = "Content-Transfer-Encoding: " .. p.cte .. "\r\n" end
  if p.disposition then
    t[#t + 1] = must(header.fold("Content-Disposition",
      header.with_params(p.disposition[1], p.disposition[2])))
  end
  for _, h in ipairs(p.headers) do t[#t + 1] = must(header.fold(h[1], h[2])) end
  return table.concat(t)
end

-- Appends the pieces of p's body; true when they end with CRLF (so the next
-- delimiter needs no line break of its own, RFC 2046 5.1.1).
local function render(p, pieces)
  if p.parts then
    for _, c in ipairs(p.parts) do
      pieces[#pieces + 1] = "--" .. p.boundary .. "\r\n" .. part_header(c) .. "\r\n"
      if not render(c, pieces) then pieces[#pieces + 1] = "\r\n" end
    end
    pieces[#pieces + 1] = "--" .. p.boundary .. "--\r\n"
    return true
  end
  if p.stream then
    pieces[#pieces + 1] = p
    return true -- the encoder ends every line, the last one too
  end
  pieces[#pieces + 1] = p.body
  return p.cte == "base64"
end

local function render_field(h)
  if h.kind == "addr" then return header.fold(h.name, header.mailbox_list(h.value)) end
  if h.kind == "text" then return header.fold(h.name, header.text(h.name, h.value)) end
  return header.fold(h.name, h.value)
end

function Message:_pieces()
  local t = {}
  for _, h in ipairs(self._headers) do
    local f, err = render_field(h)
    if not f then error("mime.message: " .. err, 3) end
    t[#t + 1] = f
  end
  t[#t + 1] = "MIME-Version: 1.0\r\n"
  t[#t + 1] = part_header(self._body)
  t[#t + 1] = "\r\n"
  local pieces = { table.concat(t) }
  render(self._body, pieces)
  return pieces
end

local function read_stream(piece)
  local s = piece.stream
  local enc = core.b64.encoder(76)
  local fh, done = nil, false
  return function()
    if done then return nil end
    while true do
      local chunk, err
      if s.path then
        if not fh then
          local e
          fh, e = io.open(s.path, "rb")
          if not fh then return nil, "mime: cannot read attachment: " .. e end
        end
        chunk = fh:read(CHUNK)
      else
        chunk, err = s.source()
        if err then return nil, err end
      end
      if chunk == nil then
        if fh then fh:close() end
        done = true
        return enc:finish()
      end
      local out = enc:step(chunk)
      if out ~= "" then return out end
    end
  end
end

--- An LTN12 source producing the message, CRLF line ends, attachments
-- read and encoded chunk by chunk (bounded memory for any size).
---@return fun(): string|nil, string?
function Message:source()
  local pieces, i, sub = self:_pieces(), 0, nil
  return function()
    while true do
      if sub then
        local chunk, err = sub()
        if err then return nil, err end
        if chunk then
          if chunk ~= "" then return chunk end
        else
          sub = nil
        end
      else
        i = i + 1
        local p = pieces[i]
        if p == nil then return nil end
        if type(p) == "string" then
          if p ~= "" then return p end
        else
          sub = read_stream(p)
        end
      end
    end
  end
end

--- The whole message as a string (the concatenation of msg:source()).
---@return string|nil message, string? err
function Message:to_string()
  local out, src = {}, self:source()
  while true do
    local chunk, err = src()
    if err then return nil, err, "EIO" end
    if chunk == nil then return table.concat(out) end
    out[#out + 1] = chunk
  end
end

local function b64_size(n)
  if n == 0 then return 0 end
  local chars = math.ceil(n / 3) * 4
  return chars + 2 * math.ceil(chars / 76)
end

--- The exact size in bytes of msg:to_string(), or nil when an attachment
-- comes from a source without a size (for the SMTP SIZE extension).
---@return integer|nil
function Message:size()
  local n = 0
  for _, p in ipairs(self:_pieces()) do
    if type(p) == "string" then
      n = n + #p
    elseif p.size then
      n = n + b64_size(p.size)
    else
      return nil
    end
  end
  return n
end

--- The envelope recipients: the addresses of To, Cc and bcc, each once,
-- in that order. Bcc never appears in the header block.
---@return string[]
function Message:recipients()
  local out, seen = {}, {}
  local function add(list)
    for _, a in ipairs(list) do
      local key = a.addr:lower()
      if not seen[key] then
        seen[key] = true
        out[#out + 1] = a.addr
      end
    end
  end
  for _, h in ipairs(self._headers) do
    local n = h.name:lower()
    if n == "to" or n == "cc" then add(h.value) end
  end
  add(self._bcc)
  return out
end

local function display(h)
  if h.kind ~= "addr" then return h.value end
  local t = {}
  for i, a in ipairs(h.value) do
    t[i] = a.name ~= "" and (a.name .. " <" .. a.addr .. ">") or a.addr
  end
  return table.concat(t, ", ")
end

--- The first value of header `name` as it was given (addresses as
-- "Name <addr>"), or nil.
---@param name string
---@return string|nil
function Message:header(name)
  local want = name:lower()
  for _, h in ipairs(self._headers) do
    if h.name:lower() == want then return display(h) end
  end
  return nil
end

local function make_field(name, value, level)
  header.check_name(name, level + 1)
  local key = name:lower()
  if key == "bcc" then
    error("mime.message: Bcc never goes into the header; give bcc = {...} to mime.message",
      level + 1)
  end
  if OWNED[key] then
    error("mime.message: " .. name .. " is written by the builder from the body options", level + 1)
  end
  if ADDRESS_FIELDS[key] then
    return { name = name, kind = "addr", value = M.address_list(value, name, level + 1) }
  end
  header.check(value, "mime.message: header " .. name, level + 1)
  -- ASCII values go as they are (a structured field must not be
  -- re-encoded); others are unstructured text in RFC 2047 words
  local f = { name = name, kind = value:find("[\1-\8\11-\31\127-\255]") and "text" or "raw",
    value = value }
  local ok, err = render_field(f)
  if not ok then error("mime.message: " .. err, level + 1) end
  return f
end

--- Replaces every `name` field by one with `value` (at the place of the
-- first; appended when there was none).
function Message:set_header(name, value)
  local f = make_field(name, value, 2)
  local want, at, kept = name:lower(), nil, {}
  for _, h in ipairs(self._headers) do
    if h.name:lower() == want then
      if not at then at = #kept + 1 end
    else
      kept[#kept + 1] = h
    end
  end
  table.insert(kept, at or #kept + 1, f)
  self._headers = kept
  return self
end

--- Appends a `name` field (repeats allowed; order kept).
function Message:add_header(name, value)
  self._headers[#self._headers + 1] = make_field(name, value, 2)
  return self
end

-- ---- construction ----

--- Mailboxes from one address or a list of them (strings "Name <addr>",
-- "addr", or tables {name = , addr = }).
function M.address_list(v, what, level)
  local list = {}
  if type(v) == "table" and v.addr == nil and v.name == nil then
    for i, one in ipairs(v) do
      for _, a in ipairs(header.mailboxes(one, "mime.message: " .. what .. "[" .. i .. "]",
        level + 1)) do
        list[#list + 1] = a
      end
    end
  else
    list = header.mailboxes(v, "mime.message: " .. what, level + 1)
  end
  return list
end

local KNOWN = {
  from = true, to = true, cc = true, bcc = true, reply_to = true, sender = true, subject = true,
  date = true, message_id = true, headers = true, text = true, html = true, attachments = true,
}

local function date_value(d)
  if d == nil then return header.date(os.time()) end
  if type(d) == "number" then return header.date(math.floor(d)) end
  header.check(d, "mime.message: date", 4)
  if not core.hdr.date(d) then error("mime.message: date is not an RFC 5322 date: " .. d, 4) end
  return d
end

local function message_id(v, from)
  if v ~= nil then
    header.check(v, "mime.message: message_id", 4)
    local id = v:match("^<(.*)>$") or v
    if not id:match("^[^<>%s@]+@[^<>%s@]+$") then
      error("mime.message: message_id must look like <left@right>", 4)
    end
    return "<" .. id .. ">"
  end
  local domain = from[1].addr:match("@([^@]+)$")
  if not domain or domain:find("^%[") then domain = "localhost" end
  return "<" .. random_hex(16) .. "@" .. domain .. ">"
end

--- Builds a message; see docs/mime.md. Misuse (wrong types, CR/LF/NUL in a
-- header value, unknown fields) raises; an attachment that cannot be read
-- returns nil, message, "EIO".
---@param spec table
---@return table|nil msg, string? err, string? code
function M.message(spec)
  if type(spec) ~= "table" then error("mime.message: bad argument #1 (table expected)", 2) end
  for k in pairs(spec) do
    if not KNOWN[k] then error("mime.message: unknown field '" .. tostring(k) .. "'", 2) end
  end
  if spec.from == nil then error("mime.message: from is required", 2) end
  local h = {}
  local from = M.address_list(spec.from, "from", 2)
  h[#h + 1] = { name = "From", kind = "addr", value = from }
  for _, f in ipairs({ { "to", "To" }, { "cc", "Cc" }, { "reply_to", "Reply-To" },
    { "sender", "Sender" } }) do
    local v = spec[f[1]]
    if v ~= nil then
      h[#h + 1] = { name = f[2], kind = "addr", value = M.address_list(v, f[1], 2) }
    end
  end
  if spec.subject ~= nil then
    h[#h + 1] = { name = "Subject", kind = "text", value = header.check(spec.subject,
      "mime.message: subject", 2) }
  end
  h[#h + 1] = { name = "Date", kind = "raw", value = date_value(spec.date) }
  h[#h + 1] = { name = "Message-ID", kind = "raw", value = message_id(spec.message_id, from) }
  local msg = setmetatable({ _headers = h, _bcc = {} }, Message)
  if spec.bcc ~= nil then msg._bcc = M.address_list(spec.bcc, "bcc", 2) end
  if spec.headers ~= nil then
    if type(spec.headers) ~= "table" then error("mime.message: headers must be a list", 2) end
    for i, pair in ipairs(spec.headers) do
      if type(pair) ~= "table" or #pair ~= 2 then
        error("mime.message: headers[" .. i .. "] must be {name, value}", 2)
      end
      msg:add_header(pair[1], pair[2])
    end
  end
  if spec.attachments ~= nil and type(spec.attachments) ~= "table" then
    error("mime.message: attachments must be a list", 2)
  end
  local body, err, code = body_tree(spec)
  if not body then return nil, err, code end
  set_boundaries(body)
  msg._body = body
  return msg
end

return M
