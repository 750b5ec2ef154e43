-- spec/support/split.lua: chunk-split invariance helpers (DESIGN.md rule 6).
-- split.each(s, fn) calls fn(chunks, label) with s fed whole, split in two
-- at every point (for inputs up to opts.every_max bytes), byte by byte (up to
-- opts.bytes_max), and in opts.random random splits from a seeded generator.
local split = {}

local function rng(seed)
  local state = seed
  return function(n)
    -- a 31-bit LCG: repeatable across Lua versions
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n + 1
  end
end
split.rng = rng

function split.random_chunks(s, rand, max_chunk)
  local chunks, i = {}, 1
  while i <= #s do
    local n = rand(max_chunk)
    chunks[#chunks + 1] = s:sub(i, i + n - 1)
    i = i + n
  end
  return chunks
end

function split.each(s, fn, opts)
  opts = opts or {}
  local every_max = opts.every_max or 300
  local bytes_max = opts.bytes_max or 4096
  fn({ s }, "whole")
  if #s <= every_max then
    for i = 1, #s - 1 do
      fn({ s:sub(1, i), s:sub(i + 1) }, "split at " .. i)
    end
  end
  if #s <= bytes_max then
    local bytes = {}
    for i = 1, #s do bytes[i] = s:sub(i, i) end
    fn(bytes, "byte by byte")
  end
  local rand = rng(opts.seed or 12345)
  for r = 1, opts.random or 20 do
    fn(split.random_chunks(s, rand, opts.max_chunk or 97), "random split " .. r)
  end
end

-- Feeds chunks through an LTN12 filter and returns everything it produced,
-- or nil, err, code from the first failure.
function split.through(filter, chunks)
  local out = {}
  for _, c in ipairs(chunks) do
    local o, err, code = filter(c)
    if o == nil then return nil, err, code end
    out[#out + 1] = o
  end
  local o, err, code = filter(nil)
  if o == nil and err then return nil, err, code end
  out[#out + 1] = o
  return table.concat(out)
end

-- Random bytes from a seeded generator.
function split.random_bytes(n, seed)
  local rand = rng(seed or 1)
  local t = {}
  for i = 1, n do t[i] = string.char(rand(256) - 1) end
  return table.concat(t)
end

return split
