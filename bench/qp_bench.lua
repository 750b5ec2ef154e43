-- bench/qp_bench.lua: the Lua side of bench/bench_qp.sh: lmail's
-- quoted-printable codec, CRLF normaliser and dot-stuffer against LuaSocket's
-- mime.qp (+ mime.qpwrp) / mime.unqp / mime.eol / mime.dot, through Lua.
--
--   lua5.4 bench/qp_bench.lua prepare MIB DIR
--     writes DIR/text (MIB MiB of realistic mail text, CRLF lines), DIR/lf
--     (the same with LF line ends) and DIR/enc (lmail's quoted-printable
--     encoding of the text), and checks that every LuaSocket job gives bytes
--     equivalent to lmail's (the Python peers of bench_qp.sh read the same
--     files).
--   lua5.4 bench/qp_bench.lua IMPL JOB DIR RUNS
--     IMPL lmail | luasocket; JOB qpenc | qpenc-nowrap (LuaSocket only) |
--     qpdec | eol | dot. Times that one job in a process of its own, so no
--     measurement runs on a heap laid out by another; the job is called
--     untimed for WARMUP_CALLS calls and WARMUP_SECONDS of CPU time at least
--     (the first printed as "-cold": the first call of the process, page
--     faults of new memory included; see b64_bench.lua for why so long),
--     then RUNS times. Prints
--     "lua-IMPL-JOB median_MB/s", where MB always counts bytes of the plain
--     text, so encoders and decoders compare. bench_qp.sh runs every job's
--     process in turn, REPS rounds, and takes the median over the rounds.
local what = arg[1]

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Realistic mail text: words of ASCII letters, some UTF-8 (2% of words),
-- lines of 30-90 characters ended by CRLF (n bytes and a line), 1% of them
-- starting with a dot.
local function make_text(n)
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

-- LuaSocket's mime.qp does not wrap lines: RFC 2045 6.7 rule 5 takes the
-- second pass mime.qpwrp, and the pair is what gives what lmail's one call
-- gives (the no-wrap job times mime.qp alone, for reference).
local function luasocket_jobs(smime)
  return {
    qpenc = function(s) return (smime.qpwrp(0, (smime.qp(s, nil, "\r\n")), 76)) end,
    ["qpenc-nowrap"] = function(s) return (smime.qp(s, nil, "\r\n")) end,
    qpdec = function(s) return (smime.unqp(s)) end,
    eol = function(s) return (smime.eol(0, s, "\r\n")) end,
    dot = function(s) return (smime.dot(2, s)) end,
  }
end

local function lmail_jobs()
  local core = require "lmail.core"
  local lmime = require "lmail.mime"
  return {
    qpenc = lmime.qpencode,
    qpdec = lmime.qpdecode,
    eol = core.eol.normalize,
    dot = core.dot.stuff,
  }
end

if what == "prepare" then
  local n, dir = tonumber(arg[2]) * 1048576, arg[3]
  local text = make_text(n)
  local lf = text:gsub("\r\n", "\n")
  local lm = lmail_jobs()
  local enc = lm.qpenc(text)
  assert(lm.qpdec(enc) == text, "lmail round trip")
  assert(lm.eol(lf) == text, "lmail eol")
  local ok, smime = pcall(require, "mime")
  if ok then
    local ls = luasocket_jobs(smime)
    assert(smime.unqp(ls.qpenc(text)) == text, "LuaSocket qp round trip")
    assert(ls.qpdec(enc) == text, "LuaSocket decodes lmail's encoding")
    assert(ls.eol(lf) == text, "LuaSocket eol differs")
    assert(ls.dot(text) .. ".\r\n" == lm.dot(text), "LuaSocket dot differs")
  else
    io.stderr:write("qp_bench: LuaSocket's mime not found: ", tostring(smime), "\n")
  end
  spit(dir .. "/text", text)
  spit(dir .. "/lf", lf)
  spit(dir .. "/enc", enc)
  return
end

local WARMUP_CALLS, WARMUP_SECONDS = 3, 1.0
local job, dir, runs = arg[2], arg[3], tonumber(arg[4] or 5)
local jobs
if what == "lmail" then
  jobs = lmail_jobs()
elseif what == "luasocket" then
  local ok, smime = pcall(require, "mime")
  if not ok then
    io.stderr:write("qp_bench: LuaSocket's mime not found: ", tostring(smime), "\n")
    return
  end
  jobs = luasocket_jobs(smime)
end
local fn = jobs and jobs[job]
if not fn then
  error("usage: qp_bench.lua prepare MIB DIR | lmail|luasocket JOB DIR RUNS")
end
local text = slurp(dir .. "/text")
local n = #text
local input = ({ qpdec = dir .. "/enc", eol = dir .. "/lf" })[job]
input = input and slurp(input) or text

local function time_once()
  collectgarbage()
  collectgarbage()
  local t0 = os.clock()
  local out = fn(input)
  local t = os.clock() - t0
  assert(out)
  return t
end

local cold = time_once()
local warm, calls = cold, 1
while calls < WARMUP_CALLS or warm < WARMUP_SECONDS do
  warm, calls = warm + time_once(), calls + 1
end
local t = {}
for r = 1, runs do t[r] = time_once() end
table.sort(t)
print(string.format("lua-%s-%s %.0f", what, job, n / t[(runs + 1) // 2] / 1e6))
print(string.format("lua-%s-%s-cold %.0f", what, job, n / cold / 1e6))
