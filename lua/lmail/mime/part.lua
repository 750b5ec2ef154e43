--- lmail.mime.part: the methods of a parsed message and of each of its
-- parts (mime.parse builds them). A part is a table:
--   part.content_type   "text/plain" (lower case; RFC 2045 defaults applied)
--   part.kind           "leaf" | "multipart" | "message"
--   part.parts          child parts (multipart; for a message part, the one
--                       enclosed message), nil for leaves
--   part.message        the enclosed message of a message/rfc822 part
--   part.depth          0 for the message itself
-- and, computed when first read: part.params, part.charset,
-- part.disposition, part.filename, part.cid, part.transfer_encoding,
-- part.size, part.preamble, part.epilogue.
local core = require "lmail.core"

local hdr = core.hdr

local Part = {}
local lazy = {}

local NOTHING = {}

local function lower(s)
  return s and s:lower()
end

local function warn(self, text)
  local w = self._ctx.warnings
  w[#w + 1] = text
end

-- Decoding warnings of lm_hdr.h (LM_HDR_W_*), as text.
local WORD_WARNINGS = {
  [1] = "malformed encoded word kept verbatim",
  [2] = "unknown charset",
  [4] = "invalid bytes for their charset replaced by U+FFFD",
  [8] = "decoded text contains CR, LF or NUL",
  [16] = "malformed parameter list",
  [32] = "RFC 2231 continuations with gaps or repeats",
}

-- bits has flag `bit` (a power of two); portable to Lua 5.1.
local function has(bits, bit)
  return bits % (2 * bit) >= bit
end

local function warn_bits(self, bits, what)
  if bits == 0 then return end
  for bit = 1, 32 do
    if WORD_WARNINGS[bit] and has(bits, bit) then warn(self, what .. ": " .. WORD_WARNINGS[bit]) end
  end
end

--- The first raw (unfolded, undecoded) value of header `name`, or nil.
---@param name string
---@return string|nil
function Part:header_raw(name)
  local want = name:lower()
  for _, h in ipairs(self.headers_) do
    if h[1]:lower() == want then return h[2] end
  end
  return nil
end

local function decode(self, raw, what)
  local s, bits = hdr.decode_words(raw)
  warn_bits(self, bits, what)
  return s
end

--- The first value of header `name`, RFC 2047-decoded to UTF-8, or nil.
---@param name string
---@return string|nil
function Part:header(name)
  local raw = self:header_raw(name)
  if raw == nil then return nil end
  return decode(self, raw, name)
end

--- Every value of header `name` in order, decoded (an empty list if none).
---@param name string
---@return string[]
function Part:header_all(name)
  local want, out = name:lower(), {}
  for _, h in ipairs(self.headers_) do
    if h[1]:lower() == want then out[#out + 1] = decode(self, h[2], name) end
  end
  return out
end

--- The header fields in order: a list of {name, value} (raw values).
---@return table[]
function Part:headers()
  local out = {}
  for i, h in ipairs(self.headers_) do out[i] = { h[1], h[2] } end
  return out
end

--- The mailboxes of every `name` field (groups flattened):
-- { {name = "Zhang San", addr = "zs@example.test" [, group = "..."]}, ... },
-- or nil, message, "EINVAL" for a malformed or ambiguous list.
---@param name string
function Part:addresses(name)
  local want, out = name:lower(), {}
  for _, h in ipairs(self.headers_) do
    if h[1]:lower() == want then
      local list, err, code = hdr.addresses(h[2])
      if not list then return nil, name .. ": " .. err, code end
      for _, a in ipairs(list) do out[#out + 1] = a end
    end
  end
  return out
end

--- The Date field as seconds since the epoch (UTC), or nil.
---@return integer|nil
function Part:date()
  local raw = self:header_raw("Date")
  return raw and (hdr.date(raw))
end

local function slice(self, s, e)
  if not s then return nil end
  return self._ctx.raw:sub(s + 1, e)
end

--- The transfer-decoded bytes of a leaf; the raw enclosed message of a
-- message part; nil for a multipart.
---@return string|nil
function Part:body()
  if self.kind == "multipart" then return nil end
  if self.kind == "message" then return slice(self, self._body, self._stop) end
  -- RFC 2045 6: base64 and quoted-printable decoded leniently, straight
  -- from the message string, with a warning for what had to be skipped
  local out, warning = core.mime.decode_body(self._ctx.raw, self._body, self._stop,
    self.transfer_encoding)
  if warning then warn(self, warning) end
  return out
end

--- Same as part:body(), the name attachments use.
Part.content = Part.body

--- Writes part:content() to the file `path` (binary).
---@param path string
---@return boolean|nil ok, string? err, string? code
function Part:save(path)
  local data = self:content()
  if data == nil then return nil, "part:save: a multipart has no content", "EINVAL" end
  local f, err = io.open(path, "wb")
  if not f then return nil, "part:save: " .. err, "EIO" end
  local ok, werr = f:write(data)
  local cok, cerr = f:close()
  if not ok or not cok then return nil, "part:save: " .. tostring(werr or cerr), "EIO" end
  return true
end

--- Depth-first iterator over this part and everything under it (the
-- messages inside message parts too), in document order.
function Part:walk()
  local stack = { self }
  return function()
    local p = table.remove(stack)
    if p and p.parts then
      for i = #p.parts, 1, -1 do stack[#stack + 1] = p.parts[i] end
    end
    return p
  end
end

-- Walk that does not enter message parts (a forwarded message's body is
-- not this message's body or attachments).
local function own_parts(self)
  local out, stack = {}, { self }
  while #stack > 0 do
    local p = table.remove(stack)
    out[#out + 1] = p
    if p.kind == "multipart" then
      for i = #p.parts, 1, -1 do stack[#stack + 1] = p.parts[i] end
    end
  end
  return out
end

local function is_attachment(p)
  if p.kind == "multipart" then return false end
  if p.disposition == "attachment" or p.kind == "message" then return true end
  local ct = p.content_type
  return ct ~= "text/plain" and ct ~= "text/html"
end

local function text_of(self, ctype)
  for _, p in ipairs(own_parts(self)) do
    if p.kind == "leaf" and p.content_type == ctype and not is_attachment(p) then
      return p:text_content()
    end
  end
  return nil
end

--- The part's decoded body converted from its charset to UTF-8 (unknown
-- charsets and invalid bytes are warnings; bytes become U+FFFD).
---@return string|nil
function Part:text_content()
  local raw = self:body()
  if raw == nil then return nil end
  local cs = self.charset or "us-ascii"
  local s, flags = hdr.to_utf8(raw, cs)
  if has(flags, 1) then warn(self, "unknown charset '" .. cs .. "' read as UTF-8") end
  if has(flags, 2) then warn(self, "invalid bytes for charset '" .. cs .. "' replaced") end
  return s
end

--- The best text/plain body (not an attachment, not inside a forwarded
-- message), converted to UTF-8; nil if there is none.
function Part:text()
  return text_of(self, "text/plain")
end

--- The best text/html body, as part:text().
function Part:html()
  return text_of(self, "text/html")
end

--- The attachments: leaf parts with Content-Disposition attachment or a
-- type other than text/plain and text/html (inline images included), and
-- message parts (whole, not entered).
---@return table[]
function Part:attachments()
  local out = {}
  for _, p in ipairs(own_parts(self)) do
    if p ~= self and is_attachment(p) then out[#out + 1] = p end
  end
  if #out == 0 and self.kind ~= "multipart" and self.depth > 0 and is_attachment(self) then
    out[1] = self
  end
  return out
end

-- Lazily computed fields.

function lazy.params(self)
  local raw = self:header_raw("Content-Type")
  if not raw then return {} end
  local _, params, bits = hdr.params(raw, "type")
  warn_bits(self, bits, "Content-Type")
  return params
end

function lazy.charset(self)
  local cs = self.params.charset
  return cs and cs:lower()
end

local function disposition(self)
  local raw = self:header_raw("Content-Disposition")
  if not raw then return nil, {} end
  local value, params, bits = hdr.params(raw, "disposition")
  warn_bits(self, bits, "Content-Disposition")
  return value ~= "" and value or nil, params
end

function lazy.disposition(self)
  local d, params = disposition(self)
  rawset(self, "disposition_params", params)
  return d
end

function lazy.disposition_params(self)
  local _, params = disposition(self)
  return params
end

function lazy.filename(self)
  local name = self.disposition_params.filename or self.params.name
  if not name then return nil end
  return (name:gsub("^%s+", ""):gsub("%s+$", ""))
end

function lazy.cid(self)
  local raw = self:header_raw("Content-ID")
  return raw and raw:match("^%s*<?(.-)>?%s*$")
end

function lazy.transfer_encoding(self)
  local raw = self:header_raw("Content-Transfer-Encoding")
  return raw and lower(raw:match("^%s*(.-)%s*$")) or "7bit"
end

function lazy.size(self)
  local b = self:body()
  return b and #b
end

function lazy.preamble(self)
  return slice(self, self._pre, self._pre_stop)
end

function lazy.epilogue(self)
  return slice(self, self._epi, self._epi_stop)
end

local meta = {}

function meta.__index(t, k)
  local m = Part[k]
  if m ~= nil then return m end
  local f = lazy[k]
  if not f then return nil end
  local cache = rawget(t, "_lazy")
  if cache[k] ~= nil then
    if cache[k] == NOTHING then return nil end
    return cache[k]
  end
  local v = f(t)
  cache[k] = v == nil and NOTHING or v
  return v
end

local part = { methods = Part, meta = meta }

--- A new empty part (used by the parser).
function part.new(ctx, depth)
  return setmetatable({ _ctx = ctx, _lazy = {}, depth = depth, headers_ = {} }, meta)
end

return part
