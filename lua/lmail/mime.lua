--- lmail.mime: MIME codecs (this file), message parsing (lmail.mime.parse,
-- lmail.mime.part) and building (lmail.mime.build). The codecs, the parser
-- and the header-field code are implemented in C (csrc/core).
local core = require "lmail.core"
local stream = require "lmail.stream"

local mime = {}

--- base64 (RFC 4648 alphabet); linelen 76 (default) wraps with CRLF per
-- RFC 2045 6.8, 0 produces one line.
-- mime.b64encode(s [, linelen]) -> string
mime.b64encode = core.b64.encode

--- mime.b64decode(s [, strict]) -> string | nil, msg, "EINVAL"
-- Lenient by default: whitespace and line breaks are skipped. Strict: any
-- character outside the alphabet is an error naming its offset.
mime.b64decode = core.b64.decode

--- mime.qpencode(s [, opts]) -> string. RFC 2045 6.7; opts.binary = true
-- encodes CR and LF as =0D =0A instead of keeping CRLF as hard line breaks.
mime.qpencode = core.qp.encode

--- mime.qpdecode(s) -> string; malformed escapes are kept verbatim.
mime.qpdecode = core.qp.decode

local function check_linelen(linelen)
  if linelen ~= nil and (type(linelen) ~= "number" or linelen % 4 ~= 0 or linelen < 0) then
    error("mime.encoder: opts.linelen must be 0 or a positive multiple of 4", 5)
  end
  return linelen
end

local encoders = {
  ["base64"] = function(opts) return core.b64.encoder(check_linelen(opts.linelen)) end,
  ["quoted-printable"] = function(opts) return core.qp.encoder(opts) end,
}
local decoders = {
  ["base64"] = function(opts) return core.b64.decoder(opts.strict) end,
  ["quoted-printable"] = function(opts) return core.qp.decoder(opts) end,
}

local function codec_filter(kind, table_, name, opts)
  if type(name) ~= "string" then
    error("mime." .. kind .. ": name must be a string", 3)
  end
  local make = table_[name:lower()]
  if not make then
    error("mime." .. kind .. ": unknown encoding '" .. name .. "'", 3)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("mime." .. kind .. ": opts must be a table", 3)
  end
  return stream.filter(make(opts or {}))
end

--- mime.encoder(name [, opts]) -> LTN12 filter ("base64" | "quoted-printable").
function mime.encoder(name, opts)
  return codec_filter("encoder", encoders, name, opts)
end

--- mime.decoder(name [, opts]) -> LTN12 filter ("base64" | "quoted-printable").
function mime.decoder(name, opts)
  return codec_filter("decoder", decoders, name, opts)
end

--- mime.decode_words(s) -> UTF-8 string: RFC 2047 encoded words decoded
-- and converted (adjacent words joined, invalid words kept verbatim).
---@param s string
---@return string
function mime.decode_words(s)
  if type(s) ~= "string" then error("mime.decode_words: bad argument #1 (string expected)", 2) end
  return (core.hdr.decode_words(s))
end

--- mime.encode_words(s [, charset]) -> RFC 2047 encoded words for a
-- header value: words that need it become =?UTF-8?B|Q?...?= (whichever is
-- shorter), at most 75 characters each, never splitting a character; the
-- rest is kept. CR, LF or NUL in s raise (header injection).
---@param s string
---@param charset string|nil
---@return string|nil encoded, string? err, string? code
function mime.encode_words(s, charset)
  if type(s) ~= "string" then error("mime.encode_words: bad argument #1 (string expected)", 2) end
  if s:find("[\r\n%z]") then
    error("mime.encode_words: text contains CR, LF or NUL (header injection refused)", 2)
  end
  if charset ~= nil and type(charset) ~= "string" then
    error("mime.encode_words: bad argument #2 (string expected)", 2)
  end
  return core.hdr.encode_words(s, charset, "text")
end

--- mime.parse(raw_or_source [, opts]) -> message | nil, msg, code
mime.parse = require("lmail.mime.parse").parse

--- mime.message{...} -> message (see docs/mime.md)
mime.message = require("lmail.mime.build").message

return mime
