--- lmail.transport.memory: a scripted transport for tests. It replays the
-- server side of a dialogue and checks, byte for byte, everything the client
-- writes. Same contract as lmail.transport.tcp (DESIGN.md section 3).
--
-- A script is a list of steps:
--   {"read", bytes}    the server sends bytes (the client receives them)
--   {"write", bytes}   the client must send exactly these bytes
--   {"close"}          the server closes: receive gives ECLOSED from here on
--   {"timeout"}        the next send or receive fails with ETIMEDOUT (no data lost)
-- or the same as transcript text, one step per line:
--   S: text            server line, CRLF appended       C: text   client line, CRLF appended
--   S= text            server bytes, no CRLF appended   C= text   client bytes, no CRLF
--                      (in S=/C= lines \r \n \t \\ and \xHH are escapes)
--   !close  !timeout   the events above;  # comment and blank lines are ignored
-- Adjacent steps of the same kind are merged, so "whole" delivers one server
-- turn (a whole multi-line reply) per receive, as a real server's write would.
local memory = {}

local ESCAPES = { r = "\r", n = "\n", t = "\t", ["\\"] = "\\" }

local function unescape(s, lineno)
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c ~= "\\" then
      out[#out + 1], i = c, i + 1
    else
      local e = s:sub(i + 1, i + 1)
      if e == "x" and s:sub(i + 2, i + 3):find("^%x%x$") then
        out[#out + 1], i = string.char(tonumber(s:sub(i + 2, i + 3), 16)), i + 4
      elseif ESCAPES[e] then
        out[#out + 1], i = ESCAPES[e], i + 2
      else
        error(("transcript line %d: bad escape \\%s"):format(lineno, e), 0)
      end
    end
  end
  return table.concat(out)
end

local KINDS = { S = "read", C = "write" }

local function parse_line(line, lineno)
  if line == "" or line:find("^#") then return nil end
  if line == "!close" then return { "close", line = lineno } end
  if line == "!timeout" then return { "timeout", line = lineno } end
  local who, how, rest = line:match("^([SC])([:=]) ?(.*)$")
  if not who then
    error(("transcript line %d: expected S:, C:, S=, C=, !close or !timeout: %q")
      :format(lineno, line), 0)
  end
  local data = how == ":" and rest .. "\r\n" or unescape(rest, lineno)
  return { KINDS[who], data, line = lineno }
end

--- Parses transcript text into a list of steps (see the module comment).
---@param text string
---@return table steps
function memory.parse(text)
  local steps, lineno = {}, 0
  for line in (text:gsub("\r\n", "\n") .. "\n"):gmatch("(.-)\n") do
    lineno = lineno + 1
    local step = parse_line(line, lineno)
    if step then steps[#steps + 1] = step end
  end
  return steps
end

-- Copies steps, checking them and merging neighbours of the same kind.
local function normalise(steps)
  local out = {}
  for i, s in ipairs(steps) do
    local kind = s[1]
    if kind ~= "read" and kind ~= "write" and kind ~= "close" and kind ~= "timeout" then
      error(("memory.new: step %d: unknown kind %s"):format(i, tostring(kind)), 3)
    end
    if (kind == "read" or kind == "write") and type(s[2]) ~= "string" then
      error(("memory.new: step %d: %s needs a string"):format(i, kind), 3)
    end
    local last = out[#out]
    if last and last[1] == kind and (kind == "read" or kind == "write") then
      last[2] = last[2] .. s[2]
    elseif (kind ~= "read" and kind ~= "write") or s[2] ~= "" then
      out[#out + 1] = { kind, s[2], line = s.line or i }
    end
  end
  return out
end

-- The same 31-bit LCG as spec/support/split.lua: repeatable across Lua versions.
local function rng(seed)
  local state = seed
  return function(n)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n + 1
  end
end

-- Shows bytes readably in failure messages: "250 ok\r\n", "\x00".
local SHOW = { ["\r"] = "\\r", ["\n"] = "\\n", ["\t"] = "\\t", ['"'] = '\\"', ["\\"] = "\\\\" }
local function show(s)
  return '"' .. s:gsub("[%c\"\\\128-\255]", function(c)
    return SHOW[c] or ("\\x%02X"):format(c:byte())
  end) .. '"'
end

local T = {}
T.__index = T

---@class lmail.MemoryOptions
---@field chunking? "whole"|"bytes"|"random" how server bytes become receives (default "whole")
---@field seed? integer seed for "random" (default 1)
---@field max_chunk? integer largest random chunk (default 17)

--- A transport replaying steps (a list or transcript text).
---@param script table|string
---@param opts? lmail.MemoryOptions
---@return table transport
function memory.new(script, opts)
  opts = opts or {}
  if type(script) == "string" then script = memory.parse(script) end
  if type(script) ~= "table" then error("memory.new: script must be a table or a string", 2) end
  local chunking = opts.chunking or "whole"
  if chunking ~= "whole" and chunking ~= "bytes" and chunking ~= "random" then
    error("memory.new: chunking must be whole, bytes or random", 2)
  end
  return setmetatable({
    steps = normalise(script),
    index = 1,          -- the current step
    pos = 0,            -- bytes of the current step already received or matched
    written = {},       -- every chunk the client sent, in order
    wrote = 0,          -- total bytes the client sent
    received = 0,       -- total bytes the client received
    chunking = chunking,
    rand = rng(opts.seed or 1),
    max_chunk = opts.max_chunk or 17,
    closed = false,
    peer_closed = false,
  }, T)
end

local function check_open(self, what)
  if getmetatable(self) ~= T then error(what .. ": not a memory transport", 3) end
  if self.closed then error(what .. ": transport is closed", 3) end
end

function T:current()
  return self.steps[self.index]
end

function T:advance()
  self.index, self.pos = self.index + 1, 0
end

-- Raises the mismatch, recording it for specs that look afterwards.
function T:mismatch(msg)
  self.failure = "memory transport: " .. msg
  error(self.failure, 3)
end

function T:chunk_size(max, left)
  local n = left
  if self.chunking == "bytes" then
    n = 1
  elseif self.chunking == "random" then
    n = self.rand(self.max_chunk)
  end
  return math.min(n, left, max)
end

--- Returns 1..max bytes of the server's current turn, or nil, msg, code.
---@param max integer
function T:receive(max)
  check_open(self, "memory:receive")
  if type(max) ~= "number" or max < 1 then error("memory:receive: max must be >= 1", 2) end
  local step = self:current()
  if self.peer_closed or not step or step[1] == "close" then
    self.peer_closed = true
    return nil, "memory transport: connection closed by the server", "ECLOSED"
  end
  if step[1] == "timeout" then
    self:advance()
    return nil, "memory transport: timed out (scripted)", "ETIMEDOUT"
  end
  if step[1] == "write" then
    -- A real server would wait for the rest of the command; so would we.
    return nil, ("memory transport: receive while the script expects the client to write %s"
      .. " (script line %d)"):format(show(step[2]:sub(self.pos + 1)), step.line), "ETIMEDOUT"
  end
  local n = self:chunk_size(max, #step[2] - self.pos)
  local chunk = step[2]:sub(self.pos + 1, self.pos + n)
  self.pos, self.received = self.pos + n, self.received + n
  if self.pos == #step[2] then self:advance() end
  return chunk
end

-- Matches data against the current write step; raises on the first
-- difference, naming the byte offset in the client's whole output.
function T:match_write(data)
  local off = 0
  while off < #data do
    local step = self:current()
    local at = self.wrote + off
    if not step or step[1] ~= "write" then
      self:mismatch(("client wrote %s at byte %d but the script expects %s"):format(
        show(data:sub(off + 1, off + 40)), at,
        step and (step[1] == "read" and "the server to speak (line " .. step.line .. ")"
          or step[1] .. " (line " .. step.line .. ")") or "nothing more"))
    end
    local want = step[2]:sub(self.pos + 1, self.pos + #data - off)
    local got = data:sub(off + 1, off + #want)
    if got ~= want then
      local i = 1
      while got:byte(i) == want:byte(i) do i = i + 1 end
      self:mismatch(("client write differs at byte %d (script line %d):"
        .. "\n  expected %s\n  got      %s"):format(at + i - 1, step.line,
        show(want:sub(i, i + 40)), show(got:sub(i, i + 40))))
    end
    off, self.pos = off + #want, self.pos + #want
    if self.pos == #step[2] then self:advance() end
  end
end

--- Checks and records data; returns #data or nil, msg, code.
---@param data string
function T:send(data)
  check_open(self, "memory:send")
  if type(data) ~= "string" then error("memory:send: data must be a string", 2) end
  local step = self:current()
  if step and step[1] == "timeout" then
    self:advance()
    return nil, "memory transport: timed out (scripted)", "ETIMEDOUT"
  end
  if self.peer_closed or (step and step[1] == "close") then
    return nil, "memory transport: connection closed by the server", "ECLOSED"
  end
  self:match_write(data)
  self.written[#self.written + 1] = data
  self.wrote = self.wrote + #data
  return #data
end

--- Everything the client wrote so far, concatenated.
function T:output()
  return table.concat(self.written)
end

--- True when every step has been played (a final !close counts as played).
function T:done()
  local step = self:current()
  return step == nil or (step[1] == "close" and self.index == #self.steps)
end

--- Raises unless the script was played to its end.
function T:assert_done()
  if not self:done() then
    local step = self:current()
    local rest = step[2] and " " .. show(step[2]:sub(self.pos + 1, self.pos + 40)) or ""
    error(("memory transport: script not finished: next is %s at line %d%s"):format(
      step[1], step.line, rest), 2)
  end
  return true
end

-- Timeouts mean nothing in memory; kept so sessions can call them.
function T:settimeout(s) self.timeout = s return self end
function T:setdeadline(d) self.abs_deadline = d return self end
function T:deadline() return self.abs_deadline end

--- Idempotent.
function T:close()
  self.closed = true
  return true
end
T.__close = T.close

return memory
