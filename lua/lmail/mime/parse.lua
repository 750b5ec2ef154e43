--- lmail.mime.parse: mime.parse(raw_or_source [, opts]) builds the part
-- tree (lmail.mime.part) from the events of the C parser (csrc/core/lm_mime.c).
-- The message is kept as one string; parts remember where their bodies are
-- and cut them out only when asked, so parsing never copies a body.
local core = require "lmail.core"
local part = require "lmail.mime.part"

local M = {}

local LIMITS = { "max_depth", "max_parts", "max_header_bytes", "max_line_length" }

local function check_opts(opts)
  if opts == nil then return nil end
  if type(opts) ~= "table" then error("mime.parse: opts must be a table", 4) end
  for _, k in ipairs(LIMITS) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 1 or v % 1 ~= 0) then
      error("mime.parse: opts." .. k .. " must be a positive integer", 4)
    end
  end
  return opts
end

-- Applies one event to the tree being built (state: root, stack, ctx).
local function apply(st, ev, depth, a, b, c)
  if ev == "begin" then
    local p = part.new(st.ctx, depth)
    local parent = st.stack[depth]
    if parent then
      parent.parts[#parent.parts + 1] = p
      if parent.kind == "message" then parent.message = p end
    else
      st.root = p
    end
    st.stack[depth + 1] = p
  elseif ev == "header" then
    local h = st.stack[depth + 1].headers_
    h[#h + 1] = { a, b }
  elseif ev == "headers_end" then
    local p = st.stack[depth + 1]
    p.kind, p.content_type, p._body = a, b, c
    if a ~= "leaf" then p.parts = {} end
  elseif ev == "end" then
    local p = st.stack[depth + 1]
    p._stop = a
    if p.kind == "multipart" and #p.parts == 0 then
      -- no part: read as one leaf, as Python's email does. Without any
      -- delimiter (the parser warned) the body is all the text; with only
      -- a close delimiter it is empty.
      p.kind, p.parts = "leaf", nil
      if not p._nodelim then p._body = p._stop end
    end
    st.stack[depth + 1] = nil
  elseif ev == "preamble" or ev == "epilogue" then
    local p, k = st.stack[depth + 1], ev == "preamble" and "_pre" or "_epi"
    if not p[k] then p[k] = a end
    p[k .. "_stop"] = a + b
  elseif ev == "warning" then
    local w = st.ctx.warnings
    w[#w + 1] = a .. " (at offset " .. b .. ")"
    if c == "no_delimiter" then st.stack[depth + 1]._nodelim = true end
  end
end

local function drain(st, p)
  while true do
    local ev, depth, a, b, c = p:next()
    if ev == false then return false end
    if ev == nil then return nil, depth, a end
    if ev == "done" then return true end
    if ev ~= "body" then apply(st, ev, depth, a, b, c) end
  end
end

local function run(p, input)
  local st = { ctx = { warnings = {} }, stack = {} }
  local chunks
  if type(input) == "string" then
    st.ctx.raw = input
    p:feed(input)
    p:finish()
  else
    chunks = {}
  end
  while true do
    local ok, err, code = drain(st, p)
    if ok == nil then return nil, err, code end
    if ok then break end
    local chunk, serr = input()
    if serr then return nil, "mime.parse: source failed: " .. tostring(serr), "EIO" end
    if chunk == nil then
      p:finish()
    else
      if type(chunk) ~= "string" then
        error("mime.parse: the source returned a " .. type(chunk), 3)
      end
      chunks[#chunks + 1] = chunk
      local fok, ferr, fcode = p:feed(chunk)
      if not fok then return nil, ferr, fcode end
    end
  end
  if chunks then st.ctx.raw = table.concat(chunks) end
  st.root.warnings = st.ctx.warnings
  return st.root
end

--- Parses a message given as a string or an LTN12 source.
-- opts: max_depth (32), max_parts (1000), max_header_bytes (262144, one
-- header block), max_line_length (65536, one header line).
---@param input string|function
---@param opts table|nil
---@return table|nil message, string? err, string? code
function M.parse(input, opts)
  if type(input) ~= "string" and type(input) ~= "function" then
    error("mime.parse: bad argument #1 (string or source function expected, got "
      .. type(input) .. ")", 2)
  end
  local p = core.mime.parser(check_opts(opts))
  local m, err, code = run(p, input)
  p:close()
  return m, err, code
end

return M
