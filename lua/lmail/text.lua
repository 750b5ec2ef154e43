--- lmail.text: turning mail text into something safe to show or store.
-- Message headers, bodies and attachment names are chosen by whoever sent
-- the message. Before they reach a terminal or a file system they pass
-- through here:
--   text.sanitize(s)        no control characters, escapes or bidi overrides
--   text.width(s)           terminal columns of UTF-8 text (CJK counts 2)
--   text.fit(s, cols)       cut or pad to exactly cols columns
--   text.html_to_text(html) readable plain text from an HTML body
--   text.safe_filename(s)   a name that cannot leave its directory
-- Pure Lua, linear in the input, no allocation beyond the result.
local text = {}

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- Decodes one UTF-8 sequence at byte i: code point and next index, or nil
-- and i + 1 for a byte that does not start a valid, shortest-form sequence
-- (RFC 3629 section 3: no overlongs, no surrogates, nothing past U+10FFFF).
local function decode_at(s, i)
  local c = s:byte(i)
  if c < 0x80 then return c, i + 1 end
  local n, cp, min
  if c >= 0xC2 and c <= 0xDF then n, cp, min = 1, c - 0xC0, 0x80
  elseif c >= 0xE0 and c <= 0xEF then n, cp, min = 2, c - 0xE0, 0x800
  elseif c >= 0xF0 and c <= 0xF4 then n, cp, min = 3, c - 0xF0, 0x10000
  else return nil, i + 1 end
  for k = 1, n do
    local b = s:byte(i + k)
    if not b or b < 0x80 or b > 0xBF then return nil, i + 1 end
    cp = cp * 64 + (b - 0x80)
  end
  if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil, i + 1 end
  return cp, i + n + 1
end

-- Iterates over (code point or nil for an invalid byte, the bytes).
local function codepoints(s)
  local i = 1
  return function()
    if i > #s then return nil end
    local start = i
    local cp
    cp, i = decode_at(s, i)
    return cp or false, s:sub(start, i - 1)
  end
end

-- Code points that must never reach a terminal as they are: C0 and C1
-- controls (ESC starts terminal escape sequences), DEL, and the Unicode
-- bidirectional overrides and isolates that can make text display in an
-- order other than its bytes (CVE-2021-42574, "Trojan Source").
local function is_unsafe(cp)
  return cp < 0x20 or (cp >= 0x7F and cp <= 0x9F) or (cp >= 0x202A and cp <= 0x202E)
    or (cp >= 0x2066 and cp <= 0x2069) or cp == 0x200E or cp == 0x200F
    or cp == 0x061C
end

--- Replaces invalid UTF-8, control characters and bidi controls by U+FFFD
--- (or, with keep_newlines, keeps LF and TAB, for bodies). CR is dropped.
---@param s string
---@param keep_newlines? boolean
---@return string
function text.sanitize(s, keep_newlines)
  if not s:find("[%z\1-\31\127-\255]") then return s end
  local out = {}
  for cp, bytes in codepoints(s) do
    if cp == false then
      out[#out + 1] = REPLACEMENT
    elseif keep_newlines and (cp == 10 or cp == 9) then
      out[#out + 1] = bytes
    elseif cp == 13 and keep_newlines then
      -- CRLF line ends become LF; a lone CR would move the cursor.
      out[#out + 1] = ""
    elseif is_unsafe(cp) then
      out[#out + 1] = REPLACEMENT
    else
      out[#out + 1] = bytes
    end
  end
  return table.concat(out)
end

-- East Asian Wide and Fullwidth ranges (Unicode 15 EastAsianWidth.txt, W
-- and F, merged into the blocks where they occur) and the emoji blocks
-- that terminals draw two columns wide.
local WIDE = {
  { 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x23E9, 0x23EC },
  { 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF },
  { 0xA000, 0xA4CF }, { 0xA960, 0xA97F }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF },
  { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 },
  { 0x16FE0, 0x16FE4 }, { 0x17000, 0x18CFF }, { 0x1B000, 0x1B2FF }, { 0x1F004, 0x1F004 },
  { 0x1F0CF, 0x1F0CF }, { 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A }, { 0x1F200, 0x1F251 },
  { 0x1F300, 0x1F64F }, { 0x1F680, 0x1F6FF }, { 0x1F7E0, 0x1F7EB }, { 0x1F90C, 0x1F9FF },
  { 0x1FA70, 0x1FAFF }, { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
}

-- Combining marks and other code points that take no column of their own.
local ZERO = {
  { 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
  { 0x064B, 0x065F }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A }, { 0x0E47, 0x0E4E },
  { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200D }, { 0x20D0, 0x20FF },
  { 0x302A, 0x302D }, { 0x3099, 0x309A }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F },
  { 0xE0100, 0xE01EF },
}

local function in_ranges(ranges, cp)
  local lo, hi = 1, #ranges
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local r = ranges[mid]
    if cp < r[1] then hi = mid - 1
    elseif cp > r[2] then lo = mid + 1
    else return true end
  end
  return false
end

local function cp_width(cp)
  if cp == false then return 1 end         -- shown as U+FFFD
  if cp < 0x300 then return 1 end
  if in_ranges(ZERO, cp) then return 0 end
  if in_ranges(WIDE, cp) then return 2 end
  return 1
end

--- Columns a terminal uses for s (UTF-8; run text.sanitize first for
--- untrusted text). Wide East Asian characters count 2, combining marks 0.
---@param s string
---@return integer
function text.width(s)
  if not s:find("[\128-\255]") then return #s end
  local w = 0
  for cp in codepoints(s) do w = w + cp_width(cp) end
  return w
end

--- s cut (never inside a character; "…" marks the cut when cols allow) or
--- padded with spaces to exactly cols columns.
---@param s string
---@param cols integer
---@return string
function text.fit(s, cols)
  local w = text.width(s)
  if w <= cols then return s .. string.rep(" ", cols - w) end
  local out, used = {}, 0
  local room = cols > 1 and cols - 1 or cols
  for cp, bytes in codepoints(s) do
    local cw = cp_width(cp)
    if used + cw > room then break end
    out[#out + 1] = cp == false and REPLACEMENT or bytes
    used = used + cw
  end
  if cols > 1 then
    out[#out + 1] = "\226\128\166" -- U+2026
    used = used + 1
  end
  return table.concat(out) .. string.rep(" ", cols - used)
end

-- HTML named character references that mail actually uses (the full list
-- of the HTML standard has 2,231; unknown ones are left as written).
local ENTITIES = {
  amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = " ", copy = "©",
  reg = "®", trade = "™", hellip = "…", mdash = "—", ndash = "–", lsquo = "‘",
  rsquo = "’", ldquo = "“", rdquo = "”", bull = "•", middot = "·", euro = "€",
  pound = "£", yen = "¥", cent = "¢", deg = "°", times = "×", divide = "÷",
  laquo = "«", raquo = "»", shy = "", zwnj = "", zwj = "", ensp = " ", emsp = " ",
  thinsp = " ", iexcl = "¡", iquest = "¿", sect = "§", para = "¶", plusmn = "±",
  auml = "ä", ouml = "ö", uuml = "ü", Auml = "Ä", Ouml = "Ö", Uuml = "Ü", szlig = "ß",
  eacute = "é", egrave = "è", agrave = "à", aacute = "á", ccedil = "ç", ntilde = "ñ",
}

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  local f = math.floor
  if cp < 0x800 then return string.char(0xC0 + f(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + f(cp / 4096), 0x80 + f(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + f(cp / 262144), 0x80 + f(cp / 4096) % 64, 0x80 + f(cp / 64) % 64,
    0x80 + cp % 64)
end

local function decode_entity(ref)
  local num = ref:match("^#[xX](%x+)$")
  local cp = num and tonumber(num, 16)
  if not cp then
    num = ref:match("^#(%d+)$")
    cp = num and tonumber(num)
  end
  if cp then
    if cp == 0 or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return REPLACEMENT end
    return utf8_char(cp)
  end
  return ENTITIES[ref]
end

--- Decodes HTML character references (&amp; &#233; &#x4E2D; and the
--- common named ones); unknown names stay as written.
---@param s string
---@return string
function text.html_unescape(s)
  return (s:gsub("&(#?[%w]+);?", function(ref)
    return decode_entity(ref)
  end))
end

-- Elements whose content is not text to show.
local HIDDEN = { script = true, style = true, head = true, title = true, template = true,
                 noscript = true }
-- Elements that end a line, and those that end a paragraph.
local LINE = { br = true, tr = true, li = true, dt = true, dd = true, div = true,
               table = true, ul = true, ol = true, dl = true, section = true,
               article = true, header = true, footer = true, nav = true }
local PARA = { p = true, h1 = true, h2 = true, h3 = true, h4 = true, h5 = true, h6 = true,
               blockquote = true, pre = true, hr = true }

--- Readable plain text from an HTML body: scripts, styles and the head are
--- dropped, block elements end lines, list items get "- ", links keep
--- their address ("text <url>"), references are decoded, whitespace is
--- collapsed. Not a renderer: good enough to read a message in a terminal.
---@param html string
---@return string
function text.html_to_text(html)
  local out, i, n = {}, 1, #html
  local hidden, href, link_start = nil, nil, nil
  -- Line breaks asked for by block elements, written before the next text
  -- (so that nested blocks give one break, not several).
  local breaks = 0
  local function emit(s)
    if breaks > 0 and #out > 0 then out[#out + 1] = string.rep("\n", breaks) end
    breaks = 0
    out[#out + 1] = s
  end
  local function need(k) if k > breaks then breaks = k end end
  while i <= n do
    local lt = html:find("<", i, true)
    local chunk = html:sub(i, (lt or n + 1) - 1)
    if not hidden and chunk:find("%S") then
      emit((text.html_unescape(chunk:gsub("%s+", " "))))
    elseif not hidden and chunk ~= "" and breaks == 0 and #out > 0 then
      out[#out + 1] = " "
    end
    if not lt then break end
    if html:sub(lt, lt + 3) == "<!--" then
      local close = html:find("-->", lt + 4, true)
      i = close and close + 3 or n + 1
    else
      local gt = html:find(">", lt + 1, true)
      if not gt then break end
      local tag = html:sub(lt + 1, gt - 1)
      local closing, name = tag:match("^%s*(/?)%s*([%a][%w]*)")
      name = name and name:lower()
      if name then
        if hidden then
          if closing == "/" and name == hidden then hidden = nil end
        elseif HIDDEN[name] and closing == "" and not tag:find("/%s*$") then
          hidden = name
        elseif PARA[name] then
          need(2)
        elseif LINE[name] then
          need(1)
          if name == "li" and closing == "" then emit("- ") end
        elseif name == "a" and closing == "" then
          href = tag:match("[Hh][Rr][Ee][Ff]%s*=%s*\"([^\"]*)\"")
            or tag:match("[Hh][Rr][Ee][Ff]%s*=%s*'([^']*)'")
            or tag:match("[Hh][Rr][Ee][Ff]%s*=%s*([^%s>]+)")
          link_start = #out + 1
        elseif name == "a" and href then
          -- Only absolute addresses mean something outside the page; a
          -- link whose text already is its address is not repeated.
          local url = text.html_unescape(href):gsub("^mailto:", "")
          local shown = table.concat(out, "", link_start, #out):gsub("^%s+", ""):gsub("%s+$", "")
          if href:find("^%a[%w+.-]*:") and shown ~= url then emit(" <" .. url .. ">") end
          href = nil
        elseif name == "img" then
          local alt = tag:match("[Aa][Ll][Tt]%s*=%s*\"([^\"]*)\"")
          if alt and alt ~= "" then emit("[" .. text.html_unescape(alt) .. "]") end
        end
      end
      i = gt + 1
    end
  end
  local s = table.concat(out)
  s = s:gsub("  +", " "):gsub(" *\n *", "\n"):gsub("^%s+", ""):gsub("%s+$", "")
  return s == "" and "" or s .. "\n"
end

-- Names Windows reserves in any directory (with any extension); refusing
-- them costs nothing on other systems and keeps saved files portable.
local RESERVED = { CON = true, PRN = true, AUX = true, NUL = true }
for k = 1, 9 do RESERVED["COM" .. k] = true; RESERVED["LPT" .. k] = true end

local MAX_NAME = 200 -- bytes; file systems allow 255, leave room for " (12)"

--- A file name made from an attachment name that is safe to create in a
--- directory: no directory part (anything up to the last / or \ is
--- dropped), no "." or "..", no leading dot, no control or bidi
--- characters, none of / \ : * ? " < > |, at most 200 bytes (cut on a
--- character boundary, keeping the extension). Empty results become
--- fallback (default "attachment").
---@param name string|nil
---@param fallback? string
---@return string
function text.safe_filename(name, fallback)
  fallback = fallback or "attachment"
  local s = text.sanitize(name or "")
  s = s:gsub("\239\191\189", "_")
  s = s:match("([^/\\]*)$")
  s = s:gsub('[:*?"<>|]', "_"):gsub("%s+", " "):gsub("^[%s.]+", ""):gsub("[%s.]+$", "")
  if s == "" then return fallback end
  local base = s:match("^([^.]*)")
  if RESERVED[base:upper()] then s = "_" .. s end
  if #s > MAX_NAME then
    local ext = s:match("(%.[^.]+)$")
    if not ext or #ext > 20 then ext = "" end
    local keep = MAX_NAME - #ext
    -- Back up to the start of a UTF-8 sequence.
    while keep > 0 and (s:byte(keep + 1) or 0) >= 0x80 and (s:byte(keep + 1) or 0) < 0xC0 do
      keep = keep - 1
    end
    s = s:sub(1, keep) .. ext
  end
  return s
end

return text
