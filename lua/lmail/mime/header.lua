--- lmail.mime.header: writing header fields for mime.message: checks
-- against header injection, RFC 2047 encoding of non-ASCII text, mailbox
-- formatting, RFC 2231 parameters and folding at 78 columns with the
-- 998-octet limit (RFC 5322 2.1.1, 2.2.3).
local core = require "lmail.core"

local header = {}

local hdr = core.hdr

local FOLD_AT = 78
local LINE_MAX = 998

--- Raises unless v is a string without CR, LF or NUL (header injection).
---@param v any
---@param what string  what the value is, for the message
---@param level integer
function header.check(v, what, level)
  if type(v) ~= "string" then
    error(what .. " must be a string, got " .. type(v), level + 1)
  end
  if v:find("[\r\n%z]") then
    error(what .. " contains CR, LF or NUL (header injection refused)", level + 1)
  end
  if not hdr.utf8_valid(v) then error(what .. " is not valid UTF-8", level + 1) end
  return v
end

--- Raises unless name is a valid field name (RFC 5322 3.6.8: printable
-- ASCII except ':').
function header.check_name(name, level)
  if type(name) ~= "string" or name == "" or name:find("[^\33-\57\59-\126]") then
    error("mime.message: invalid header name " .. string.format("%q", tostring(name)),
      level + 1)
  end
  return name
end

--- Folds "Name: value" into lines of at most 78 columns where white space
-- allows, never more than 998 octets; returns the field with CRLF.
---@param name string
---@param value string
---@return string|nil field, string? err
function header.fold(name, value)
  local line = name .. ": " .. value
  if #line <= FOLD_AT then return line .. "\r\n" end
  local out, start = {}, 1
  while #line - start + 1 > FOLD_AT do
    -- fold before the last white space that keeps this line within 78
    -- columns, else before the first one after that (never the space
    -- right after the colon)
    local best, pos = nil, start + 1
    while true do
      local sp = line:find("[ \t]", pos)
      if not sp then break end
      if not (start == 1 and sp == #name + 2) then
        if sp - start <= FOLD_AT then
          best = sp
        else
          best = best or sp
          break
        end
      end
      pos = sp + 1
    end
    if not best then break end
    out[#out + 1] = line:sub(start, best - 1)
    start = best
  end
  out[#out + 1] = line:sub(start)
  for _, l in ipairs(out) do
    if #l > LINE_MAX then
      return nil, "header " .. name .. " has a line longer than 998 octets that cannot be folded"
    end
  end
  return table.concat(out, "\r\n") .. "\r\n"
end

--- Encodes unstructured text (Subject, custom fields) for a field named
-- `name`: non-ASCII words become RFC 2047 words, the first sized for the
-- rest of the first line.
function header.text(name, value)
  return assert(hdr.encode_words(value, nil, "text", FOLD_AT - #name - 2))
end

--- Parses a mailbox given as "Name <addr>", "addr" or {name = , addr = }
-- into {name = , addr = }; raises on anything else (one mailbox only when
-- one is asked).
function header.mailboxes(v, what, level)
  local list = {}
  if type(v) == "table" and (v.addr ~= nil or v.name ~= nil) then
    local addr = header.check(v.addr, what .. ".addr", level + 1)
    local name = v.name ~= nil and header.check(v.name, what .. ".name", level + 1) or ""
    local parsed = hdr.addresses(addr)
    if not parsed or #parsed ~= 1 or parsed[1].name ~= "" or parsed[1].group then
      error(what .. ": not a single address: " .. string.format("%q", addr), level + 1)
    end
    list[1] = { name = name, addr = parsed[1].addr }
  else
    header.check(v, what, level + 1)
    local parsed, err = hdr.addresses(v)
    if not parsed then error(what .. ": " .. err, level + 1) end
    for _, a in ipairs(parsed) do list[#list + 1] = { name = a.name, addr = a.addr } end
    if #list == 0 then error(what .. ": no address in " .. string.format("%q", v), level + 1) end
  end
  for _, a in ipairs(list) do
    if not a.addr:find("@", 1, true) or a.addr:find("^@") or a.addr:find("@$") then
      error(what .. ": " .. string.format("%q", a.addr) .. " is not local@domain", level + 1)
    end
  end
  return list
end

--- "Name <addr>" with the name as an RFC 5322 phrase (atoms, a quoted
-- string, or RFC 2047 words), or the bare address.
function header.mailbox(a)
  if a.name == nil or a.name == "" then return a.addr end
  return assert(hdr.encode_words(a.name, nil, "phrase", 40)) .. " <" .. a.addr .. ">"
end

function header.mailbox_list(list)
  local t = {}
  for i, a in ipairs(list) do t[i] = header.mailbox(a) end
  return table.concat(t, ", ")
end

-- RFC 2045 5.1 token characters.
local function is_token(s)
  return s ~= "" and not s:find("[%c \"(),/:;<=>?@%[\\%]\128-\255]")
end

-- RFC 2231 7 attribute-char: kept as they are in an extended value.
local function pct(s)
  return (s:gsub("[^%w!#$&+%-.^_`|~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function quoted(s)
  return '"' .. s:gsub('["\\]', "\\%0") .. '"'
end

--- "; name=value" parameter strings for a value: a token or quoted string
-- for ASCII; for anything else RFC 2231 (charset UTF-8, split into
-- continuations that fit a line) after an RFC 2047 fallback for old
-- readers (filename="=?UTF-8?B?...?=").
function header.param(name, value)
  local ascii = not value:find("[\128-\255]")
  if ascii and #value <= 900 then
    return { name .. "=" .. (is_token(value) and value or quoted(value)) }
  end
  local out = {}
  if not ascii then
    -- old readers take the name in RFC 2047 words (all of it encoded,
    -- as a phrase, so nothing is left for them to misread)
    local words = assert(hdr.encode_words(value, nil, "phrase", FOLD_AT - #name - 3))
    out[1] = name .. "=" .. quoted(words)
  end
  local enc = "UTF-8''" .. pct(value)
  if #name + #enc + 3 <= 70 then
    out[#out + 1] = name .. "*=" .. enc
    return out
  end
  local i, k = 1, 0
  while i <= #enc do
    local j = math.min(i + 59, #enc)
    -- never cut a %XX escape
    if enc:sub(j - 1, j - 1) == "%" then j = j - 2 elseif enc:sub(j, j) == "%" then j = j - 1 end
    out[#out + 1] = string.format("%s*%d*=%s", name, k, enc:sub(i, j))
    i, k = j + 1, k + 1
  end
  return out
end

--- "value; p1=...; p2=..." from a value and a list of {name, value}.
function header.with_params(value, params)
  local t = { value }
  for _, p in ipairs(params) do
    for _, s in ipairs(header.param(p[1], p[2])) do t[#t + 1] = s end
  end
  return table.concat(t, "; ")
end

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec" }

--- RFC 5322 3.3 date-time of t in the local zone ("Tue, 1 Jul 2003 10:52:37 +0200").
---@param t integer
---@return string
function header.date(t)
  local lt = os.date("*t", t)
  local ut = os.date("!*t", t)
  ut.isdst = lt.isdst
  local off = math.floor(os.difftime(t, os.time(ut)) / 60 + 0.5)
  local sign = off < 0 and "-" or "+"
  off = math.abs(off)
  return string.format("%s, %d %s %04d %02d:%02d:%02d %s%02d%02d", DAYS[lt.wday], lt.day,
    MONTHS[lt.month], lt.year, lt.hour, lt.min, lt.sec, sign, math.floor(off / 60), off % 60)
end

return header
