--- lmail.stream: LTN12-compatible sources, sinks and filters.
-- A source returns the next chunk, nil at the end, or nil, err.
-- A sink takes (chunk, err) and is called with nil at the end.
-- A filter takes a chunk and returns output; called with nil it flushes,
-- and called with nil again it returns nil (the LTN12 end-of-stream rule).
-- They interoperate with LuaSocket's ltn12 module.
local core = require "lmail.core"

local stream = {}

--- Wraps a core codec object (:step(s), :finish()) as an LTN12 filter.
-- Codec errors come back as nil, message, code.
---@param codec userdata
---@return fun(chunk: string|nil): string|nil, string?, string?
function stream.filter(codec)
  local finished = false
  return function(chunk)
    if finished then return nil end
    if chunk == nil then
      finished = true
      return codec:finish()
    end
    return codec:step(chunk)
  end
end

--- Filter: bare CR and bare LF become CRLF.
function stream.crlf()
  return stream.filter(core.eol.normalizer())
end

--- Filter: SMTP DATA dot-stuffing (RFC 5321 4.5.2); the flush ends the body
-- with CRLF (added when missing) and the terminating ".\r\n".
function stream.dot_stuff()
  return stream.filter(core.dot.stuffer())
end

--- A source producing s once.
---@param s string
function stream.source_string(s)
  return function()
    local chunk = s
    s = nil
    return chunk
  end
end

--- A source reading a file handle in chunks of `size` bytes; closes it at the end.
function stream.source_file(fh, size)
  size = size or 65536
  return function()
    if not fh then return nil end
    local chunk = fh:read(size)
    if not chunk then
      fh:close()
      fh = nil
    end
    return chunk
  end
end

--- A source passing every chunk of src through filter f (like ltn12.source.chain).
function stream.chain(src, f)
  local done = false
  return function()
    while not done do
      local chunk, err = src()
      if err then return nil, err end
      if chunk == nil then done = true end
      local out, ferr, code = f(chunk)
      if out == nil and chunk ~= nil then return nil, ferr, code end
      if out == nil and ferr then return nil, ferr, code end
      if out and out ~= "" then return out end
    end
    return nil
  end
end

--- A sink appending every chunk to table t.
function stream.sink_table(t)
  return function(chunk)
    if chunk then t[#t + 1] = chunk end
    return 1
  end
end

--- Pumps all of src into sink; returns true or nil, err.
function stream.pump(src, sink)
  while true do
    local chunk, err, code = src()
    if err then
      sink(nil, err)
      return nil, err, code
    end
    local ok, serr = sink(chunk)
    if not ok then return nil, serr end
    if chunk == nil then return true end
  end
end

return stream
