-- bench/qp_bench.lua: the Lua side of bench/bench_qp.sh. Times lmail's
-- quoted-printable codec, CRLF normaliser and dot-stuffer, and LuaSocket's
-- mime.qp / mime.unqp / mime.eol / mime.dot on the same data, through Lua.
-- Also writes the text and lmail's encoding of it to files so the Python
-- peers run on the very same bytes. Prints "name median_MB/s", where MB
-- always counts bytes of the plain text (so encode and decode compare).
-- Usage: lua5.4 bench/qp_bench.lua MIB REPS TEXT_FILE ENCODED_FILE
local core = require "lmail.core"
local lmime = require "lmail.mime"
local mib, reps = tonumber(arg[1] or 16), tonumber(arg[2] or 7)
local text_file, enc_file = arg[3], arg[4]
local n = mib * 1048576

-- Realistic mail text: words of ASCII letters, some UTF-8 (2% of words),
-- lines of 30-90 characters ended by CRLF (MIB MiB and a line), a few starting with a dot.
local function make_text()
  local state = 12345
  local function rand(k)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % k + 1
  end
  local words = {}
  for i = 1, 500 do
    local w = {}
    for j = 1, rand(9) do w[j] = string.char(96 + rand(26)) end
    words[i] = table.concat(w)
  end
  for _, w in ipairs({ "Grüße", "café", "naïve", "Ünïcödé", "日本語", "€100" }) do
    for _ = 1, 2 do words[#words + 1] = w end
  end
  local lines, size = {}, 0
  while size < n do
    local len, line = 30 + rand(60), {}
    local width = 0
    if rand(100) == 1 then line[1], width = ".", 1 end
    while width < len do
      local w = words[rand(#words)]
      line[#line + 1] = w
      width = width + #w + 1
    end
    local s = table.concat(line, " ")
    lines[#lines + 1] = s
    size = size + #s + 2
  end
  return table.concat(lines, "\r\n") .. "\r\n"
end

local text = make_text()
n = #text
local lf_text = text:gsub("\r\n", "\n")

local function time_once(fn, input)
  collectgarbage()
  collectgarbage()
  local t0 = os.clock()
  local out = fn(input)
  local t = os.clock() - t0
  assert(out)
  return t
end

local function median(t)
  table.sort(t)
  return n / t[(reps + 1) // 2] / 1e6
end

-- Each side's runs come back to back, right after the other's, so each is
-- timed in its own steady state (its big blocks reused warm by malloc).
-- Alternating the two sides instead makes every large block come fresh
-- from the kernel (page faults and zeroing, costly in a VM) for both, and
-- then that cost, not the codec, is what gets measured.
local function median_rates(fn, peer, input, peer_input)
  local a, b = {}, {}
  for r = 1, reps do a[r] = time_once(fn, input) end
  if peer then
    for r = 1, reps do b[r] = time_once(peer, peer_input or input) end
  end
  return median(a), peer and median(b)
end

local enc = lmime.qpencode(text)
assert(lmime.qpdecode(enc) == text, "lmail round trip")
local crlf = core.eol.normalize(lf_text)
assert(crlf == text, "lmail eol")
local stuffed = core.dot.stuff(text)

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end
if text_file then write(text_file, text) end
if enc_file then write(enc_file, enc) end

local ok, smime = pcall(require, "mime")
if not ok then
  io.stderr:write("qp_bench: LuaSocket's mime not found: ", tostring(smime), "\n")
  smime = nil
end
-- LuaSocket's mime.qp does not wrap lines (mime.qpwrp is a second pass), so
-- timing mime.qp alone favours it; its output decodes to the same text.
local ls = {}
if smime then
  ls.qp = function(s) return (smime.qp(s, nil, "\r\n")) end
  ls.qpfull = function(s) return (smime.qpwrp(0, (smime.qp(s, nil, "\r\n")), 76)) end
  ls.unqp = function(s) return (smime.unqp(s)) end
  ls.eol = function(s) return (smime.eol(0, s, "\r\n")) end
  ls.dot = function(s) return (smime.dot(2, s)) end
  assert(smime.unqp(ls.qpfull(text)) == text, "LuaSocket qp round trip")
  assert(smime.unqp(enc) == text, "LuaSocket decodes lmail's encoding")
  assert(ls.eol(lf_text) == text, "LuaSocket eol differs")
  assert(ls.dot(text) .. ".\r\n" == stuffed, "LuaSocket dot differs")
end

local function report(name, fn, peer, input)
  local mine, theirs = median_rates(fn, peer, input)
  print(string.format("lua-lmail-%s %.0f", name, mine))
  if theirs then print(string.format("lua-luasocket-%s %.0f", name, theirs)) end
end

report("qpenc", lmime.qpencode, ls.qp, text)
report("qpdec", lmime.qpdecode, ls.unqp, enc)
report("eol", core.eol.normalize, ls.eol, lf_text)
report("dot", core.dot.stuff, ls.dot, text)
if smime then
  local _, wrapped = median_rates(function() return "" end, ls.qpfull, text)
  print(string.format("lua-luasocket-qpenc-wrapped %.0f", wrapped))
end
